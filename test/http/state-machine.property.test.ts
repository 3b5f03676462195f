import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import {
  type DriverClient,
  driverClient,
  type Reply,
  type RiderClient,
  riderClient,
  startTestPlatform,
  type TestPlatform,
  uniqueId,
} from '../support/platform.js';
import type { Point } from '../support/scenes.js';

/**
 * Random actors drive random sequences of calls through the HTTP API while the dispatcher
 * runs on its own (offers lapse after 0.5 s, searches expire after 1.5 s). After every call the
 * test reads every ride of the run with an ops token and checks the invariants of DESIGN.md;
 * each call's answer is checked against what the last observation predicts.
 */

const OFFER_TIMEOUT_SECONDS = 0.5;
const SEARCH_WINDOW_SECONDS = 1.5;
const RIDERS = 3;
const DRIVERS = 3;
const NUM_RUNS = 10;
const MAX_COMMANDS = 40;

type Status =
  | 'searching'
  | 'driver_assigned'
  | 'driver_arrived'
  | 'in_progress'
  | 'completed'
  | 'cancelled'
  | 'expired';

/** The lifecycle table of DESIGN.md, by the action that makes each change. */
const lifecycle: Record<
  'accept' | 'expire' | 'rider_cancel' | 'driver_cancel' | 'arrive' | 'start' | 'complete',
  Partial<Record<Status, Status>>
> = {
  accept: { searching: 'driver_assigned' },
  expire: { searching: 'expired' },
  rider_cancel: { searching: 'cancelled', driver_assigned: 'cancelled', driver_arrived: 'cancelled' },
  driver_cancel: { driver_assigned: 'searching', driver_arrived: 'cancelled' },
  arrive: { driver_assigned: 'driver_arrived' },
  start: { driver_arrived: 'in_progress' },
  complete: { in_progress: 'completed' },
};
const allowedChanges = new Set(
  Object.values(lifecycle).flatMap((byFrom) => Object.entries(byFrom).map(([from, to]) => `${from}->${to}`)),
);
const allStatuses: Status[] = [
  'searching',
  'driver_assigned',
  'driver_arrived',
  'in_progress',
  'completed',
  'cancelled',
  'expired',
];
const driverActive = new Set<Status>(['driver_assigned', 'driver_arrived', 'in_progress']);
const open = new Set<Status>(['searching', 'driver_assigned', 'driver_arrived', 'in_progress']);
const finished = new Set<Status>(['completed', 'cancelled', 'expired']);
const withDriver = new Set<Status>(['driver_assigned', 'driver_arrived', 'in_progress', 'completed']);

interface ObservedRide {
  id: string;
  rider: number;
  status: Status;
  driverId: string | null;
  version: number;
  fare: { amount: number; currency: string };
}

interface SeenOffer {
  id: string;
  rideId: string;
  driver: number;
}

/** What every run shares: the platform and the coverage counters. */
interface Bench {
  t: TestPlatform;
  coverage: Map<string, number>;
}

const count = (bench: Bench, what: string) => bench.coverage.set(what, (bench.coverage.get(what) ?? 0) + 1);

/** Metres to degrees near Paris. */
const offset = (from: Point, northMeters: number, eastMeters: number): Point => ({
  lat: from.lat + northMeters / 111_200,
  lng: from.lng + eastMeters / (111_200 * Math.cos((from.lat * Math.PI) / 180)),
});

/** One run's world: its own riders and drivers, the rides they made and the last observation of each. */
class World {
  readonly riders: RiderClient[] = [];
  readonly drivers: DriverClient[] = [];
  readonly online: boolean[] = [];
  readonly rides: ObservedRide[] = [];
  readonly offers: SeenOffer[] = [];
  readonly trace: string[] = [];
  private opsToken = '';

  constructor(
    readonly bench: Bench,
    readonly base: Point,
  ) {}

