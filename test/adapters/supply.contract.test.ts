import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRedisSupply, type RedisSupply } from '../../src/adapters/redis/supply.js';
import {
  type Candidate,
  createSupplyIndex,
  type DriverPosition,
  type NearestQuery,
  type SupplyState,
} from '../../src/dispatch/supply-index.js';
import { type BoundingBox, distanceMeters, isInside, type LatLng } from '../../src/domain/geo.js';
import type { SupplyPort } from '../../src/flows/ports.js';
import { silentLogger } from '../support/platform.js';

/**
 * One contract for every supply adapter: the in-memory index (writer and reader are the same
 * object) and the Redis-fed replicas (writer A and reader B, two processes on one stream). Every
 * case writes through `writer`, waits for `settle()`, and reads through `reader`.
 */

type LoadStates = (driverIds: string[]) => Promise<Map<string, SupplyState>>;

interface Replicas {
  writer: SupplyPort;
  reader: SupplyPort;
  /** Until the reader has applied every write the writer made. */
  settle(): Promise<void>;
  /** A process started now, after the writes: it builds its view from what is shared. */
  join(loadStates: LoadStates): Promise<SupplyPort>;
  close(): Promise<void>;
}

interface AdapterUnderTest {
  name: string;
  available: boolean;
  open(): Promise<Replicas>;
}

const redisUrl = process.env.REDIS_URL;
/** The window replayed at start; the virtual clock of the positions below is unrelated to it. */
const STREAM_STALE_AFTER_MS = 30_000;

const memoryAdapter: AdapterUnderTest = {
  name: 'in-memory index',
  available: true,
  async open() {
    const index = createSupplyIndex();
    return {
      writer: index,
      reader: index,
      settle: async () => {},
      join: async () => index,
      close: async () => {},
    };
  },
};

/** A prefix of its own per run, and every key under it deleted afterwards. */
const openRedisRun = () => {
  const prefix = `peakride-test-${randomBytes(6).toString('hex')}:`;
  const opened: RedisSupply[] = [];
  const open = async (options: { loadStates?: LoadStates } = {}) => {
    const supply = createRedisSupply({
      redis: { url: redisUrl! },
      prefix,
      staleAfterMs: STREAM_STALE_AFTER_MS,
      logger: silentLogger,
      reconcileEveryMs: 0,
      snapshotEveryMs: 0,
      ...options,
    });
    opened.push(supply);
    await supply.start();
    return supply;
  };
  const close = async () => {
    await Promise.all(opened.map((supply) => supply.close()));
    const admin = new Redis(redisUrl!);
    try {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    } finally {
      admin.disconnect();
    }
  };
  return { prefix, open, close };
};

/** Both ways, twice: the first round puts every write in Redis, the second catches up with them. */
const settleAll = async (...replicas: RedisSupply[]) => {
  await Promise.all(replicas.map((replica) => replica.settled()));
  await Promise.all(replicas.map((replica) => replica.settled()));
};

const redisAdapter: AdapterUnderTest = {
  name: redisUrl
    ? 'Redis replicas (writer A, reader B on one stream)'
    : 'Redis replicas — skipped: REDIS_URL is unset',
  available: Boolean(redisUrl),
  async open() {
    const run = openRedisRun();
    const a = await run.open();
    const b = await run.open();
    return {
      writer: a,
      reader: b,
      async settle() {
        await a.settled();
        await b.settled();
      },
      join: (loadStates) => run.open({ loadStates }),
      close: run.close,
    };
  },
};

// ---- the model: what every adapter must answer --------------------------------------------------

interface ModelEntry extends DriverPosition {
  state: SupplyState;
}
type Model = Map<string, ModelEntry>;

const modelUpsert = (model: Model, id: string, p: DriverPosition, state?: SupplyState) => {
  const e = model.get(id);
  if (e) {
    if (p.seenAtMs < e.seenAtMs) return;
    Object.assign(e, { lat: p.lat, lng: p.lng, heading: p.heading, seenAtMs: p.seenAtMs });
    if (state) e.state = state;
  } else model.set(id, { ...p, state: state ?? 'available' });
};

