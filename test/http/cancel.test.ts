import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import {
  type DriverClient,
  type RiderClient,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';
import { dropoff, offset, type Point, QUIET_MS, site, watchOffers } from '../support/scenes.js';

describeEachBackend('cancelling a ride', (backend) => {
  let t: TestPlatform;
  let drivers: DriverClient[] = [];
  let rides: Array<{ rider: RiderClient; rideId: string }> = [];

  const driverAt = async (at: Point): Promise<DriverClient> => {
    const driver = await t.driver();
    expect((await driver.online(at)).status).toBe(200);
    drivers.push(driver);
    return driver;
  };
  const book = async (pickup: Point, by?: RiderClient) => {
    const rider = by ?? (await t.rider());
    const ride = await rider.requestRide(pickup, dropoff);
    rides.push({ rider, rideId: ride.id });
    return { rider, rideId: ride.id };
  };
  /** Books at `pickup` and has `driver` accept it. */
  const assigned = async (pickup: Point, driver: DriverClient) => {
    const booked = await book(pickup);
    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(booked.rideId);
    const accepted = await driver.accept(offer.id);
    expect(accepted.body).toMatchObject({ status: 'driver_assigned', driverId: driver.id });
    return { ...booked, offer, ride: accepted.body };
  };
  /** The driver is free again: a new ride booked right by them is offered to them. */
  const expectOfferedNextRide = async (driver: DriverClient, pickup: Point) => {
    const next = await book(pickup);
    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(next.rideId);
  };

  beforeAll(async () => {
    // Long offers and windows: nothing here waits for them to run out.
    t = await startTestPlatform(backend, {
      PEAKRIDE_OFFER_TIMEOUT_SECONDS: '20',
      PEAKRIDE_SEARCH_WINDOW_SECONDS: '60',
    });
  });
  afterEach(async () => {
    // Best effort: finished rides refuse the cancel and offline drivers stay offline.
    for (const { rider, rideId } of rides) await rider.cancel(rideId, 'test over');
    for (const driver of drivers) await driver.offline();
    rides = [];
    drivers = [];
  });
  afterAll(() => t.close());

  it('When the rider cancels a ride that is still searching, then it is cancelled with the rider and reason recorded', async () => {
    const { rider, rideId } = await book(site(0));

    const cancelled = await rider.cancel(rideId, 'changed my mind');

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: rideId,
      status: 'cancelled',
      driverId: null,
      cancellation: { by: 'rider', reason: 'changed my mind' },
    });
    expect((await rider.getRide(rideId)).body).toEqual(cancelled.body);
  });

  it('When the rider cancels while the ride is offered, then the offer is withdrawn at once and a late accept gets 409 OFFER.WITHDRAWN', async () => {
    const pickup = site(1);
    const driver = await driverAt(offset(pickup, 200));
    const { rider, rideId } = await book(pickup);
    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(rideId);

    const cancelled = await rider.cancel(rideId, 'found another way');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      driverId: null,
      cancellation: { by: 'rider', reason: 'found another way' },
    });

    // At once: no waiting for the offer to time out.
    expect((await driver.offers()).body).toEqual([]);
    const lateAccept = await driver.accept(offer.id);
    expect(lateAccept.status).toBe(409);
    expect(lateAccept.body.title).toBe('OFFER.WITHDRAWN');
    expect((await rider.getRide(rideId)).body).toMatchObject({ status: 'cancelled', driverId: null });
    // The driver is not left holding anything.
    await expectOfferedNextRide(driver, offset(pickup, 100));
  });

  it('When the rider cancels after a driver was assigned, then the ride is cancelled and the driver is free for the next ride', async () => {
    const pickup = site(2);
    const driver = await driverAt(offset(pickup, 300));
    const { rider, rideId } = await assigned(pickup, driver);

    const cancelled = await rider.cancel(rideId, 'driver too far');

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      cancellation: { by: 'rider', reason: 'driver too far' },
    });
    await expectOfferedNextRide(driver, offset(pickup, -100));
  });

  it('When the rider cancels after the driver arrived, then the ride is cancelled and the driver is free for the next ride', async () => {
    const pickup = site(3);
    const driver = await driverAt(offset(pickup, 300));
    const { rider, rideId } = await assigned(pickup, driver);
    expect((await driver.arrive(rideId)).body.status).toBe('driver_arrived');

    const cancelled = await rider.cancel(rideId);

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      cancellation: { by: 'rider', reason: null },
    });
    await expectOfferedNextRide(driver, offset(pickup, 0, 100));
  });

  it('When the driver cancels after being assigned, then the ride searches again with a fresh window and goes to another driver, never back to them', async () => {
    const pickup = site(4);
    const dropping = await driverAt(offset(pickup, 200));
    const other = await driverAt(offset(pickup, -2000));
    const { rider, rideId, ride: before } = await assigned(pickup, dropping);

    const reopened = await dropping.cancel(rideId, 'car trouble');

    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ id: rideId, status: 'searching', driverId: null });
    expect(Date.parse(reopened.body.searchDeadline)).toBeGreaterThan(Date.parse(before.searchDeadline));
    expect((await rider.getRide(rideId)).body).toMatchObject({ status: 'searching', driverId: null });
    // The driver who dropped it is nearer and free again, yet the other one gets it.
    const offer = await other.waitForOffer();
    expect(offer.rideId).toBe(rideId);
    expect((await dropping.offers()).body).toEqual([]);

    // With the other driver declining, nobody is left but the one who dropped it: still not them.
    expect((await other.decline(offer.id)).status).toBe(200);
    const seen = await watchOffers([dropping], { ms: QUIET_MS });
    expect(seen.get(dropping.id)).toEqual([]);
    expect((await rider.getRide(rideId)).body).toMatchObject({ status: 'searching', driverId: null });
    // The driver's read of the ride they gave up is gone with it.
    expect((await dropping.getRide(rideId)).status).toBe(404);
  });

  it('When the driver cancels after arriving (rider no-show), then the ride is cancelled by the driver', async () => {
    const pickup = site(5);
    const driver = await driverAt(offset(pickup, 300));
    const { rider, rideId } = await assigned(pickup, driver);
    expect((await driver.arrive(rideId)).status).toBe(200);

    const cancelled = await driver.cancel(rideId, 'rider did not show up');

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      cancellation: { by: 'driver', reason: 'rider did not show up' },
    });
    expect((await rider.getRide(rideId)).body).toMatchObject({
      status: 'cancelled',
      cancellation: { by: 'driver', reason: 'rider did not show up' },
    });
  });

  it('When anyone cancels a ride in progress, then 409 RIDE.INVALID_TRANSITION and nothing changes', async () => {
    const pickup = site(6);
    const driver = await driverAt(offset(pickup, 300));
    const { rider, rideId } = await assigned(pickup, driver);
    expect((await driver.arrive(rideId)).status).toBe(200);
    expect((await driver.start(rideId)).body.status).toBe('in_progress');
    const ops = await t.ops();
    const before = (await ops.getRide(rideId)).body;

    for (const refused of [await rider.cancel(rideId, 'too slow'), await driver.cancel(rideId, 'tired')]) {
      expect(refused.status).toBe(409);
      expect(refused.body.title).toBe('RIDE.INVALID_TRANSITION');
    }

    expect((await ops.getRide(rideId)).body).toEqual(before);
    expect((await driver.complete(rideId)).body.status).toBe('completed');
  });

  it('When anyone cancels a completed ride, then 409 RIDE.INVALID_TRANSITION and nothing changes', async () => {
    const pickup = site(7);
    const driver = await driverAt(offset(pickup, 300));
    const { rider, rideId } = await assigned(pickup, driver);
    for (const step of [driver.arrive, driver.start, driver.complete]) {
      expect((await step(rideId)).status).toBe(200);
    }
    const ops = await t.ops();
    const before = (await ops.getRide(rideId)).body;
    expect(before.status).toBe('completed');

    for (const refused of [await rider.cancel(rideId), await driver.cancel(rideId, 'oops')]) {
      expect(refused.status).toBe(409);
      expect(refused.body.title).toBe('RIDE.INVALID_TRANSITION');
    }

    expect((await ops.getRide(rideId)).body).toEqual(before);
  });

  it('When a rider holds an open ride, then a second booking gets 409 RIDE.RIDER_HAS_ACTIVE_RIDE until the first is cancelled', async () => {
    const pickup = site(8);
    const driver = await driverAt(offset(pickup, 300));
    const { rider, rideId } = await book(pickup);

    const whileSearching = await rider.quote(offset(pickup, 100), dropoff);
    const refused = await rider.book(whileSearching.body.quoteId);
    expect(refused.status).toBe(409);
    expect(refused.body.title).toBe('RIDE.RIDER_HAS_ACTIVE_RIDE');

    const offer = await driver.waitForOffer();
    expect((await driver.accept(offer.id)).status).toBe(200);
    const whileAssigned = await rider.quote(offset(pickup, 100), dropoff);
    const refusedAgain = await rider.book(whileAssigned.body.quoteId);
    expect(refusedAgain.status).toBe(409);
    expect(refusedAgain.body.title).toBe('RIDE.RIDER_HAS_ACTIVE_RIDE');
    expect((await rider.getRide(rideId)).body).toMatchObject({
      status: 'driver_assigned',
      driverId: driver.id,
    });

    expect((await rider.cancel(rideId)).status).toBe(200);
    const second = await book(offset(pickup, 100), rider);
    expect(second.rideId).not.toBe(rideId);
    expect((await rider.getRide(second.rideId)).body).toMatchObject({
      status: 'searching',
      riderId: rider.id,
    });
  });
});
