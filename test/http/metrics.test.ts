import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { loadConfig } from '../../src/config.js';
import { createPlatform, type Platform } from '../../src/roles/platform.js';
import { describeEachBackend, type OpenedDatabase, postgresBackend } from '../support/backends.js';
import {
  type DriverClient,
  driverClient,
  eventually,
  places,
  riderClient,
  silentLogger,
  startTestPlatform,
  type TestPlatform,
  uniqueId,
} from '../support/platform.js';
import { dropoff, offset, type Point, site } from '../support/scenes.js';

/**
 * The business signals on /metrics, read as Prometheus reads them: the exposition text parsed
 * into samples. Counters are compared before and after each scene, so each scene asserts exact
 * increments. The clock is the test's and is moved forward by hand: a wait to be matched, an
 * offer timeout or a search window passes without waiting for it.
 */

const OFFER_TIMEOUT_SECONDS = 60;
const SEARCH_WINDOW_SECONDS = 600;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A sample value or an `le` bound as the exposition format writes it (`+Inf`, `-Inf`, `NaN` included). */
const numberOf = (raw: string): number => {
  if (raw === '+Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(raw);
};

/** Parses the text exposition format (0.0.4) that prom-client writes. */
const parseExposition = (text: string): { samples: Sample[]; types: Map<string, string> } => {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: numberOf(match[3]!) });
  }
  return { samples, types };
};

class Scrape {
  constructor(
    readonly samples: Sample[],
    readonly types: Map<string, string>,
  ) {}

  /** The one sample of `name` whose labels are exactly `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.samples.filter(
      (sample) =>
        sample.name === name &&
        Object.keys(sample.labels).length === Object.keys(labels).length &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
    if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
    return found[0]?.value;
  }

  /** Like `value`, with a series not exported yet read as 0 (a counter that never moved). */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.value(name, labels) ?? 0;
  }
}

/** Counters a scene may move, with the labels it may move them under. */
const paris = { city: 'paris' };
const tracked: Array<[string, Record<string, string>]> = [
  ['peakride_rides_requested_total', paris],
  ['peakride_rides_matched_total', paris],
  ['peakride_rides_expired_total', paris],
  ['peakride_rides_completed_total', paris],
  ['peakride_rides_cancelled_total', { ...paris, by: 'rider' }],
  ['peakride_rides_cancelled_total', { ...paris, by: 'driver' }],
  ['peakride_rides_cancelled_total', { ...paris, by: 'system' }],
  ['peakride_offer_outcomes_total', { outcome: 'accepted' }],
  ['peakride_offer_outcomes_total', { outcome: 'declined' }],
  ['peakride_offer_outcomes_total', { outcome: 'timed_out' }],
  ['peakride_time_to_match_seconds_count', paris],
];
const keyOf = (name: string, labels: Record<string, string>) => `${name}${JSON.stringify(labels)}`;