const bruteNearest = (model: Model, q: NearestQuery): Candidate[] => {
  const found: Candidate[] = [];
  for (const [driverId, e] of model) {
    if (e.state !== 'available' || q.nowMs - e.seenAtMs > q.staleAfterMs || q.exclude?.has(driverId))
      continue;
    const d = distanceMeters(q.point, e);
    if (d <= q.radiusMeters) found.push({ driverId, distanceMeters: d });
  }
  return found
    .sort((a, b) => a.distanceMeters - b.distanceMeters || (a.driverId < b.driverId ? -1 : 1))
    .slice(0, q.limit);
};

const boxAround = (point: LatLng, meters: number): BoundingBox => {
  const dLat = meters / 111_195;
  const dLng = meters / (111_195 * Math.cos((point.lat * Math.PI) / 180));
  return { south: point.lat - dLat, north: point.lat + dLat, west: point.lng - dLng, east: point.lng + dLng };
};

const bruteWithin = (model: Model, box: BoundingBox, nowMs: number, staleAfterMs: number): number =>
  [...model.values()].filter(
    (e) => e.state === 'available' && nowMs - e.seenAtMs <= staleAfterMs && isInside(box, e),
  ).length;

const statesOf =
  (model: Model): LoadStates =>
  async (driverIds) =>
    new Map(driverIds.flatMap((id) => (model.has(id) ? [[id, model.get(id)!.state] as const] : [])));

/** The reader holds exactly the model: every driver, every field, and the same answers to queries. */
const expectView = (
  supply: SupplyPort,
  model: Model,
  ids: Iterable<string>,
  queries: NearestQuery[] = [],
) => {
  for (const id of ids) {
    expect({ id, has: supply.has(id), held: supply.get(id) }).toEqual({
      id,
      has: model.has(id),
      held: model.get(id),
    });
  }
  for (const query of queries) {
    expect(supply.nearestAvailable(query)).toEqual(bruteNearest(model, query));
    const { limit: _limit, exclude: _exclude, ...area } = query;
    expect(supply.countAvailable(area)).toBe(bruteNearest(model, { ...query, limit: 1e9 }).length);
  }
  // Boxes around the query points, overlapping ones included, counted in one pass.
  const [first] = queries;
  if (first) {
    const areas = queries.map((query) => boxAround(query.point, query.radiusMeters));
    const { nowMs, staleAfterMs } = first;
    expect(supply.countAvailableWithin({ areas, nowMs, staleAfterMs })).toEqual(
      areas.map((box) => bruteWithin(model, box, nowMs, staleAfterMs)),
    );
  }
};

// ---- workload ---------------------------------------------------------------------------------

const NOW = Date.UTC(2025, 5, 12, 8, 0, 0);
const STALE_AFTER_MS = 30_000;
const paris: LatLng = { lat: 48.8566, lng: 2.3522 };
const near = (north: number, east: number): LatLng => ({
  lat: paris.lat + north / 111_195,
  lng: paris.lng + east / (111_195 * Math.cos((paris.lat * Math.PI) / 180)),
});
const at = (point: LatLng, seenAtMs = NOW, heading: number | null = null): DriverPosition => ({
  ...point,
  heading,
  seenAtMs,
});
const query = (point: LatLng, radiusMeters = 5_000, limit = 10): NearestQuery => ({
  point,
  radiusMeters,
  limit,
  nowMs: NOW,
  staleAfterMs: STALE_AFTER_MS,
});

/** Awkward ids on purpose: separators, quotes, non-ASCII; each run gets its own. */
const idPool = (run: string) =>
  Array.from({ length: 24 }, (_, i) => `${run}-${['d', 'x|y', 'q"u', 'é-ß', 'sp ace'][i % 5]}-${i}`);

