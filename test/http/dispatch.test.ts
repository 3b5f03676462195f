import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import {
  type DriverClient,
  eventually,
  type RiderClient,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';
import { dropoff, offset, type Point, QUIET_MS, site, watchOffers } from '../support/scenes.js';

const MATCH_RADIUS_METERS = 5000;

/** Online drivers and open rides of the current test, released after it whatever its outcome. */
const createFleet = (t: () => TestPlatform) => {
  let drivers: DriverClient[] = [];
  let rides: Array<{ rider: RiderClient; rideId: string }> = [];
  return {
    async driverAt(at: Point): Promise<DriverClient> {
      const driver = await t().driver();
      expect((await driver.online(at)).status).toBe(200);
      drivers.push(driver);
      return driver;
    },
    async book(pickup: Point, by?: RiderClient): Promise<{ rider: RiderClient; rideId: string }> {
      const rider = by ?? (await t().rider());
      const ride = await rider.requestRide(pickup, dropoff);
      expect(ride.status).toBe('searching');
      rides.push({ rider, rideId: ride.id });
      return { rider, rideId: ride.id };
    },
    async release(): Promise<void> {
      // Best effort: the ride may already be finished and the driver may already be offline.
      for (const { rider, rideId } of rides) await rider.cancel(rideId, 'test over');
      for (const driver of drivers) await driver.offline();
      drivers = [];
      rides = [];
    },
  };
};

describeEachBackend('dispatch: who is offered a ride', (backend) => {
  let t: TestPlatform;
  const fleet = createFleet(() => t);
  beforeAll(async () => {
    // Offers and search windows long enough that no test here depends on them running out.
    t = await startTestPlatform(backend, {
      PEAKRIDE_OFFER_TIMEOUT_SECONDS: '20',
      PEAKRIDE_SEARCH_WINDOW_SECONDS: '60',
      PEAKRIDE_MATCH_RADIUS_METERS: String(MATCH_RADIUS_METERS),
    });
  });
  afterEach(() => fleet.release());
  afterAll(() => t.close());

  it('When several drivers are available, then the nearest one is offered the ride first', async () => {
    const pickup = site(0);
    // They come online farthest first, so the order of arrival cannot pass for the ranking.
    const far = await fleet.driverAt(offset(pickup, 2500));
    const middle = await fleet.driverAt(offset(pickup, 0, -1200));
    const nearest = await fleet.driverAt(offset(pickup, -300, 100));

    const { rideId } = await fleet.book(pickup);

    const offer = await nearest.waitForOffer();
    expect(offer.rideId).toBe(rideId);
    expect((await middle.offers()).body).toEqual([]);
    expect((await far.offers()).body).toEqual([]);
  });

  it('When the offered driver declines, then the ride goes to the next nearest driver and never back to a decliner', async () => {
    const pickup = site(1);
    const first = await fleet.driverAt(offset(pickup, 300));
    const third = await fleet.driverAt(offset(pickup, 0, 2000));
    const second = await fleet.driverAt(offset(pickup, -1000));
    const { rider, rideId } = await fleet.book(pickup);

    const firstOffer = await first.waitForOffer();
    expect(firstOffer.rideId).toBe(rideId);
    const declined = await first.decline(firstOffer.id);
    expect(declined.status).toBe(200);
    expect(declined.body).toEqual({ id: firstOffer.id, rideId, status: 'declined' });
    expect((await first.offers()).body).toEqual([]);

    const secondOffer = await second.waitForOffer();
    expect(secondOffer.rideId).toBe(rideId);
    expect((await third.offers()).body).toEqual([]);
    expect((await second.decline(secondOffer.id)).status).toBe(200);

    const thirdOffer = await third.waitForOffer();
    expect(thirdOffer.rideId).toBe(rideId);
    expect((await third.decline(thirdOffer.id)).status).toBe(200);

    // Every nearby driver has declined and all three are available again: a re-offer to any of
    // them would come within a sweep or two, so none in QUIET_MS means none at all.
    const seen = await watchOffers([first, second, third], { ms: QUIET_MS });
    expect([...seen.values()].flat()).toEqual([]);
    const ride = await rider.getRide(rideId);
    expect(ride.body).toMatchObject({ status: 'searching', driverId: null });

    // A declined offer stays declined.
    const lateAccept = await first.accept(firstOffer.id);
    expect(lateAccept.status).toBe(409);
    expect(lateAccept.body.title).toBe('OFFER.ALREADY_DECLINED');
  });

  it('When the offered driver goes offline, then it counts as a decline and the ride goes to another driver', async () => {
    const pickup = site(2);
    const leaving = await fleet.driverAt(offset(pickup, 200));
    const other = await fleet.driverAt(offset(pickup, -1500));
    const { rideId } = await fleet.book(pickup);

    const offer = await leaving.waitForOffer();
    expect(offer.rideId).toBe(rideId);
    expect((await leaving.offline()).status).toBe(200);
    expect((await leaving.offers()).body).toEqual([]);

    const next = await other.waitForOffer();
    expect(next.rideId).toBe(rideId);
    const lateAccept = await leaving.accept(offer.id);
    expect(lateAccept.status).toBe(409);
    expect(lateAccept.body.title).toBe('OFFER.ALREADY_DECLINED');

    // Back online and nearest again: the ride must still not come back once the other declines.
    expect((await leaving.online(offset(pickup, 200))).status).toBe(200);
    expect((await other.decline(next.id)).status).toBe(200);
    const seen = await watchOffers([leaving], { ms: QUIET_MS });
    expect(seen.get(leaving.id)).toEqual([]);
  });

  it('When a driver holds an offer, then a second ride nearby is offered to someone else', async () => {
    const pickup = site(3);
    const busy = await fleet.driverAt(offset(pickup, 100));
    const farther = await fleet.driverAt(offset(pickup, -2000));
    const first = await fleet.book(pickup);
    const held = await busy.waitForOffer();
    expect(held.rideId).toBe(first.rideId);

    const second = await fleet.book(offset(pickup, 50, 50));
    const other = await farther.waitForOffer();
    expect(other.rideId).toBe(second.rideId);
    const stillHeld = await busy.offers();
    expect(stillHeld.body).toHaveLength(1);
    expect(stillHeld.body[0]).toMatchObject({ id: held.id, rideId: first.rideId });
  });

  it('When a driver is on a ride, then a new ride nearby is offered to someone else', async () => {
    const pickup = site(4);
    const onRide = await fleet.driverAt(offset(pickup, 100));
    const farther = await fleet.driverAt(offset(pickup, 0, 2500));
    const first = await fleet.book(pickup);
    const offer = await onRide.waitForOffer();
    expect((await onRide.accept(offer.id)).body).toMatchObject({
      id: first.rideId,
      status: 'driver_assigned',
      driverId: onRide.id,
    });
    expect((await onRide.arrive(first.rideId)).status).toBe(200);

    const second = await fleet.book(offset(pickup, 30));
    const next = await farther.waitForOffer();
    expect(next.rideId).toBe(second.rideId);
    expect((await onRide.offers()).body).toEqual([]);
  });

  it('When the only driver is beyond the match radius, then they are not offered the ride, and a driver inside it is', async () => {
    const pickup = site(5);
    const outside = await fleet.driverAt(offset(pickup, MATCH_RADIUS_METERS + 600));
    const { rider, rideId } = await fleet.book(pickup);

    // The ride is retried on every sweep; a driver inside the radius would get it within one.
    const seen = await watchOffers([outside], { ms: QUIET_MS });
    expect(seen.get(outside.id)).toEqual([]);
    expect((await rider.getRide(rideId)).body.status).toBe('searching');

    // Control: dispatch is running and the radius is where it should be.
    const inside = await fleet.driverAt(offset(pickup, -(MATCH_RADIUS_METERS - 600)));
    const offer = await inside.waitForOffer();
    expect(offer.rideId).toBe(rideId);
    expect((await outside.offers()).body).toEqual([]);
  });

  it('When the offered driver sends 10 accepts at once, then exactly one wins and the others get 409', async () => {
    const pickup = site(6);
    const driver = await fleet.driverAt(offset(pickup, 150));
    const { rideId } = await fleet.book(pickup);
    const offer = await driver.waitForOffer();

    const replies = await Promise.all(Array.from({ length: 10 }, () => driver.accept(offer.id)));

    const won = replies.filter((reply) => reply.status === 200);
    const refused = replies.filter((reply) => reply.status === 409);
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(9);
    expect(won[0]?.body).toMatchObject({ id: rideId, status: 'driver_assigned', driverId: driver.id });
    for (const reply of refused) expect(reply.body.title).toBe('OFFER.ALREADY_TAKEN');
    // One transition only: booked at version 1, assigned at version 2.
    const ride = await (await t.ops()).getRide(rideId);
    expect(ride.body).toMatchObject({ status: 'driver_assigned', driverId: driver.id, version: 2 });
  });
});

describeEachBackend('dispatch: offers that lapse and rides nobody takes', (backend) => {
  const OFFER_TIMEOUT_MS = 750;
  const SEARCH_WINDOW_MS = 3000;
  let t: TestPlatform;
  const fleet = createFleet(() => t);
  beforeAll(async () => {
    t = await startTestPlatform(backend, {
      PEAKRIDE_OFFER_TIMEOUT_SECONDS: String(OFFER_TIMEOUT_MS / 1000),
      PEAKRIDE_SEARCH_WINDOW_SECONDS: String(SEARCH_WINDOW_MS / 1000),
      PEAKRIDE_MATCH_RADIUS_METERS: String(MATCH_RADIUS_METERS),
    });
  });
  afterEach(() => fleet.release());
  afterAll(() => t.close());

  it('When an offer times out, then the next candidate is offered the ride, the lapsed driver never again, and a late accept gets 409 OFFER.EXPIRED', async () => {
    const pickup = site(0);
    const lapsing = await fleet.driverAt(offset(pickup, 200));
    const next = await fleet.driverAt(offset(pickup, -1200));
    const { rider, rideId } = await fleet.book(pickup);

    const lapsed = await lapsing.waitForOffer();
    expect(lapsed.rideId).toBe(rideId);
    const moved = await next.waitForOffer(SEARCH_WINDOW_MS);
    expect(moved.rideId).toBe(rideId);
    // It moved on because the offer timed out, not earlier.
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(lapsed.expiresAt));
    expect((await lapsing.offers()).body).toEqual([]);

    const lateAccept = await lapsing.accept(lapsed.id);
    expect(lateAccept.status).toBe(409);
    expect(lateAccept.body.title).toBe('OFFER.EXPIRED');

    // Let the second offer lapse too, then watch both drivers until the window closes: the ride
    // must never come back to either of them. That quiet stretch spans at least one more offer
    // timeout (about two, normally), so a re-offer would have had time to show.
    const { searchDeadline } = (await rider.getRide(rideId)).body;
    expect(Date.parse(searchDeadline) - Date.parse(moved.expiresAt)).toBeGreaterThanOrEqual(OFFER_TIMEOUT_MS);
    const seen = await watchOffers([lapsing, next], {
      ms: SEARCH_WINDOW_MS + 3000,
      stop: async () => (await rider.getRide(rideId)).body.status !== 'searching',
    });
    expect(seen.get(lapsing.id)).toEqual([]);
    for (const offer of seen.get(next.id) ?? []) expect(offer.id).toBe(moved.id);
    expect((await rider.getRide(rideId)).body).toMatchObject({ status: 'expired', driverId: null });
  });

  it('When nobody takes a ride within its search window, then it ends expired instead of hanging in searching', async () => {
    const { rider, rideId } = await fleet.book(site(1));
    const booked = await rider.getRide(rideId);
    expect(booked.body.status).toBe('searching');
    const deadline = Date.parse(booked.body.searchDeadline);
    expect(deadline - Date.parse(booked.body.createdAt)).toBe(SEARCH_WINDOW_MS);

    const ride = await eventually(
      () => rider.getRide(rideId),
      (reply) => reply.body.status !== 'searching',
      SEARCH_WINDOW_MS + 5000,
    );
    expect(ride.body).toMatchObject({ status: 'expired', driverId: null, cancellation: null });
    expect(Date.parse(ride.body.updatedAt)).toBeGreaterThanOrEqual(deadline);

    // An expired ride is finished: the rider may book again.
    const again = await fleet.book(site(1), rider);
    expect(again.rideId).not.toBe(rideId);
  });
});