  /** Every request of the run goes through here: no answer may ever be a 5xx. */
  readonly request: TestPlatform['request'] = async (method, url, options) => {
    const reply = await this.bench.t.request(method, url, options);
    if (reply.status >= 500) {
      throw new Error(`${method} ${url} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    return reply;
  };

  async init(startOnline: readonly boolean[]) {
    for (let i = 0; i < RIDERS; i++) {
      const id = uniqueId('sm-rider');
      this.riders.push(riderClient(this.request, id, await this.bench.t.token('rider', id)));
    }
    for (let i = 0; i < DRIVERS; i++) {
      const id = uniqueId('sm-driver');
      this.drivers.push(driverClient(this.request, id, await this.bench.t.token('driver', id)));
      this.online.push(false);
    }
    this.opsToken = await this.bench.t.token('ops', uniqueId('sm-ops'));
    for (const [d, online] of startOnline.entries()) {
      if (!online) continue;
      const reply = await this.drivers[d]!.online(offset(this.base, 100 * d, -100 * d));
      expect(reply.status).toBe(200);
      this.online[d] = true;
      this.trace.push(`driver ${d} starts online`);
    }
  }

  ride(id: string) {
    return this.rides.find((ride) => ride.id === id);
  }

  driverIndex(driverId: string | null) {
    return this.drivers.findIndex((driver) => driver.id === driverId);
  }

  /** The ride driver `d` holds in an active status, as last observed. */
  activeRideOf(d: number) {
    return this.rides.find((ride) => ride.driverId === this.drivers[d]!.id && driverActive.has(ride.status));
  }

  openRideOf(r: number) {
    return this.rides.find((ride) => ride.rider === r && open.has(ride.status));
  }

  /** Records a ride as seen in an answer; every change from the last sighting must be a legal one. */
  observe(body: Record<string, unknown>, where: string) {
    const status = body.status as Status;
    const known = this.ride(body.id as string);
    const context = `${where}; trace:\n  ${this.trace.join('\n  ')}`;
    expect(allStatuses, context).toContain(status);
    // A cancelled ride may or may not have had a driver; every other status says which.
    if (status === 'searching' || status === 'expired') expect(body.driverId, context).toBeNull();
    if (withDriver.has(status)) expect(body.driverId, context).toEqual(expect.any(String));
    if (!known) throw new Error(`a ride outside this run showed up: ${JSON.stringify(body)}; ${context}`);
    const version = body.version as number;
    expect(version, `version of ride ${known.id} went down, ${context}`).toBeGreaterThanOrEqual(
      known.version,
    );
    if (status !== known.status) {
      expect(version, `status changed without a new version, ${context}`).toBeGreaterThan(known.version);
      expect(allowedChanges, `ride ${known.id}: ${known.status} -> ${status}, ${context}`).toContain(
        `${known.status}->${status}`,
      );
      count(this.bench, `${known.status}->${status}`);
    } else if (version === known.version) {
      expect(body.driverId, `same version, other driver, ${context}`).toBe(known.driverId);
    }
    expect(body.fare, `the fare of ride ${known.id} changed, ${context}`).toEqual(known.fare);
    known.status = status;
    known.driverId = body.driverId as string | null;
    known.version = version;
  }

  /** Reads every ride of the run with the ops token and checks the cross-ride invariants. */
  async refresh(after: string, { all = false } = {}) {
    // Finished rides are terminal; they are read again (and must not have moved) at the end of the run.
    for (const ride of this.rides.filter((known) => all || !finished.has(known.status))) {
      const reply = await this.request('GET', `/v1/rides/${ride.id}`, { token: this.opsToken });
      expect(reply.status, `ops read of ${ride.id} after ${after}`).toBe(200);
      this.observe(reply.body, `ops read after ${after}`);
    }
    const context = `after ${after}; trace:\n  ${this.trace.join('\n  ')}`;
    for (const driver of this.drivers) {
      const active = this.rides.filter(
        (ride) => ride.driverId === driver.id && driverActive.has(ride.status),
      );
      expect(
        active.length,
        `driver ${driver.id} holds ${active.length} active rides ${context}`,
      ).toBeLessThanOrEqual(1);
    }
    for (const [r] of this.riders.entries()) {
      const openRides = this.rides.filter((ride) => ride.rider === r && open.has(ride.status));
      expect(openRides.length, `rider ${r} holds two open rides ${context}`).toBeLessThanOrEqual(1);
    }
  }

  /** Runs one command's HTTP calls and checks, then the global checks. */
  async step(label: string, action: () => Promise<void>) {
    this.trace.push(label);
    count(this.bench, 'commands');
    await action();
    await this.refresh(label);
  }

  /** The ride event log in the database: every recorded status change is a legal one. */
  async checkEventLog() {
    for (const ride of this.rides) {
      const events = await this.bench.t.opened.database.query<{ seq: number; status: Status }>(
        'SELECT seq, status FROM ride_events WHERE ride_id = $1 ORDER BY seq',
        [ride.id],
      );
      expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
      expect(events[0]?.status).toBe('searching');
      for (let i = 1; i < events.length; i++) {
        const [from, to] = [events[i - 1]!.status, events[i]!.status];
        if (from !== to) expect(allowedChanges, `event log of ${ride.id}`).toContain(`${from}->${to}`);
      }
      expect(events.at(-1)).toEqual({ seq: ride.version, status: ride.status });
    }
  }

  /** Finishes every open ride and takes every driver offline, so the next run starts clean. */
  async cleanup(strict: boolean) {
    const problems: string[] = [];
    const expectOk = (reply: Reply, what: string, also: number[] = []) => {
      if (reply.status !== 200 && !also.includes(reply.status)) {
        problems.push(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
      }
    };
    try {
      await this.refresh('the last command');
    } catch (error) {
      if (strict) throw error;
    }
    for (const ride of this.rides) {
      if (ride.status === 'in_progress') {
        expectOk(
          await this.drivers[this.driverIndex(ride.driverId)]!.complete(ride.id),
          `complete ${ride.id}`,
        );
      } else if (open.has(ride.status)) {
        // A searching ride may expire meanwhile: then the cancel is a 409.
        const also = ride.status === 'searching' ? [409] : [];
        expectOk(await this.riders[ride.rider]!.cancel(ride.id), `cancel ${ride.id}`, also);
      }
    }
    for (const driver of this.drivers) expectOk(await driver.offline(), `offline ${driver.id}`);
    try {
      await this.refresh('cleanup', { all: true });
      const left = this.rides.filter((ride) => !finished.has(ride.status));
      if (left.length > 0) problems.push(`rides left open: ${JSON.stringify(left)}`);
    } catch (error) {
      problems.push(String(error));
    }
    if (strict && problems.length > 0) throw new Error(`cleanup failed:\n${problems.join('\n')}`);
  }
}

type Command = fc.AsyncCommand<World, World>;

const rider = fc.nat({ max: RIDERS - 1 });
const driver = fc.nat({ max: DRIVERS - 1 });
const anyIndex = fc.nat({ max: 50 });
const jitter = fc.record({
  north: fc.integer({ min: -300, max: 300 }),
  east: fc.integer({ min: -300, max: 300 }),
});

const command = (
  label: string,
  check: (w: Readonly<World>) => boolean,
  run: (w: World) => Promise<void>,
): Command => ({
  check,
  run: (w) => w.step(label, () => run(w)),
  toString: () => label,
});

const goOnline = fc.tuple(driver, jitter).map(([d, { north, east }]) =>
  command(
    `driver ${d} goes online`,
    () => true,
    async (w) => {
      const reply = await w.drivers[d]!.online(offset(w.base, north, east));
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe('online');
      w.online[d] = true;
    },
  ),
);

const goOffline = driver.map((d) =>
  command(
    `driver ${d} goes offline`,
    () => true,
    async (w) => {
      const reply = await w.drivers[d]!.offline();
      if (w.activeRideOf(d)) {
        expect(reply.status).toBe(409);
        expect(reply.body.title).toBe('DRIVER.ON_RIDE');
      } else {
        expect(reply.status).toBe(200);
        w.online[d] = false;
      }
    },
  ),
);

const reportLocation = fc.tuple(driver, jitter).map(([d, { north, east }]) =>
  command(
    `driver ${d} reports its location`,
    () => true,
    async (w) => {
      const reply = await w.drivers[d]!.location({ ...offset(w.base, north, east) });
      if (w.online[d]) {
        expect(reply.status).toBe(204);
      } else {
        expect(reply.status).toBe(409);
        expect(reply.body.title).toBe('DRIVER.OFFLINE');
      }
    },
  ),
);

const book = fc.tuple(rider, jitter).map(([r, { north, east }]) =>
  command(
    `rider ${r} quotes and books`,
    () => true,
    async (w) => {
      const pickup = offset(w.base, north, east);
      const quote = await w.riders[r]!.quote(pickup, offset(pickup, 1500, 1500));
      expect(quote.status).toBe(201);
      const previous = w.openRideOf(r);
      const reply = await w.riders[r]!.book(quote.body.quoteId);
      // A searching ride may expire between the last observation and this booking.
      const allowed = !previous ? [201] : previous.status === 'searching' ? [201, 409] : [409];
      expect(allowed, JSON.stringify(reply.body)).toContain(reply.status);
      if (reply.status === 409) {
        expect(reply.body.title).toBe('RIDE.RIDER_HAS_ACTIVE_RIDE');
        return;
      }
      expect(reply.body).toMatchObject({ status: 'searching', riderId: w.riders[r]!.id, driverId: null });
      expect(reply.body.fare).toEqual(quote.body.fare);
      w.rides.push({
        id: reply.body.id,
        rider: r,
        status: 'searching',
        driverId: null,
        version: reply.body.version,
        fare: quote.body.fare,
      });
      count(w.bench, 'booked');
    },
  ),
);

const answerOffer = (acceptOrNot: fc.Arbitrary<boolean>) =>
  fc.tuple(anyIndex, acceptOrNot).map(([k, accept]) =>
    command(
      `driver #${k} of those holding an offer ${accept ? 'accepts' : 'declines'} it`,
      () => true,
      async (w) => {
        const held: Array<{ d: number; offer: { id: string; rideId: string } }> = [];
        for (const [d, client] of w.drivers.entries()) {
          const listed = await client.offers();
          expect(listed.status).toBe(200);
          expect(listed.body.length, `driver ${d} holds several offers`).toBeLessThanOrEqual(1);
          if (listed.body[0]) held.push({ d, offer: listed.body[0] });
        }
        if (held.length === 0) return;
        const { d, offer } = held[k % held.length]!;
        const ride = w.ride(offer.rideId);
        if (!ride) throw new Error(`driver ${d} was offered a ride outside this run: ${offer.rideId}`);
        w.offers.push({ id: offer.id, rideId: offer.rideId, driver: d });
        w.trace.push(`  (driver ${d} holds offer ${offer.id} for ride #${w.rides.indexOf(ride)})`);
        count(w.bench, 'offered');
        if (!accept) {
          const reply = await w.drivers[d]!.decline(offer.id);
          // The offer may lapse or be withdrawn between listing and answering.
          expect([200, 409], JSON.stringify(reply.body)).toContain(reply.status);
          if (reply.status === 200) expect(reply.body).toMatchObject({ id: offer.id, status: 'declined' });
          return;
        }
        const mustFail = Boolean(w.activeRideOf(d)) || ride.status !== 'searching';
        const reply = await w.drivers[d]!.accept(offer.id);
        expect(mustFail ? [409] : [200, 409], JSON.stringify(reply.body)).toContain(reply.status);
        if (reply.status === 200) {
          expect(reply.body).toMatchObject({
            id: offer.rideId,
            status: 'driver_assigned',
            driverId: w.drivers[d]!.id,
          });
          w.observe(reply.body, `accept by driver ${d}`);
        }
      },
    ),
  );

const answerForeignOffer = fc.tuple(driver, anyIndex, fc.boolean()).map(([d, k, accept]) => {
  const foreign = (w: Readonly<World>) => w.offers.filter((offer) => offer.driver !== d);
  return command(
    `driver ${d} ${accept ? 'accepts' : 'declines'} another driver's offer #${k}`,
    (w) => foreign(w).length > 0,
    async (w) => {
      const candidates = foreign(w);
      const offer = candidates[k % candidates.length]!;
      const client = w.drivers[d]!;
      const reply = accept ? await client.accept(offer.id) : await client.decline(offer.id);
      expect(reply.status).toBe(404);
      expect(reply.body.title).toBe('OFFER.NOT_FOUND');
      count(w.bench, 'foreign offer refused');
    },
  );
});

const driverActions = ['arrive', 'start', 'complete', 'cancel'] as const;
const designAction = {
  arrive: 'arrive',
  start: 'start',
  complete: 'complete',
  cancel: 'driver_cancel',
} as const;

const callAsDriver = (client: DriverClient, action: (typeof driverActions)[number], rideId: string) =>
  action === 'cancel' ? client.cancel(rideId, 'property test') : client[action](rideId);

/**
 * A driver's call on its own ride, checked against the lifecycle table: where the table allows
 * no change, 409 RIDE.INVALID_TRANSITION; otherwise 200 with the status it names. True if the ride changed.
 */
const expectTableAnswer = (w: World, reply: Reply, to: Status | undefined): boolean => {
  if (!to) {
    expect(reply.status, JSON.stringify(reply.body)).toBe(409);
    expect(reply.body.title).toBe('RIDE.INVALID_TRANSITION');
    count(w.bench, 'invalid transition refused');
    return false;
  }
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  expect(reply.body.status).toBe(to);
  return true;
};

const driverActsOnAnyRide = fc
  .tuple(driver, fc.constantFrom(...driverActions), anyIndex)
  .map(([d, action, k]) =>
    command(
      `driver ${d} tries to ${action} ride #${k}`,
      (w) => w.rides.length > 0,
      async (w) => {
        const ride = w.rides[k % w.rides.length]!;
        const reply = await callAsDriver(w.drivers[d]!, action, ride.id);
        if (ride.driverId !== w.drivers[d]!.id) {
          // Not their ride: its existence is not even revealed.
          expect(reply.status, JSON.stringify(reply.body)).toBe(404);
          expect(reply.body.title).toBe('RIDE.NOT_FOUND');
          count(w.bench, 'foreign ride refused');
          return;
        }
        const to = lifecycle[designAction[action]][ride.status];
        if (!expectTableAnswer(w, reply, to)) return;
        w.observe(reply.body, `${action} by driver ${d}`);
      },
    ),
  );

const nextStep = { driver_assigned: 'arrive', driver_arrived: 'start', in_progress: 'complete' } as const;

/** The driver acts on the ride it holds: always its own, so the table alone says what happens. */
const driverActsOnOwnRide = (pick: fc.Arbitrary<'next' | 'cancel'>) =>
  fc.tuple(driver, pick).map(([d, what]) =>
    command(
      `driver ${d} ${what === 'next' ? 'moves its ride on' : 'cancels its ride'}`,
      (w) => w.activeRideOf(d) !== undefined,
      async (w) => {
        const ride = w.activeRideOf(d)!;
        const action = what === 'cancel' ? 'cancel' : nextStep[ride.status as keyof typeof nextStep];
        const to = lifecycle[designAction[action]][ride.status];
        const reply = await callAsDriver(w.drivers[d]!, action, ride.id);
        if (!expectTableAnswer(w, reply, to)) return;
        if (action === 'cancel' && to === 'cancelled') {
          expect(reply.body.cancellation).toEqual({ by: 'driver', reason: 'property test' });
        }
        w.observe(reply.body, `${action} by driver ${d}`);
      },
    ),
  );

const riderCancels = fc.tuple(rider, anyIndex).map(([r, k]) =>
  command(
    `rider ${r} tries to cancel ride #${k}`,
    (w) => w.rides.length > 0,
    async (w) => {
      const ride = w.rides[k % w.rides.length]!;
      const reply = await w.riders[r]!.cancel(ride.id, 'property test');
      if (ride.rider !== r) {
        expect(reply.status, JSON.stringify(reply.body)).toBe(404);
        expect(reply.body.title).toBe('RIDE.NOT_FOUND');
        count(w.bench, 'foreign ride refused');
        return;
      }
      const to = lifecycle.rider_cancel[ride.status];
      // A searching ride may expire between the last observation and this cancel.
      const allowed = !to ? [409] : ride.status === 'searching' ? [200, 409] : [200];
      expect(allowed, JSON.stringify(reply.body)).toContain(reply.status);
      if (reply.status === 409) {
        expect(reply.body.title).toBe('RIDE.INVALID_TRANSITION');
        return;
      }
      expect(reply.body).toMatchObject({ status: 'cancelled', cancellation: { by: 'rider' } });
      w.observe(reply.body, `cancel by rider ${r}`);
    },
  ),
);

const someoneReads = fc
  .tuple(fc.boolean(), fc.nat({ max: Math.max(RIDERS, DRIVERS) - 1 }), anyIndex)
  .map(([asRider, i, k]) =>
    command(
      `${asRider ? 'rider' : 'driver'} ${i} reads ride #${k}`,
      (w) => w.rides.length > 0,
      async (w) => {
        const ride = w.rides[k % w.rides.length]!;
        const client = asRider ? w.riders[i % RIDERS]! : w.drivers[i % DRIVERS]!;
        const mayRead = asRider ? ride.rider === i % RIDERS : ride.driverId === client.id;
        const reply = await client.getRide(ride.id);
        expect(reply.status, JSON.stringify(reply.body)).toBe(mayRead ? 200 : 404);
        if (mayRead) w.observe(reply.body, `read by its ${asRider ? 'rider' : 'driver'}`);
      },
    ),
  );

const wait = fc.constantFrom(100, 400, 1000).map((ms) =>
  command(
    `${ms} ms pass`,
    () => true,
    () => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  ),
);

/** Each arbitrary repeated `weight` times: fc.commands picks among its list uniformly. */
const weighted = (...entries: Array<[fc.Arbitrary<Command>, number]>) =>
  entries.flatMap(([arbitrary, weight]) => Array.from({ length: weight }, () => arbitrary));

// A trip takes a chain of the right calls before offers lapse and searches expire, so booking,
// answering offers and moving one's own ride on come up most often.
const commands = fc.noBias(
  fc.commands(
    weighted(
      [goOnline, 2],
      [goOffline, 1],
      [reportLocation, 1],
      [book, 3],
      [answerOffer(fc.constantFrom(true, true, true, false)), 4],
      [answerForeignOffer, 1],
      [driverActsOnAnyRide, 1],
      [driverActsOnOwnRide(fc.constant('next')), 4],
      [driverActsOnOwnRide(fc.constant('cancel')), 1],
      [riderCancels, 1],
      [someoneReads, 1],
      [wait, 1],
    ),
    { maxCommands: MAX_COMMANDS, size: 'max' },
  ),
);

/** Somewhere in inner Paris. Runs are kept apart by the cleanup after each, not by distance. */
const base = fc.record({
  lat: fc.double({ min: 48.83, max: 48.89, noNaN: true }),
  lng: fc.double({ min: 2.29, max: 2.4, noNaN: true }),
});

const startOnline = fc.array(fc.boolean(), { minLength: DRIVERS, maxLength: DRIVERS });

describeEachBackend('the ride lifecycle under random actors, through the HTTP API', (backend) => {
  const bench: Bench = { t: undefined as unknown as TestPlatform, coverage: new Map() };
  beforeAll(async () => {
    bench.t = await startTestPlatform(backend, {
      PEAKRIDE_OFFER_TIMEOUT_SECONDS: String(OFFER_TIMEOUT_SECONDS),
      PEAKRIDE_SEARCH_WINDOW_SECONDS: String(SEARCH_WINDOW_SECONDS),
      // Random runs are short: a shortage must be matched within one, not after the default 1.5 s.
      PEAKRIDE_BATCH_WINDOW_MS: '100',
    });
  });
  afterAll(() => bench.t?.close());

  it('When riders and drivers act in any order on any ride, then every status change is legal, no driver holds two active rides, versions never go down and nothing answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(base, startOnline, commands, async (where, online, cmds) => {
        const world = new World(bench, where);
        await world.init(online);
        let passed = false;
        try {
          await fc.asyncModelRun(() => ({ model: world, real: world }), cmds);
          await world.refresh('the last command', { all: true });
          await world.checkEventLog();
          passed = true;
        } finally {
          await world.cleanup(passed);
        }
      }),
      {
        numRuns: NUM_RUNS,
        // Shrinking replays whole runs over HTTP: bound it so a failure is reported in time.
        plugins: [fc.interruptAfterTimeLimit(60_000, { failOnInterrupt: true })],
      },
    );
    console.info(`[${backend.name}] coverage: ${JSON.stringify(Object.fromEntries(bench.coverage))}`);
    // The runs must have exercised the machine, or passing would mean nothing.
    for (const what of ['booked', 'offered', 'searching->driver_assigned', 'foreign ride refused']) {
      expect(bench.coverage.get(what) ?? 0, `never ${what}`).toBeGreaterThan(0);
    }
  }, 90_000);
});