const pointArb = fc
  .record({ north: fc.integer({ min: -4000, max: 4000 }), east: fc.integer({ min: -4000, max: 4000 }) })
  .map(({ north, east }) => near(north, east));
const stateArb = fc.constantFrom<SupplyState>('available', 'offered', 'on_ride');
const corruptArb = fc.constantFrom<Partial<DriverPosition>>(
  { lat: Number.NaN },
  { lng: Number.POSITIVE_INFINITY },
  { lat: 91 },
  { lng: -181 },
  { heading: Number.NaN },
  { seenAtMs: Number.NaN },
);

type Op =
  | { kind: 'upsert'; id: number; point: LatLng; ageMs: number; heading: number | null; state?: SupplyState }
  | { kind: 'corrupt'; id: number; point: LatLng; bad: Partial<DriverPosition> }
  | { kind: 'setState'; id: number; state: SupplyState }
  | { kind: 'remove'; id: number }
  | { kind: 'check' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('upsert' as const),
      id: fc.nat(23),
      point: pointArb,
      // Some stale (older than 30 s), and many out of order.
      ageMs: fc.integer({ min: 0, max: 45_000 }),
      heading: fc.option(fc.integer({ min: 0, max: 359 }), { nil: null }),
      state: fc.option(stateArb, { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('corrupt' as const),
      id: fc.nat(23),
      point: pointArb,
      bad: corruptArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('setState' as const), id: fc.nat(23), state: stateArb }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), id: fc.nat(23) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'check' as const }) },
);

const queryArb = fc.record({
  point: pointArb,
  radiusMeters: fc.integer({ min: 200, max: 6000 }),
  limit: fc.integer({ min: 1, max: 12 }),
});

const applyOp = (supply: SupplyPort, model: Model, ids: string[], op: Exclude<Op, { kind: 'check' }>) => {
  const id = ids[op.id]!;
  switch (op.kind) {
    case 'upsert': {
      const position = at(op.point, NOW - op.ageMs, op.heading);
      supply.upsert(id, position, op.state);
      modelUpsert(model, id, position, op.state);
      return;
    }
    case 'corrupt':
      expect(() => supply.upsert(id, { ...at(op.point), ...op.bad }, 'on_ride')).toThrow(/corrupt position/);
      return;
    case 'setState':
      supply.setState(id, op.state);
      if (model.has(id)) model.get(id)!.state = op.state;
      return;
    case 'remove':
      supply.remove(id);
      model.delete(id);
      return;
  }
};

// ---- the contract -------------------------------------------------------------------------------

const opened: Replicas[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((replicas) => replicas.close()));
});

const openReplicas = async (adapter: AdapterUnderTest) => {
  const replicas = await adapter.open();
  opened.push(replicas);
  return replicas;
};

