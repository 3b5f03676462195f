import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import {
  type DriverClient,
  places,
  type RiderClient,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';
import { spread } from '../support/scenes.js';

const DRIVERS = 120;
const RIDES = 200;
/**
 * Long enough for the test's drivers, who poll their offers one after another, to answer every
 * offer before it lapses even while another test file loads the machine.
 */
const SEARCH_WINDOW_SECONDS = 20;
const SWEEP_MS = 50;
/**
 * The 80 rides left without a driver share about one deadline, and the timers expire them one
 * transaction after another from the first sweep past it: the last is written 79 transactions
 * later. On PGlite, beside another test file on two cores, that measured up to 3.5 s (about
 * 40 ms each); still far from a ride left searching past its window.
 */
const EXPIRY_SLACK_MS = 8000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RideView {
  id: string;
  status: string;
  driverId: string | null;
  searchDeadline: string;
}

describeEachBackend('dispatch under a peak: a burst of bookings around one station', (backend) => {
  let t: TestPlatform;
  let drivers: DriverClient[];
  let riders: RiderClient[];
  let rideIds: string[];
  let finalRides: RideView[];
  let events: Map<string, Array<{ type: string; at: string }>>;
  let offersSent: { immediate: number; batch: number };
  const declinedOnce = new Set<string>();

  beforeAll(async () => {
    t = await startTestPlatform(backend, {
      PEAKRIDE_SEARCH_WINDOW_SECONDS: String(SEARCH_WINDOW_SECONDS),
      PEAKRIDE_OFFER_TIMEOUT_SECONDS: '6',
      PEAKRIDE_MATCH_RADIUS_METERS: '3000',
      PEAKRIDE_QUOTE_TTL_SECONDS: '600',
      PEAKRIDE_SWEEP_INTERVAL_MS: String(SWEEP_MS),
      // Drivers here report their position once, when going online one after another: with the
      // window above and a loaded machine, the first of them could pass the default 30 s of
      // silence before the burst ends and drop out of matching (a rule tested on its own).
      PEAKRIDE_DRIVER_STALE_SECONDS: '300',
    });
    const station = places.gareDuNord;
    drivers = await Promise.all(Array.from({ length: DRIVERS }, () => t.driver()));
    const spots = spread(station, DRIVERS, 2000);
    for (const [i, driver] of drivers.entries()) expect((await driver.online(spots[i]!)).status).toBe(200);
    riders = await Promise.all(Array.from({ length: RIDES }, () => t.rider()));
    const pickups = spread(station, RIDES, 400);
    const quotes = await Promise.all(riders.map((rider, i) => rider.quote(pickups[i]!, places.gareDeLyon)));
    for (const quote of quotes) expect(quote.status).toBe(201);

    // The burst: every booking at once.
    const booked = await Promise.all(riders.map((rider, i) => rider.book(quotes[i]!.body.quoteId)));
    for (const reply of booked) expect(reply.status).toBe(201);
    rideIds = booked.map((reply) => reply.body.id as string);

    // Drivers take what they are offered, except that one in ten declines their first offer.
    const ops = await t.ops();
    const deadline = Date.now() + SEARCH_WINDOW_SECONDS * 1000 + EXPIRY_SLACK_MS + 5000;
    const busy = new Set<string>();
    let open = rideIds.length;
    while (open > 0 && Date.now() < deadline) {
      for (const [i, driver] of drivers.entries()) {
        if (busy.has(driver.id)) continue;
        const offers = await driver.offers();
        const offer = offers.body[0];
        if (!offer) continue;
        if (i % 10 === 0 && !declinedOnce.has(driver.id)) {
          declinedOnce.add(driver.id);
          await driver.decline(offer.id);
          continue;
        }
        const accepted = await driver.accept(offer.id);
        if (accepted.status === 200) busy.add(driver.id);
      }
      const views = await Promise.all(rideIds.map((id) => ops.getRide(id)));
      open = views.filter((view) => view.body.status === 'searching').length;
      await sleep(SWEEP_MS);
    }
    finalRides = (await Promise.all(rideIds.map((id) => ops.getRide(id)))).map((view) => view.body);
    events = new Map();
    for (const id of rideIds) {
      const reply = await t.request('GET', `/v1/rides/${id}/events`, { token: ops.token });
      events.set(id, reply.body);
    }
    const metrics = (await t.request('GET', '/metrics')).body as string;
    const sent = (mode: string) =>
      Number(metrics.match(new RegExp(`peakride_offers_sent_total\\{mode="${mode}"\\} (\\d+)`))?.[1] ?? 0);
    offersSent = { immediate: sent('immediate'), batch: sent('batch') };
  }, 90_000);
  afterAll(() => t?.close());

  it('Then every ride ends assigned or expired: none is left searching', () => {
    const statuses = new Set(finalRides.map((ride) => ride.status));
    expect([...statuses].sort()).toEqual(['driver_assigned', 'expired']);
  });

  it('Then no driver holds two rides', () => {
    const assigned = finalRides.filter((ride) => ride.status === 'driver_assigned');
    const driverIds = assigned.map((ride) => ride.driverId);
    expect(new Set(driverIds).size).toBe(driverIds.length);
    expect(driverIds.every((id) => drivers.some((driver) => driver.id === id))).toBe(true);
  });

  it('Then every driver gets a ride: 120 rides assigned and 80 expired, since drivers were short', () => {
    const assigned = finalRides.filter((ride) => ride.status === 'driver_assigned');
    expect(assigned.length).toBe(DRIVERS);
    expect(finalRides.length - assigned.length).toBe(RIDES - DRIVERS);
  });

  it('Then each ride was assigned within its search window, or expired as it closed', () => {
    for (const ride of finalRides) {
      const history = events.get(ride.id) ?? [];
      const deadline = new Date(ride.searchDeadline).getTime();
      const end = history.find(
        (event) => event.type === 'ride.driver_assigned' || event.type === 'ride.expired',
      );
      expect(end, `ride ${ride.id} has no end event`).toBeDefined();
      const at = new Date(end!.at).getTime();
      if (end!.type === 'ride.driver_assigned') expect(at).toBeLessThanOrEqual(deadline);
      else {
        expect(at).toBeGreaterThanOrEqual(deadline);
        expect(at - deadline).toBeLessThan(EXPIRY_SLACK_MS);
      }
    }
  });

  it('Then rides were offered at once while free drivers outnumbered requests, and in batches after', () => {
    // Ride k of the burst finds k requests and 121 - k free drivers: about the first half go at once.
    expect(offersSent.immediate).toBeGreaterThan(0);
    expect(offersSent.immediate).toBeLessThan(DRIVERS);
    expect(offersSent.batch).toBeGreaterThan(0);
    // Every driver got an offer at least once; decliners got a second one.
    expect(offersSent.immediate + offersSent.batch).toBeGreaterThanOrEqual(DRIVERS + DRIVERS / 10);
  });

  it('Then the drivers who declined were offered another ride, never the one they declined', () => {
    expect(declinedOnce.size).toBe(DRIVERS / 10);
    for (const driverId of declinedOnce) {
      const ride = finalRides.find((candidate) => candidate.driverId === driverId);
      expect(ride, `driver ${driverId} who declined once has no ride`).toBeDefined();
    }
  });
});
