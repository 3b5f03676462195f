import { expect } from 'vitest';
import type { ErrorCode } from '../../src/domain/errors.js';
import type { DriverClient, Reply } from './platform.js';

/**
 * Where the HTTP tests put their parties, and the small checks several of them share.
 *
 * Two layouts keep one test's drivers from ever being offered another test's ride:
 * - `site(index)`: sites about 11 km apart, for tests that run with the default 5 km match radius
 *   (or set it explicitly) and place drivers a few kilometres around a pickup;
 * - `gridSpot(index)` with `isolatedGridEnv`: a dense 1.1 km grid with a 300 m match radius, for
 *   suites that stage many small scenes on one platform.
 */

export type Point = { lat: number; lng: number };
export type OfferView = { id: string; rideId: string; expiresAt: string };

const METERS_PER_DEGREE_LAT = 111_195;
/** The point `north` and `east` metres away from `base` (negative: south, west). */
export const offset = (base: Point, north: number, east = 0): Point => ({
  lat: base.lat + north / METERS_PER_DEGREE_LAT,
  lng: base.lng + east / (METERS_PER_DEGREE_LAT * Math.cos((base.lat * Math.PI) / 180)),
});

/** `count` points on a sunflower spiral within `radius` metres of `centre`: evenly spread, deterministic. */
export const spread = (centre: Point, count: number, radius: number): Point[] =>
  Array.from({ length: count }, (_, i) => {
    const r = radius * Math.sqrt((i + 0.5) / count);
    const angle = i * 2.399963;
    return offset(centre, r * Math.cos(angle), r * Math.sin(angle));
  });

/**
 * Test sites inside the Paris service area, about 11 km apart: more than twice the 5 km match
 * radius, so drivers around one site are never candidates for a pickup at another. Each test
 * uses its own.
 */
export const site = (index: number): Point => ({
  lat: 48.76 + 0.11 * Math.floor(index / 4),
  lng: 2.12 + 0.15 * (index % 4),
});
/** Where rides booked at a `site` go. */
export const dropoff: Point = { lat: 48.8566, lng: 2.3522 };

/** Dispatch sweeps every 50 ms (the harness sets PEAKRIDE_SWEEP_INTERVAL_MS=50). */
const SWEEP_MS = 50;
/**
 * How long to watch for something that must not happen, such as an offer that must not come. A
 * searching ride without a live offer is retried on every sweep, so a wrong offer would show up
 * within one or two sweeps; 15 sweeps is a wide margin even on a loaded machine.
 */
export const QUIET_MS = 15 * SWEEP_MS;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the drivers' offer lists for `ms`, or until `stop` holds, and returns every offer seen. */
export const watchOffers = async (
  drivers: DriverClient[],
  { ms, stop }: { ms: number; stop?: () => Promise<boolean> },
): Promise<Map<string, OfferView[]>> => {
  const seen = new Map<string, OfferView[]>(drivers.map((driver) => [driver.id, []]));
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const driver of drivers) {
      const reply = await driver.offers();
      expect(reply.status).toBe(200);
      seen.get(driver.id)?.push(...(reply.body as OfferView[]));
    }
    if (stop && (await stop())) break;
    await sleep(20);
  }
  return seen;
};

/** The match radius of `isolatedGridEnv`, well under the spacing of `gridSpot`. */
const GRID_MATCH_RADIUS_METERS = 300;

/**
 * Pickups on a grid about 1.1 km apart inside Paris (30 to a row); with the 300 m match radius
 * of `isolatedGridEnv`, no scene's driver can be offered another scene's ride.
 */
export const gridSpot = (index: number): Point => ({
  lat: Number((48.72 + 0.012 * Math.floor(index / 30)).toFixed(4)),
  lng: Number((2.08 + 0.018 * (index % 30)).toFixed(4)),
});

/**
 * Platform settings for `gridSpot` scenes: the 300 m match radius that isolates them, and timers
 * long enough that nothing lapses or expires while a suite runs.
 */
export const isolatedGridEnv = {
  PEAKRIDE_MATCH_RADIUS_METERS: String(GRID_MATCH_RADIUS_METERS),
  PEAKRIDE_OFFER_TIMEOUT_SECONDS: '600',
  PEAKRIDE_SEARCH_WINDOW_SECONDS: '1800',
  PEAKRIDE_QUOTE_TTL_SECONDS: '1800',
};

/** A well-formed id that names nothing. */
export const UNKNOWN_ID = '3f1c1f9e-9a4b-4c1d-8d2e-1a2b3c4d5e6f';

/** A problem+json refusal with this status and code, and a detail worth reading. */
export const expectProblem = (reply: Reply, status: number, code: ErrorCode) => {
  // Status and code first, together, so a failure shows both.
  expect({ status: reply.status, title: reply.body?.title }).toEqual({ status, title: code });
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
  expect(reply.body).toMatchObject({ type: `urn:peakride:problem:${code}`, title: code, status });
  expect(reply.body.detail).toEqual(expect.stringMatching(/\S/));
};