for (const adapter of [memoryAdapter, redisAdapter]) {
  describe.skipIf(!adapter.available)(`supply contract: ${adapter.name}`, () => {
    it('When random writes are made, then every read agrees with a brute-force model of them', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 150, maxLength: 300 }),
          fc.array(queryArb, { minLength: 4, maxLength: 8 }),
          async (ops, queryShapes) => {
            const { writer, reader, settle, close } = await adapter.open();
            try {
              const ids = idPool(`run${run++}`);
              const model: Model = new Map();
              const queries = queryShapes.map((q) => query(q.point, q.radiusMeters, q.limit));
              for (const op of [...ops, { kind: 'check' as const }]) {
                if (op.kind !== 'check') {
                  applyOp(writer, model, ids, op);
                  continue;
                }
                await settle();
                expectView(reader, model, ids, queries);
                // Exclusions are honoured the same way.
                const exclude = new Set(ids.filter((_, i) => i % 3 === 0));
                for (const q of queries) {
                  expect(reader.nearestAvailable({ ...q, exclude })).toEqual(
                    bruteNearest(model, { ...q, exclude }),
                  );
                }
              }
            } finally {
              await close();
            }
          },
        ),
        { numRuns: 6 },
      );
    });

    it('When an older report arrives after a newer one, then the newer position and its state stay', async () => {
      const { writer, reader, settle } = await openReplicas(adapter);
      writer.upsert('late', at(near(0, 0), NOW, 90), 'available');
      writer.upsert('late', at(near(500, 500), NOW - 2_000, 180));
      writer.upsert('late', at(near(900, 900), NOW - 1_000), 'on_ride');
      await settle();
      expect(reader.get('late')).toEqual({ ...near(0, 0), heading: 90, seenAtMs: NOW, state: 'available' });
      expect(reader.nearestAvailable(query(near(0, 0), 100))).toEqual([
        { driverId: 'late', distanceMeters: 0 },
      ]);
    });

    it('When a position is corrupt, then upsert throws and nothing changes anywhere', async () => {
      const { writer, reader, settle } = await openReplicas(adapter);
      writer.upsert('kept', at(near(100, 100), NOW, 45), 'available');
      const corrupt: Array<Partial<DriverPosition>> = [
        { lat: Number.NaN },
        { lng: Number.NaN },
        { lat: Number.POSITIVE_INFINITY },
        { lng: Number.NEGATIVE_INFINITY },
        { lat: 91 },
        { lat: -90.5 },
        { lng: -181 },
        { lng: 180.01 },
        { heading: Number.NaN },
        { heading: Number.POSITIVE_INFINITY },
        { seenAtMs: Number.NaN },
      ];
      for (const bad of corrupt) {
        expect(() => writer.upsert('kept', { ...at(near(0, 0), NOW + 1_000), ...bad })).toThrow(
          /corrupt position/,
        );
        expect(() => writer.upsert('kept', { ...at(near(0, 0), NOW + 1_000), ...bad }, 'on_ride')).toThrow(
          /corrupt position/,
        );
        expect(() => writer.upsert('never', { ...at(near(0, 0)), ...bad }, 'available')).toThrow(
          /corrupt position/,
        );
      }
      // Nothing changed where the write was made...
      expect(writer.get('kept')).toEqual({
        ...near(100, 100),
        heading: 45,
        seenAtMs: NOW,
        state: 'available',
      });
      expect(writer.has('never')).toBe(false);
      // ...nor anywhere else.
      await settle();
      expect(reader.get('kept')).toEqual({
        ...near(100, 100),
        heading: 45,
        seenAtMs: NOW,
        state: 'available',
      });
      expect(reader.has('never')).toBe(false);
      expect(reader.countAvailable(query(near(0, 0), 1_000))).toBe(1);
    });

    it('When a driver goes silent for longer than the stale limit, then it drops out of matching', async () => {
      const { writer, reader, settle } = await openReplicas(adapter);
      writer.upsert('silent', at(near(0, 0), NOW - STALE_AFTER_MS - 1), 'available');
      writer.upsert('fresh', at(near(300, 0), NOW - STALE_AFTER_MS), 'available');
      await settle();
      expect(reader.nearestAvailable(query(near(0, 0)))).toEqual([
        { driverId: 'fresh', distanceMeters: expect.closeTo(300, 0) },
      ]);
      expect(reader.countAvailable(query(near(0, 0)))).toBe(1);
      // Still held (its state is known), and back in matching with its next report.
      expect(reader.has('silent')).toBe(true);
      writer.upsert('silent', at(near(0, 0), NOW));
      await settle();
      expect(reader.nearestAvailable(query(near(0, 0))).map((c) => c.driverId)).toEqual(['silent', 'fresh']);
    });

    it('When a driver is removed, then every read forgets it; going online again brings it back', async () => {
      const { writer, reader, settle } = await openReplicas(adapter);
      writer.upsert('gone', at(near(0, 0)), 'available');
      writer.upsert('stays', at(near(0, 200)), 'available');
      await settle();
      writer.remove('gone');
      writer.remove('never-was');
      await settle();
      expect(reader.has('gone')).toBe(false);
      expect(reader.get('gone')).toBeUndefined();
      expect(reader.nearestAvailable(query(near(0, 0))).map((c) => c.driverId)).toEqual(['stays']);
      // A state for a driver not held is a no-op.
      writer.setState('gone', 'available');
      await settle();
      expect(reader.has('gone')).toBe(false);
      writer.upsert('gone', at(near(0, 0), NOW + 1), 'offered');
      await settle();
      expect(reader.get('gone')).toEqual({
        ...near(0, 0),
        heading: null,
        seenAtMs: NOW + 1,
        state: 'offered',
      });
    });

    it('When a process starts after the writes, then it builds the same view, states from the database', async () => {
      const { writer, settle, join } = await openReplicas(adapter);
      const ids = idPool('boot');
      const model: Model = new Map();
      const ops = fc.sample(opArb, { numRuns: 200, seed: 7 });
      for (const op of ops) if (op.kind !== 'check') applyOp(writer, model, ids, op);
      await settle();
      const late = await join(statesOf(model));
      expectView(late, model, ids, [query(paris), query(near(2000, -1000), 1500, 3), query(paris, 6000, 50)]);
    });

    it('When a dispatcher reserves a driver, then its own next decision sees it at once', async () => {
      const { writer, reader, settle } = await openReplicas(adapter);
      writer.upsert('reserved', at(near(0, 0)), 'available');
      writer.upsert('other', at(near(0, 500)), 'available');
      writer.setState('reserved', 'offered');
      // No waiting: the same process, the next read.
      expect(writer.get('reserved')?.state).toBe('offered');
      expect(writer.nearestAvailable(query(near(0, 0))).map((c) => c.driverId)).toEqual(['other']);
      await settle();
      expect(reader.get('reserved')?.state).toBe('offered');
      expect(reader.nearestAvailable(query(near(0, 0))).map((c) => c.driverId)).toEqual(['other']);
    });
  });
}