describeEachBackend('business metrics', (backend) => {
  let t: TestPlatform;
  let shiftMs = 0;
  const clock = { now: () => new Date(Date.now() + shiftMs) };
  const advance = (seconds: number) => {
    shiftMs += seconds * 1000;
  };
  const online: DriverClient[] = [];

  beforeAll(async () => {
    t = await startTestPlatform(
      backend,
      {
        PEAKRIDE_OFFER_TIMEOUT_SECONDS: String(OFFER_TIMEOUT_SECONDS),
        PEAKRIDE_SEARCH_WINDOW_SECONDS: String(SEARCH_WINDOW_SECONDS),
        // The clock jumps by minutes in this file: quotes and drivers must outlive the jumps.
        PEAKRIDE_QUOTE_TTL_SECONDS: '3600',
        PEAKRIDE_DRIVER_STALE_SECONDS: '3600',
        // Every offer is made at once, never held for a batch.
        PEAKRIDE_BATCH_WINDOW_MS: '0',
      },
      undefined,
      clock,
    );
  });
  // No scene leaves a driver online for the next one to be offered rides or counted.
  afterEach(async () => {
    for (const driver of online.splice(0)) await driver.offline();
  });
  afterAll(() => t?.close());

  const scrape = async (): Promise<Scrape> => {
    const reply = await t.request('GET', '/metrics');
    expect(reply.status).toBe(200);
    const { samples, types } = parseExposition(reply.body as string);
    return new Scrape(samples, types);
  };

  /** What changed in the tracked counters between two scrapes; unchanged ones left out. */
  const movedBetween = (before: Scrape, after: Scrape): Record<string, number> => {
    const moved: Record<string, number> = {};
    for (const [name, labels] of tracked) {
      const delta = after.count(name, labels) - before.count(name, labels);
      if (delta !== 0) moved[keyOf(name, labels)] = delta;
    }
    return moved;
  };
  const expectMoved = (
    before: Scrape,
    after: Scrape,
    expected: Array<[string, Record<string, string>, number]>,
  ) =>
    expect(movedBetween(before, after)).toEqual(
      Object.fromEntries(expected.map(([name, labels, delta]) => [keyOf(name, labels), delta])),
    );

  const driverAt = async (point: Point) => {
    const driver = await t.driver();
    expect((await driver.online(point)).status).toBe(200);
    online.push(driver);
    return driver;
  };

  const book = async (pickup: Point) => {
    const rider = await t.rider();
    const quote = await rider.quote(pickup, dropoff);
    expect(quote.status).toBe(201);
    const booked = await rider.book(quote.body.quoteId, `key-${rider.id}`);
    expect(booked.status).toBe(201);
    return { rider, quoteId: quote.body.quoteId as string, rideId: booked.body.id as string };
  };

  const statusOf = async (rideId: string) => (await (await t.ops()).getRide(rideId)).body.status as string;

  it('When a ride goes from booking to completion, then requested, matched, completed and the time-to-match histogram move by exactly one ride', async () => {
    const pickup = site(0);
    const driver = await driverAt(offset(pickup, 300));
    const before = await scrape();

    const { rider, quoteId, rideId } = await book(pickup);
    // A retried booking replays the first answer: it is not a second request.
    const replay = await rider.book(quoteId, `key-${rider.id}`);
    expect(replay.body.id).toBe(rideId);
    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(rideId);
    // The rider waits 30 s (on the test's clock) before the driver accepts.
    advance(30);
    expect((await driver.accept(offer.id)).status).toBe(200);
    for (const step of ['arrive', 'start', 'complete'] as const) {
      expect((await driver[step](rideId)).status).toBe(200);
    }
    const after = await scrape();

    expectMoved(before, after, [
      ['peakride_rides_requested_total', paris, 1],
      ['peakride_rides_matched_total', paris, 1],
      ['peakride_rides_completed_total', paris, 1],
      ['peakride_offer_outcomes_total', { outcome: 'accepted' }, 1],
      ['peakride_time_to_match_seconds_count', paris, 1],
    ]);
    expect(
      after.count('peakride_offers_sent_total', { mode: 'immediate' }) -
        before.count('peakride_offers_sent_total', { mode: 'immediate' }),
    ).toBe(1);

    // 30 s on the clock plus the real time the scene took: above the 30 s bound, within 45 s.
    const waited =
      after.count('peakride_time_to_match_seconds_sum', paris) -
      before.count('peakride_time_to_match_seconds_sum', paris);
    expect(waited).toBeGreaterThanOrEqual(30);
    expect(waited).toBeLessThan(45);
    const buckets = after.samples.filter(
      (sample) => sample.name === 'peakride_time_to_match_seconds_bucket' && sample.labels.city === 'paris',
    );
    expect(buckets.map((sample) => sample.labels.le)).toEqual([
      '1',
      '2',
      '5',
      '10',
      '15',
      '20',
      '30',
      '45',
      '60',
      '90',
      '120',
      '180',
      '300',
      '+Inf',
    ]);
    for (const { labels } of buckets) {
      const moved =
        after.count('peakride_time_to_match_seconds_bucket', labels) -
        before.count('peakride_time_to_match_seconds_bucket', labels);
      expect({ le: labels.le, moved }).toEqual({ le: labels.le, moved: numberOf(labels.le!) >= 45 ? 1 : 0 });
    }
    expect(after.types.get('peakride_time_to_match_seconds')).toBe('histogram');
    expect(after.types.get('peakride_rides_matched_total')).toBe('counter');
  });

  it('When an offer is declined, another lapses and the ride outlives its search window, then declined, timed_out and expired each move by one', async () => {
    const pickup = site(1);
    const decliner = await driverAt(offset(pickup, 200));
    const before = await scrape();
    const { rideId } = await book(pickup);

    const declined = await decliner.waitForOffer();
    expect((await decliner.decline(declined.id)).status).toBe(200);
    const afterDecline = await scrape();
    expectMoved(before, afterDecline, [
      ['peakride_rides_requested_total', paris, 1],
      ['peakride_offer_outcomes_total', { outcome: 'declined' }, 1],
    ]);

    // The next driver lets the offer lapse: the worker times it out.
    const idler = await driverAt(offset(pickup, -400));
    const lapsing = await idler.waitForOffer();
    expect(lapsing.rideId).toBe(rideId);
    advance(OFFER_TIMEOUT_SECONDS + 1);
    const afterTimeout = await eventually(
      scrape,
      (now) =>
        movedBetween(afterDecline, now)[keyOf('peakride_offer_outcomes_total', { outcome: 'timed_out' })] ===
        1,
    );
    expectMoved(afterDecline, afterTimeout, [['peakride_offer_outcomes_total', { outcome: 'timed_out' }, 1]]);

    // Nobody else is near: the search window runs out and the worker expires the ride.
    advance(SEARCH_WINDOW_SECONDS);
    const afterExpiry = await eventually(
      scrape,
      (now) =>
        now.count('peakride_rides_expired_total', paris) >
        afterTimeout.count('peakride_rides_expired_total', paris),
    );
    expect(await statusOf(rideId)).toBe('expired');
    expectMoved(afterTimeout, afterExpiry, [['peakride_rides_expired_total', paris, 1]]);
  });

  it('When a driver goes offline holding an offer, then it counts as a decline', async () => {
    const pickup = site(2);
    const leaving = await driverAt(offset(pickup, 200));
    const { rider, rideId } = await book(pickup);
    await leaving.waitForOffer();
    const before = await scrape();
    expect((await leaving.offline()).status).toBe(200);
    expect((await rider.cancel(rideId)).status).toBe(200);
    expectMoved(before, await scrape(), [
      ['peakride_offer_outcomes_total', { outcome: 'declined' }, 1],
      ['peakride_rides_cancelled_total', { ...paris, by: 'rider' }, 1],
    ]);
  });

  it('When riders and drivers cancel, then cancelled counts each by who ended the ride, and a ride its driver drops is not cancelled', async () => {
    const pickup = site(3);
    const before = await scrape();

    // The rider cancels while searching.
    const searching = await book(pickup);
    expect((await searching.rider.cancel(searching.rideId)).status).toBe(200);

    // A driver accepts, then drops the ride: it searches again, no cancellation.
    const dropping = await driverAt(offset(pickup, 200));
    const dropped = await book(pickup);
    expect((await dropping.accept((await dropping.waitForOffer()).id)).status).toBe(200);
    expect((await dropping.cancel(dropped.rideId)).status).toBe(200);
    expect(await statusOf(dropped.rideId)).toBe('searching');
    const afterDrop = await scrape();
    expectMoved(before, afterDrop, [
      ['peakride_rides_requested_total', paris, 2],
      ['peakride_rides_matched_total', paris, 1],
      ['peakride_offer_outcomes_total', { outcome: 'accepted' }, 1],
      ['peakride_time_to_match_seconds_count', paris, 1],
      ['peakride_rides_cancelled_total', { ...paris, by: 'rider' }, 1],
    ]);

    // Another driver takes it, arrives, and the rider does not show: the driver cancels.
    const waiting = await driverAt(offset(pickup, -300));
    expect((await waiting.accept((await waiting.waitForOffer()).id)).status).toBe(200);
    expect((await waiting.arrive(dropped.rideId)).status).toBe(200);
    expect((await waiting.cancel(dropped.rideId)).status).toBe(200);
    expect(await statusOf(dropped.rideId)).toBe('cancelled');
    expectMoved(afterDrop, await scrape(), [
      ['peakride_rides_matched_total', paris, 1],
      ['peakride_offer_outcomes_total', { outcome: 'accepted' }, 1],
      ['peakride_time_to_match_seconds_count', paris, 1],
      ['peakride_rides_cancelled_total', { ...paris, by: 'driver' }, 1],
    ]);
  });

  it('When a driver is online and a ride is searching, then the per-city gauges show them; event-loop utilisation is a share', async () => {
    // A driver in each city, and a ride searching in Paris with nobody within reach of it.
    const pickup = site(4);
    await driverAt(site(6));
    await driverAt(places.kingsCross);
    const { rider, rideId } = await book(pickup);

    // Open requests are read from the database at most every 2 s: the scrape catches up.
    const seen = await eventually(scrape, (now) => now.value('peakride_open_requests', paris) === 1);
    expect({
      parisDrivers: seen.value('peakride_available_drivers', paris),
      londonDrivers: seen.value('peakride_available_drivers', { city: 'london' }),
      parisOpen: seen.value('peakride_open_requests', paris),
      londonOpen: seen.value('peakride_open_requests', { city: 'london' }),
    }).toEqual({ parisDrivers: 1, londonDrivers: 1, parisOpen: 1, londonOpen: 0 });
    expect(seen.types.get('peakride_available_drivers')).toBe('gauge');

    const utilization = seen.value('peakride_event_loop_utilization');
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);

    // A driver taken by a ride is no longer available; a cancelled ride is no longer open.
    expect((await rider.cancel(rideId)).status).toBe(200);
    for (const driver of online.splice(0)) await driver.offline();
    const emptied = await eventually(scrape, (now) => now.value('peakride_open_requests', paris) === 0);
    expect(emptied.value('peakride_available_drivers', paris)).toBe(0);
    expect(emptied.value('peakride_available_drivers', { city: 'london' })).toBe(0);
  });

  it('When bookings outrun the drivers around a pickup, then the highest surge of the city rises to its cap', async () => {
    const before = await scrape();
    expect(before.value('peakride_surge_multiplier_max', { city: 'london' })).toBe(1);

    // Three bookings around Gare du Nord, no driver near: demand with no supply.
    const pickup = places.gareDuNord;
    const booked = [];
    for (let i = 0; i < 3; i++) booked.push(await book(offset(pickup, i * 30)));
    // Bookings reach the surge model as announcements; a quote lets it see there is no supply.
    const ops = await t.ops();
    await eventually(
      () => t.request('GET', `/v1/zones?lat=${pickup.lat}&lng=${pickup.lng}`, { token: ops.token }),
      (reply) => reply.body[0]?.demand >= 3,
    );
    await (await t.rider()).quote(pickup, dropoff);
    // The multiplier is smoothed (5 s half-life): a minute on, it sits at the cap.
    advance(60);
    const after = await scrape();
    expect(after.value('peakride_surge_multiplier_max', paris)).toBe(3);
    expect(after.value('peakride_surge_multiplier_max', { city: 'london' })).toBe(1);

    for (const { rider, rideId } of booked) expect((await rider.cancel(rideId)).status).toBe(200);
  });
});

