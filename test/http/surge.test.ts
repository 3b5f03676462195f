import { afterAll, beforeAll, expect, it } from 'vitest';
import { cities } from '../../src/domain/city.js';
import { priceTrip } from '../../src/domain/pricing.js';
import { describeEachBackend } from '../support/backends.js';
import {
  eventually,
  places,
  type RiderClient,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';
import { offset, type Point } from '../support/scenes.js';

/**
 * Surge through the API: bookings are demand, online drivers are supply, and a quote carries
 * the multiplier of its pickup's H3 cell. The clock is the test's, moved forward by hand, so the
 * smoothing (a 5 s half-life) is exercised without waiting for it.
 */

interface Zone {
  cell: string;
  ring: number;
  centre: Point;
  demand: number;
  supply: number;
  surge: number;
}

describeEachBackend('surge pricing by zone', (backend) => {
  let t: TestPlatform;
  let shiftMs = 0;
  const clock = { now: () => new Date(Date.now() + shiftMs) };
  const advance = (ms: number) => {
    shiftMs += ms;
  };
  let opsToken: string;

  beforeAll(async () => {
    // Long timers: nothing may lapse or expire while the clock jumps forward.
    t = await startTestPlatform(
      backend,
      {
        PEAKRIDE_SEARCH_WINDOW_SECONDS: '3600',
        PEAKRIDE_QUOTE_TTL_SECONDS: '3600',
        PEAKRIDE_OFFER_TIMEOUT_SECONDS: '600',
        PEAKRIDE_DRIVER_STALE_SECONDS: '3600',
        PEAKRIDE_MATCH_RADIUS_METERS: '300',
      },
      undefined,
      clock,
    );
    opsToken = (await t.ops()).token;
  });
  afterAll(() => t?.close());

  const zonesAt = async (point: Point): Promise<Zone[]> => {
    const reply = await t.request('GET', `/v1/zones?lat=${point.lat}&lng=${point.lng}`, { token: opsToken });
    expect(reply.status).toBe(200);
    return reply.body;
  };

  /** `count` riders book rides from around `pickup` (within 100 m); returns them. */
  const burst = async (pickup: Point, count: number, dropoff = places.gareDeLyon): Promise<RiderClient[]> => {
    const riders = await Promise.all(Array.from({ length: count }, () => t.rider()));
    for (const [i, rider] of riders.entries()) {
      await rider.requestRide(offset(pickup, (i % 5) * 20, Math.floor(i / 5) * 20), dropoff);
    }
    // Bookings reach the surge model as announcements, a moment after they commit.
    const counted = await eventually(
      () => zonesAt(pickup),
      (zones) => (zones[0]?.demand ?? 0) >= count,
    );
    expect(counted[0]?.demand).toBeGreaterThanOrEqual(count);
    return riders;
  };

  const quoteAt = async (pickup: Point, dropoff: Point = places.gareDeLyon) => {
    const reply = await (await t.rider()).quote(pickup, dropoff);
    expect(reply.status).toBe(201);
    return reply.body as {
      surge: number;
      fare: { amount: number; currency: string };
      distanceMeters: number;
      durationSeconds: number;
    };
  };

  it('When nobody asks for rides near a point, then its cell and neighbours show no demand and no surge', async () => {
    const zones = await zonesAt(places.montparnasse);
    expect(zones).toHaveLength(7);
    expect(zones.map((zone) => zone.ring)).toEqual([0, 1, 1, 1, 1, 1, 1]);
    expect(new Set(zones.map((zone) => zone.cell)).size).toBe(7);
    for (const zone of zones) {
      expect(zone).toMatchObject({ demand: 0, supply: 0, surge: 1 });
      expect(zone.cell).toMatch(/^88[0-9a-f]{13}$/);
    }
    expect((await quoteAt(places.montparnasse)).surge).toBe(1);
  });

  it('When a burst of bookings outnumbers the drivers around a station, then its quotes surge, the fare with them, and zones show why', async () => {
    const station = places.saintLazare;
    const driver = await t.driver();
    // Outside the 300 m match radius, so no offer takes them out of the supply; inside the surge radius.
    expect((await driver.online(offset(station, 800))).status).toBe(200);
    const calm = await quoteAt(station);
    expect(calm.surge).toBe(1);

    await burst(station, 12);
    // The first read after the burst learns the supply; the multiplier then moves towards its target.
    await quoteAt(station);
    advance(30_000);
    const peak = await quoteAt(station);
    expect(peak.surge).toBeGreaterThan(1.5);
    expect(peak.surge).toBeLessThanOrEqual(3);
    // The fare is the metered fare of the quoted trip times the multiplier. (Not the calm fare
    // times it: the trip's duration follows the time-of-day speed, which moves in the 30 s jumped.)
    const paris = cities.find((city) => city.id === 'paris')!;
    const trip = (quote: { distanceMeters: number; durationSeconds: number }) => ({
      distanceMeters: quote.distanceMeters,
      durationSeconds: quote.durationSeconds,
    });
    expect(calm.fare).toEqual(priceTrip(paris.tariff, trip(calm), 1));
    expect(peak.fare).toEqual(priceTrip(paris.tariff, trip(peak), peak.surge));

    const zones = await zonesAt(station);
    const [own] = zones;
    expect(own).toMatchObject({ ring: 0, demand: 12, supply: 1, surge: peak.surge });
    await driver.offline();
  });

  it('When more riders book in one cell than in another with the same drivers, then it surges at least as much', async () => {
    const busy = places.gareDeLyon;
    const quiet = places.gareDuNord;
    for (const point of [busy, quiet]) {
      const driver = await t.driver();
      expect((await driver.online(offset(point, 600))).status).toBe(200);
      const other = await t.driver();
      expect((await other.online(offset(point, -600))).status).toBe(200);
    }
    await burst(busy, 10);
    await burst(quiet, 4);
    await quoteAt(busy, places.montparnasse);
    await quoteAt(quiet, places.montparnasse);
    advance(30_000);
    const busyQuote = await quoteAt(busy, places.montparnasse);
    const quietQuote = await quoteAt(quiet, places.montparnasse);
    expect(busyQuote.surge).toBeGreaterThan(quietQuote.surge);
    expect(quietQuote.surge).toBeGreaterThanOrEqual(1);
  });

  it('When London sees a burst with no driver at all, then its surge stops at its own cap of 2.5', async () => {
    await burst(places.waterloo, 5, places.kingsCross);
    await quoteAt(places.waterloo, places.kingsCross);
    advance(120_000);
    const quote = await quoteAt(places.waterloo, places.kingsCross);
    expect(quote.surge).toBe(2.5);
    expect(quote.fare.currency).toBe('GBP');
  });

  it('When the demand window has passed, then the surge decays back to 1', async () => {
    advance(6 * 60_000);
    await quoteAt(places.saintLazare);
    advance(60_000);
    expect((await quoteAt(places.saintLazare)).surge).toBe(1);
    const [own] = await zonesAt(places.saintLazare);
    expect(own).toMatchObject({ demand: 0, surge: 1 });
  });
});