// ---- what only the Redis replicas have to get right ---------------------------------------------------

const clientIdByName = async (admin: Redis, name: string): Promise<string | undefined> => {
  const list = (await admin.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  return line?.match(/^id=(\d+)/)?.[1];
};

describe.skipIf(!redisUrl)(
  redisUrl ? 'Redis supply replicas' : 'Redis supply replicas — skipped: REDIS_URL is unset',
  () => {
    const runs: Array<ReturnType<typeof openRedisRun>> = [];
    const admin = redisUrl ? new Redis(redisUrl) : undefined;
    afterAll(async () => {
      await Promise.all(runs.splice(0).map((run) => run.close()));
      admin?.disconnect();
    });
    const newRun = () => {
      const run = openRedisRun();
      runs.push(run);
      return run;
    };

    it("When the reader's connection is killed mid-way, then it catches up after reconnecting", async () => {
      const run = newRun();
      const a = await run.open();
      const b = await run.open();
      const ids = idPool('kill');
      const model: Model = new Map();
      const ops = fc.sample(opArb, { numRuns: 400, seed: 11 }).filter((op) => op.kind !== 'check');
      for (const op of ops.slice(0, 200)) applyOp(a, model, ids, op);
      await settleAll(a, b);
      expectView(b, model, ids);

      const name = `${run.prefix}supply-reader-${b.origin}`;
      const before = await clientIdByName(admin!, name);
      expect(before).toBeDefined();
      await admin!.client('KILL', 'ID', before!);
      // Written while B is away.
      for (const op of ops.slice(200)) applyOp(a, model, ids, op);
      await settleAll(a, b);
      expectView(b, model, ids, [query(paris), query(near(-1500, 1500), 2000, 4)]);
      const after = await clientIdByName(admin!, name);
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
      expect(b.healthy).toBe(true);
      expect(b.stats.gaps).toBe(0);
    });

    it("When the writer's connection is lost, then writes apply locally, count as failed, and it heals", async () => {
      const run = newRun();
      const a = await run.open();
      const b = await run.open();
      a.upsert('steady', at(near(0, 0)), 'available');
      await settleAll(a, b);
      await admin!.client(
        'KILL',
        'ID',
        (await clientIdByName(admin!, `${run.prefix}supply-writer-${a.origin}`))!,
      );
      a.upsert('unsent', at(near(0, 100)), 'available');
      a.setState('steady', 'offered');
      // Reads answer from the replica meanwhile.
      expect(a.get('steady')?.state).toBe('offered');
      expect(a.nearestAvailable(query(near(0, 0))).map((c) => c.driverId)).toEqual(['unsent']);
      await vi.waitFor(() => expect(a.stats.publishFailures).toBe(2));
      expect(a.healthy).toBe(false);
      await vi.waitFor(() => expect(a.healthy).toBe(true), { timeout: 5_000 });
      // Back: the next writes flow again.
      a.upsert('sent', at(near(0, 200)), 'available');
      await settleAll(a, b);
      expect([b.has('unsent'), b.has('sent'), b.get('steady')?.state]).toEqual([false, true, 'available']);
      expect(a.stats.publishFailures).toBe(2);
    });

    it('When entries a reader had not read were trimmed, then it re-reads the states from the database', async () => {
      const run = newRun();
      const truth: Model = new Map();
      const a = await run.open();
      const b = await run.open({ loadStates: statesOf(truth) });
      a.upsert('trimmed', at(near(0, 0)), 'available');
      modelUpsert(truth, 'trimmed', at(near(0, 0)), 'available');
      await settleAll(a, b);

      await admin!.client(
        'KILL',
        'ID',
        (await clientIdByName(admin!, `${run.prefix}supply-reader-${b.origin}`))!,
      );
      a.setState('trimmed', 'on_ride');
      truth.get('trimmed')!.state = 'on_ride';
      await a.settled();
      // Everything goes before B is back (it reconnects after about 100 ms).
      await admin!.xtrim(`${run.prefix}supply`, 'MINID', `${Date.now() + 60_000}`);

      await vi.waitFor(() => expect(b.get('trimmed')?.state).toBe('on_ride'), { timeout: 5_000 });
      expect(b.stats.gaps).toBe(1);
      expect(b.healthy).toBe(true);
    });

    it("When two processes write one driver's state at once, then both end with the same state", async () => {
      const run = newRun();
      const a = await run.open();
      const b = await run.open();
      const pairs: Array<[SupplyState, SupplyState]> = [
        ['offered', 'on_ride'],
        ['on_ride', 'available'],
        ['available', 'offered'],
      ];
      for (const [i, [fromA, fromB]] of pairs.entries()) {
        const id = `contended-${i}`;
        a.upsert(id, at(near(0, i * 100)), 'available');
        await settleAll(a, b);
        // Same turn of the event loop: neither has seen the other's write.
        a.setState(id, fromA);
        b.setState(id, fromB);
        expect([a.get(id)?.state, b.get(id)?.state]).toEqual([fromA, fromB]);
        await settleAll(a, b);
        expect(a.get(id)?.state).toBe(b.get(id)?.state);
      }
    });

    it('When a removal crosses a position already in flight, then the driver stays removed everywhere', async () => {
      const run = newRun();
      const a = await run.open();
      const b = await run.open();
      const c = await run.open();
      a.upsert('leaving', at(near(0, 0)), 'available');
      await settleAll(a, b, c);
      // C is cut off (it reconnects after about 100 ms), so it has not seen B take the driver
      // offline when it records a new position: the position lands after the removal.
      await admin!.client(
        'KILL',
        'ID',
        (await clientIdByName(admin!, `${run.prefix}supply-reader-${c.origin}`))!,
      );
      b.remove('leaving');
      await b.settled();
      expect(c.has('leaving')).toBe(true);
      c.upsert('leaving', at(near(10, 10), NOW + 4_000));
      await settleAll(a, b, c);
      expect([a.has('leaving'), b.has('leaving'), c.has('leaving')]).toEqual([false, false, false]);
    });

    it('When a snapshot was written, then a new replica starts from it and the entries after it', async () => {
      const run = newRun();
      const a = await run.open();
      const ids = idPool('snap');
      const model: Model = new Map();
      const ops = fc.sample(opArb, { numRuns: 400, seed: 23 }).filter((op) => op.kind !== 'check');
      for (const op of ops.slice(0, 250)) applyOp(a, model, ids, op);
      await a.settled();
      // Half of these land while the snapshot is being written.
      for (const op of ops.slice(250, 300)) applyOp(a, model, ids, op);
      const writing = a.snapshot();
      for (const op of ops.slice(300)) applyOp(a, model, ids, op);
      expect(await writing).toBe(true);
      await a.settled();
      const late = await run.open({ loadStates: statesOf(model) });
      expect(late.stats.fromSnapshot).toBeGreaterThan(0);
      expectView(late, model, ids, [query(paris), query(near(2000, -1000), 1500, 3), query(paris, 6000, 50)]);
    });

    it("When a snapshot's following entries were trimmed, then a new replica ignores it", async () => {
      const run = newRun();
      const a = await run.open();
      a.upsert('before', at(near(0, 0)), 'available');
      await a.settled();
      expect(await a.snapshot()).toBe(true);
      a.upsert('after', at(near(0, 100)), 'available');
      await a.settled();
      // Keeps only the last entry: the one the snapshot is tagged with is gone.
      const [newest] = await admin!.xrevrange(`${run.prefix}supply`, '+', '-', 'COUNT', 1);
      await admin!.xtrim(`${run.prefix}supply`, 'MINID', newest![0]);
      const late = await run.open();
      expect(late.stats.fromSnapshot).toBe(0);
      expect([late.has('before'), late.has('after')]).toEqual([false, true]);
    });

    it('When the database disagrees with the stream at start, then the database wins', async () => {
      const run = newRun();
      const a = await run.open();
      a.upsert('busy', at(near(0, 0)), 'available');
      a.upsert('offline', at(near(0, 100)), 'available');
      a.upsert('free', at(near(0, 200)), 'offered');
      await a.settled();
      // A write lost on its way, and a driver who went offline without a word.
      const late = await run.open({
        loadStates: async (ids) => {
          expect(new Set(ids)).toEqual(new Set(['busy', 'offline', 'free']));
          return new Map<string, SupplyState>([
            ['busy', 'on_ride'],
            ['free', 'available'],
          ]);
        },
      });
      expect(late.get('busy')?.state).toBe('on_ride');
      expect(late.has('offline')).toBe(false);
      expect(late.nearestAvailable(query(near(0, 0))).map((c) => c.driverId)).toEqual(['free']);
    });

    it('When a write is made before start(), then it is refused', async () => {
      const supply = createRedisSupply({
        redis: { url: redisUrl! },
        prefix: 'peakride-test-unused:',
        staleAfterMs: STREAM_STALE_AFTER_MS,
        logger: silentLogger,
      });
      expect(() => supply.upsert('early', at(paris))).toThrow(/start\(\)/);
      await supply.close();
    });
  },
);

describe('Redis supply without a Redis', () => {
  it('When Redis is unreachable at start, then start() rejects within a few seconds, naming it', async () => {
    const supply = createRedisSupply({
      // Nothing listens on port 1.
      redis: { url: 'redis://127.0.0.1:1' },
      prefix: 'peakride-test-unreachable:',
      staleAfterMs: STREAM_STALE_AFTER_MS,
      logger: silentLogger,
      connectTimeoutMs: 1_000,
    });
    const startedAt = Date.now();
    await expect(supply.start()).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:1.* is unreachable/);
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(supply.healthy).toBe(false);
    await supply.close();
  });
});