const redisUrl = process.env.REDIS_URL;
const splitAvailable = postgresBackend.available && Boolean(redisUrl);

/**
 * Split roles in one test process, sharing PostgreSQL and Redis as a deployment does: each event
 * is counted by the role that commits it, and the per-city gauges of shared state come from one
 * role only, so summing a deployment's series counts nothing twice.
 */
describe.skipIf(!splitAvailable)(
  `business metrics across roles${splitAvailable ? '' : ' [skipped: needs DATABASE_URL and REDIS_URL]'}`,
  () => {
    const prefix = `peakride-test-${randomBytes(6).toString('hex')}:`;
    let opened: OpenedDatabase;
    let api: Platform;
    let worker: Platform;

    beforeAll(async () => {
      opened = await postgresBackend.open();
      await migrate(opened.database);
      const config = loadConfig({
        DATABASE_URL: process.env.DATABASE_URL!,
        REDIS_URL: redisUrl!,
        PEAKRIDE_REDIS_PREFIX: prefix,
        PEAKRIDE_SWEEP_INTERVAL_MS: '50',
      });
      const options = { config, database: opened.database, logger: silentLogger };
      api = await createPlatform({ ...options, role: 'api' });
      worker = await createPlatform({ ...options, role: 'worker' });
      await Promise.all([api.start(), worker.start()]);
    });
    afterAll(async () => {
      await api?.stop();
      await worker?.stop();
      await opened?.cleanup();
      const admin = new Redis(redisUrl!);
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    });

    const scrapeOf = async (platform: Platform) => {
      const reply = await platform.app.inject({ method: 'GET', url: '/metrics' });
      expect(reply.statusCode).toBe(200);
      const { samples, types } = parseExposition(reply.body);
      return new Scrape(samples, types);
    };
    /** The metric names a process exports with a `city` label. */
    const cityMetrics = (scrape: Scrape) =>
      new Set(scrape.samples.filter((sample) => sample.labels.city).map((sample) => sample.name));

    it('When a ride is booked through the API, then the API counts it and shows surge, and the worker alone shows supply and open requests', async () => {
      const request = async (
        method: string,
        url: string,
        options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
      ) => {
        const reply = await api.app.inject({
          method: method as 'GET',
          url,
          headers: {
            ...options.headers,
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          },
          ...(options.body !== undefined ? { payload: options.body as object } : {}),
        });
        return { status: reply.statusCode, body: reply.json(), headers: reply.headers };
      };
      const token = async (role: 'rider' | 'driver', subject: string) =>
        (await request('POST', '/v1/dev/tokens', { body: { role, subject } })).body.token as string;

      const apiNames = cityMetrics(await scrapeOf(api));
      const workerNames = cityMetrics(await scrapeOf(worker));
      expect({
        apiCountsBookings: apiNames.has('peakride_rides_requested_total'),
        apiCountsExpiries: apiNames.has('peakride_rides_expired_total'),
        apiShowsSurge: apiNames.has('peakride_surge_multiplier_max'),
        apiShowsSupply: apiNames.has('peakride_available_drivers'),
        apiShowsOpenRequests: apiNames.has('peakride_open_requests'),
        workerCountsBookings: workerNames.has('peakride_rides_requested_total'),
        workerCountsExpiries: workerNames.has('peakride_rides_expired_total'),
        workerShowsSurge: workerNames.has('peakride_surge_multiplier_max'),
        workerShowsSupply: workerNames.has('peakride_available_drivers'),
        workerShowsOpenRequests: workerNames.has('peakride_open_requests'),
      }).toEqual({
        apiCountsBookings: true,
        apiCountsExpiries: false,
        apiShowsSurge: true,
        apiShowsSupply: false,
        apiShowsOpenRequests: false,
        workerCountsBookings: false,
        workerCountsExpiries: true,
        workerShowsSurge: false,
        workerShowsSupply: true,
        workerShowsOpenRequests: true,
      });

      // A driver online through the API reaches the worker's supply replica through Redis; no
      // dispatcher runs, so the ride booked far from it stays searching.
      const driverId = uniqueId('driver');
      const driver = driverClient(request, driverId, await token('driver', driverId));
      expect((await driver.online(site(6))).status).toBe(200);
      const riderId = uniqueId('rider');
      const rider = riderClient(request, riderId, await token('rider', riderId));
      const before = await scrapeOf(api);
      const { id: rideId } = await rider.requestRide(site(4), dropoff);
      const after = await scrapeOf(api);
      expect(
        after.count('peakride_rides_requested_total', paris) -
          before.count('peakride_rides_requested_total', paris),
      ).toBe(1);
      const seen = await eventually(
        () => scrapeOf(worker),
        (now) =>
          now.value('peakride_open_requests', paris) === 1 &&
          now.value('peakride_available_drivers', paris) === 1,
      );
      expect({
        open: seen.value('peakride_open_requests', paris),
        available: seen.value('peakride_available_drivers', paris),
      }).toEqual({ open: 1, available: 1 });

      expect((await rider.cancel(rideId)).status).toBe(200);
      expect((await driver.offline()).status).toBe(200);
    });
  },
);
