import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  createSupplyIndex,
  type DriverPosition,
  type NearestQuery,
  type SupplyIndexOptions,
  type SupplyState,
} from '../../src/dispatch/supply-index.js';
import { distanceMeters, type LatLng } from '../../src/domain/geo.js';

/**
 * The index against a brute-force scan over a plain Map: same drivers, same order. Ties in
 * distance are broken by driver id, ascending (the index's documented order).
 */

interface ModelEntry extends DriverPosition {
  state: SupplyState;
}
type Model = Map<string, ModelEntry>;

type Query = NearestQuery;

const inRadius = (model: Model, q: Omit<Query, 'limit' | 'exclude'> & { exclude?: ReadonlySet<string> }) => {
  const found: Candidate[] = [];
  for (const [driverId, e] of model) {
    if (e.state !== 'available') continue;
    if (q.nowMs - e.seenAtMs > q.staleAfterMs) continue;
    if (q.exclude?.has(driverId)) continue;
    const d = distanceMeters(q.point, e);
    if (d <= q.radiusMeters) found.push({ driverId, distanceMeters: d });
  }
  return found;
};

const bruteNearest = (model: Model, q: Query): Candidate[] =>
  inRadius(model, q)
    .sort((a, b) => a.distanceMeters - b.distanceMeters || (a.driverId < b.driverId ? -1 : 1))
    .slice(0, q.limit);

const modelUpsert = (model: Model, id: string, p: DriverPosition, state?: SupplyState) => {
  const e = model.get(id);
  if (e) {
    if (p.seenAtMs < e.seenAtMs) return;
    Object.assign(e, { lat: p.lat, lng: p.lng, heading: p.heading, seenAtMs: p.seenAtMs });
    if (state) e.state = state;
  } else model.set(id, { ...p, state: state ?? 'available' });
};

const paris = { lat: 48.8566, lng: 2.3522 };
const london = { lat: 51.5072, lng: -0.1276 };
const newYork = { lat: 40.7128, lng: -74.006 };
/** Across the antimeridian (Fiji) and near the pole: the corner cases of the grid. */
const taveuni = { lat: -16.85, lng: 179.999 };
const northPole = { lat: 89.995, lng: 30 };

const wrapLng = (lng: number): number => (lng > 180 ? lng - 360 : lng < -180 ? lng + 360 : lng);

const metresNorth = (p: LatLng, north: number, east: number): LatLng => {
  const lat = Math.max(-90, Math.min(90, p.lat + north / 111_195));
  let lng = p.lng + east / (111_195 * Math.max(0.01, Math.cos((p.lat * Math.PI) / 180)));
  if (lng > 180) lng -= 360;
  if (lng < -180) lng += 360;
  return { lat, lng };
};

/** Points around the given centres: integer metres (many ties), free doubles, or on grid lines. */
const pointNear = (centres: LatLng[], spreadMeters: number): fc.Arbitrary<LatLng> =>
  fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...centres),
        fc.integer({ min: -spreadMeters / 50, max: spreadMeters / 50 }),
        fc.integer({ min: -spreadMeters / 50, max: spreadMeters / 50 }),
      )
      .map(([c, n, e]) => metresNorth(c, n * 50, e * 50)),
    fc
      .tuple(
        fc.constantFrom(...centres),
        fc.double({ min: -spreadMeters, max: spreadMeters, noNaN: true }),
        fc.double({ min: -spreadMeters, max: spreadMeters, noNaN: true }),
      )
      .map(([c, n, e]) => metresNorth(c, n, e)),
    // On or just off the default grid's lines, or the lines of its sub-cells once split, where
    // rounding decides the cell and the search decides whether to look at the next ring.
    fc
      .tuple(
        fc.constantFrom(...centres),
        fc.integer({ min: -8, max: 8 }),
        fc.integer({ min: -8, max: 8 }),
        fc.oneof(fc.constant(0), fc.double({ min: -2e-4, max: 2e-4, noNaN: true })),
        fc.oneof(fc.constant(0), fc.double({ min: -2e-4, max: 2e-4, noNaN: true })),
        fc.constantFrom(1, 2, 4, 16),
      )
      .map(([c, r, k, jLat, jLng, split]) => {
        const rows = 256 * split;
        const cols = 192 * split;
        const lat = Math.max(-90, Math.min(90, Math.round(c.lat * rows) / rows + r / rows + jLat / split));
        let lng = Math.round(c.lng * cols) / cols + k / cols + jLng / split;
        if (lng > 180) lng -= 360;
        if (lng < -180) lng += 360;
        return { lat, lng };
      }),
  );

const ids = Array.from({ length: 24 }, (_, i) => `d${i.toString().padStart(2, '0')}`);
const driverId = fc.constantFrom(...ids);
const state = fc.constantFrom<SupplyState>('available', 'offered', 'on_ride');
/** A narrow range, so equal timestamps (which do overwrite) come up often. */
const seenAt = fc.integer({ min: 0, max: 40 }).map((t) => t * 2_500);
const heading = fc.option(fc.integer({ min: 0, max: 359 }), { nil: null });

const invalidPosition: fc.Arbitrary<Partial<DriverPosition>> = fc.constantFrom(
  { lat: Number.NaN },
  { lat: Number.POSITIVE_INFINITY },
  { lat: 90.000001 },
  { lat: -91 },
  { lng: 180.5 },
  { lng: Number.NEGATIVE_INFINITY },
  { lng: Number.NaN },
  { seenAtMs: Number.NaN },
  { seenAtMs: Number.POSITIVE_INFINITY },
  { heading: Number.NaN },
);

type Op =
  | { t: 'upsert'; id: string; p: LatLng; heading: number | null; seenAt: number; state?: SupplyState }
  | {
      t: 'move';
      id: string;
      north: number;
      east: number;
      seenAt: number;
      heading: number | null;
      byHandle: boolean;
    }
  | { t: 'invalid'; id: string; p: LatLng; bad: Partial<DriverPosition>; seenAt: number; byHandle: boolean }
  | { t: 'badHandle'; handle: number; p: LatLng; seenAt: number }
  | { t: 'state'; id: string; state: SupplyState }
  | { t: 'remove'; id: string }
  | { t: 'query'; q: Query }
  | { t: 'edge'; from: string; to: string; north: number; east: number; limit: number; nowMs: number }
  | { t: 'count'; q: Query };

const radius = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 3, arbitrary: fc.double({ min: 0, max: 6_000, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(50_000, 2_000_000, 1e8, Number.POSITIVE_INFINITY) },
);

const ops = (centres: LatLng[], spreadMeters = 3_000): fc.Arbitrary<Op[]> => {
  const point = pointNear(centres, spreadMeters);
  const query: fc.Arbitrary<Query> = fc.record({
    point: pointNear(centres, spreadMeters + 500),
    radiusMeters: radius,
    limit: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(1.5, 100, Number.POSITIVE_INFINITY)),
    nowMs: fc.integer({ min: 0, max: 120_000 }),
    staleAfterMs: fc.oneof(fc.integer({ min: 0, max: 60_000 }), fc.constant(1e9)),
    exclude: fc.option(
      fc.uniqueArray(driverId, { maxLength: 6 }).map((xs) => new Set(xs)),
      { nil: undefined },
    ),
  });
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record(
        { t: fc.constant('upsert' as const), id: driverId, p: point, heading, seenAt, state },
        { requiredKeys: ['t', 'id', 'p', 'heading', 'seenAt'] },
      ),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        t: fc.constant('move' as const),
        id: driverId,
        north: fc.integer({ min: -700, max: 700 }),
        east: fc.integer({ min: -700, max: 700 }),
        seenAt,
        heading,
        byHandle: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('invalid' as const),
        id: driverId,
        p: point,
        bad: invalidPosition,
        seenAt,
        byHandle: fc.boolean(),
      }),
    },
    {
      // Handles no driver can hold: absent, past the slots, not an integer.
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('badHandle' as const),
        handle: fc.constantFrom(-1, -2, 1_000_000, 0.5, Number.NaN),
        p: point,
        seenAt,
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('state' as const), id: driverId, state }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), id: driverId }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('query' as const), q: query }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('count' as const), q: query }) },
    {
      // A radius exactly the distance to some driver: the boundary cases of every bound.
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('edge' as const),
        from: driverId,
        to: driverId,
        north: fc.integer({ min: -300, max: 300 }),
        east: fc.integer({ min: -300, max: 300 }),
        limit: fc.integer({ min: 1, max: 8 }),
        nowMs: fc.integer({ min: 0, max: 120_000 }),
      }),
    },
  );
  return fc.array(op, { minLength: 1, maxLength: 120 });
};

const run = (options: SupplyIndexOptions | undefined, sequence: Op[]) => {
  const index = createSupplyIndex(options);
  const model: Model = new Map();
  /** Each present driver's handle, as first seen: it must not change while the driver stays. */
  const handles = new Map<string, number>();
  const handleOf = (id: string): number => {
    const handle = index.handleOf(id);
    if (!model.has(id)) {
      expect(handle).toBe(-1);
      return handle;
    }
    expect(handle).toBeGreaterThanOrEqual(0);
    if (!handles.has(id)) handles.set(id, handle);
    expect(handle).toBe(handles.get(id));
    return handle;
  };
  const check = (q: Query) => {
    const expected = bruteNearest(model, q);
    const actual = index.nearestAvailable(q);
    expect(actual).toEqual(expected);
    expect(actual.length).toBeLessThanOrEqual(q.limit);
    for (const c of actual) {
      expect(c.distanceMeters).toBeLessThanOrEqual(q.radiusMeters);
      expect(q.exclude?.has(c.driverId) ?? false).toBe(false);
    }
  };
  for (const op of sequence) {
    switch (op.t) {
      case 'upsert': {
        const p = { ...op.p, heading: op.heading, seenAtMs: op.seenAt };
        index.upsert(op.id, p, op.state);
        modelUpsert(model, op.id, p, op.state);
        break;
      }
      case 'move': {
        const current = model.get(op.id);
        if (!current) break;
        const p = { ...metresNorth(current, op.north, op.east), heading: op.heading, seenAtMs: op.seenAt };
        if (op.byHandle) {
          const taken = index.move(handleOf(op.id), p.lat, p.lng, p.heading, p.seenAtMs);
          expect(taken).toBe(p.seenAtMs >= current.seenAtMs);
        } else index.upsert(op.id, p);
        modelUpsert(model, op.id, p);
        break;
      }
      case 'invalid': {
        const before = index.get(op.id);
        const size = index.size;
        const p = { ...op.p, heading: 90, seenAtMs: op.seenAt, ...op.bad };
        if (op.byHandle && model.has(op.id)) {
          expect(() => index.move(handleOf(op.id), p.lat, p.lng, p.heading, p.seenAtMs)).toThrow(
            /corrupt position/,
          );
        } else expect(() => index.upsert(op.id, p, 'on_ride')).toThrow(/corrupt position/);
        expect(index.get(op.id)).toEqual(before);
        expect(index.size).toBe(size);
        break;
      }
      case 'badHandle': {
        const size = index.size;
        expect(() => index.move(op.handle, op.p.lat, op.p.lng, null, op.seenAt)).toThrow(
          /no driver holds handle/,
        );
        expect(index.size).toBe(size);
        break;
      }
      case 'state':
        index.setState(op.id, op.state);
        {
          const e = model.get(op.id);
          if (e) e.state = op.state;
        }
        break;
      case 'remove': {
        const handle = index.handleOf(op.id);
        index.remove(op.id);
        model.delete(op.id);
        handles.delete(op.id);
        expect(index.handleOf(op.id)).toBe(-1);
        // Until a new driver takes the slot, the old handle is refused.
        if (handle !== -1) expect(() => index.move(handle, 0, 0, null, 0)).toThrow(/no driver holds handle/);
        break;
      }
      case 'query':
        check(op.q);
        break;
      case 'edge': {
        const from = model.get(op.from);
        const to = model.get(op.to);
        if (!from || !to) break;
        const point = metresNorth(from, op.north, op.east);
        const radiusMeters = distanceMeters(point, to);
        const q = { point, radiusMeters, limit: op.limit, nowMs: op.nowMs, staleAfterMs: 30_000 };
        check(q);
        expect(index.countAvailable(q)).toBe(inRadius(model, q).length);
        break;
      }
      case 'count':
        expect(index.countAvailable(op.q)).toBe(inRadius(model, { ...op.q, exclude: undefined }).length);
        break;
    }
    expect(index.size).toBe(model.size);
  }
  // Whatever happened, the index holds exactly the model's drivers, and a wide query agrees.
  for (const id of ids) {
    const e = model.get(id);
    expect(index.has(id)).toBe(e !== undefined);
    expect(index.get(id)).toEqual(e);
    handleOf(id);
  }
  for (const centre of [paris, london, newYork]) {
    check({ point: centre, radiusMeters: 10_000, limit: 50, nowMs: 100_000, staleAfterMs: 1e9 });
  }
};

const cityOps = ops([paris, london, newYork]);
const grids: (SupplyIndexOptions | undefined)[] = [
  undefined,
  // Coarse cells (about 7 km): every query searches rings.
  { cellsPerDegreeLat: 16, cellsPerDegreeLng: 16, initialCapacity: 1 },
  // Fine cells (about 50 m): many rings, and the full scan for wide radii.
  { cellsPerDegreeLat: 2048, cellsPerDegreeLng: 1536 },
  // Cells split as soon as they hold two drivers, and merge back as they empty.
  { splitAbove: 1 },
  // Coarse cells split up to 64 × 64: sub-cells of about 100 m.
  { cellsPerDegreeLat: 16, cellsPerDegreeLng: 16, splitAbove: 1, maxSplits: 6 },
];

describe('supply index against a brute-force scan', () => {
  it('When drivers in Paris, London and New York report, change state and leave, then every query matches a brute-force scan', () => {
    for (const options of grids) {
      fc.assert(
        fc.property(cityOps, (sequence) => run(options, sequence)),
        { numRuns: 150 },
      );
    }
  });

  it('When drivers are around the antimeridian or the pole, then queries still match a brute-force scan', () => {
    for (const options of [undefined, { splitAbove: 1 }]) {
      fc.assert(
        fc.property(ops([taveuni, northPole], 800), (sequence) => run(options, sequence)),
        { numRuns: 150 },
      );
    }
  });

  it('When many drivers crowd a few cells, then the nearest are found without scanning every ring', () => {
    // The default split, and cells split as far as they go: sub-cells of a few metres around the stacks.
    for (const options of [undefined, { splitAbove: 2, maxSplits: 6 }]) {
      crowd(options);
    }
  });
  const crowd = (options: SupplyIndexOptions | undefined) =>
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(
              pointNear([paris, london], 1_500),
              // Stacks of drivers at the same spot: ties at the limit's cut.
              fc.constantFrom(
                ...[paris, london].flatMap((c) => [c, metresNorth(c, 120, -80), metresNorth(c, -300, 40)]),
              ),
            ),
            state,
          ),
          { minLength: 50, maxLength: 400 },
        ),
        fc.array(
          fc.record({
            point: pointNear([paris, london], 2_000),
            pick: fc.nat(),
            limit: fc.integer({ min: 1, max: 15 }),
            wide: fc.boolean(),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (drivers, queries) => {
          const index = createSupplyIndex(options);
          const model: Model = new Map();
          drivers.forEach(([p, s], i) => {
            const position = { ...p, heading: null, seenAtMs: i };
            // Ids in no particular order relative to insertion, so ties are met in every order.
            const id = `x${(i * 7_919) % 1_000}`;
            index.upsert(id, position, s);
            modelUpsert(model, id, position, s);
          });
          for (const { point, pick, limit, wide } of queries) {
            const target = drivers[pick % drivers.length]![0];
            const radiusMeters = wide ? 3_000 : distanceMeters(point, target);
            const q = { point, radiusMeters, limit, nowMs: 400, staleAfterMs: 300 };
            expect(index.nearestAvailable(q)).toEqual(bruteNearest(model, q));
            expect(index.countAvailable(q)).toBe(inRadius(model, q).length);
          }
        },
      ),
      { numRuns: 100 },
    );

  it('When a driver just across an edge of the pickup cell is nearer than the best inside it, then the search looks at the next ring', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(paris, london, newYork, taveuni),
        fc.constantFrom('north', 'south', 'east', 'west'),
        fc.double({ min: 0.5, max: 150, noNaN: true }),
        fc.oneof(
          fc.double({ min: 1e-4, max: 1e-2, noNaN: true }),
          fc.double({ min: 0.01, max: 2, noNaN: true }),
        ),
        fc.oneof(
          fc.double({ min: 1e-4, max: 1e-2, noNaN: true }),
          fc.double({ min: 0.01, max: 5, noNaN: true }),
        ),
        (centre, side, gap, across, further) => {
          // The pickup sits `gap` metres from a grid line; driver B is just across it, driver A
          // in the pickup's own cell, on the other side and a little further away.
          const latLine = Math.round(centre.lat * 256) / 256;
          const lngLine = Math.round(centre.lng * 192) / 192;
          const mLat = 1 / 111_195;
          const mLng = 1 / (111_195 * Math.cos((latLine * Math.PI) / 180));
          const sign = side === 'north' || side === 'east' ? 1 : -1;
          const alongLat = side === 'north' || side === 'south';
          const place = (offsetMeters: number): LatLng =>
            alongLat
              ? { lat: latLine + sign * offsetMeters * mLat, lng: centre.lng }
              : { lat: centre.lat, lng: wrapLng(lngLine + sign * offsetMeters * mLng) };
          const pickup = place(-gap);
          const b = place(across);
          const a = place(-2 * gap - across - further);
          const index = createSupplyIndex();
          const model: Model = new Map();
          for (const [id, p] of [
            ['a', a],
            ['b', b],
          ] as const) {
            index.upsert(id, { ...p, heading: null, seenAtMs: 0 });
            modelUpsert(model, id, { ...p, heading: null, seenAtMs: 0 });
          }
          for (const limit of [1, 2]) {
            const q = { point: pickup, radiusMeters: 2_000, limit, nowMs: 0, staleAfterMs: 1 };
            const expected = bruteNearest(model, q);
            expect(expected[0]?.driverId).toBe('b');
            expect(index.nearestAvailable(q)).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('supply index, examples', () => {
  const at = (p: LatLng, seenAtMs = 0, h: number | null = null): DriverPosition => ({
    ...p,
    heading: h,
    seenAtMs,
  });
  const query = (point: LatLng, extra: Partial<Query> = {}): Query => ({
    point,
    radiusMeters: 2_000,
    limit: 10,
    nowMs: 1_000,
    staleAfterMs: 30_000,
    ...extra,
  });

  it('When two drivers are equally far, then the one with the smaller id comes first', () => {
    const index = createSupplyIndex();
    const spot = metresNorth(paris, 300, 0);
    index.upsert('b', at(spot));
    index.upsert('a', at(spot));
    index.upsert('c', at(metresNorth(paris, 100, 0)));
    expect(index.nearestAvailable(query(paris)).map((c) => c.driverId)).toEqual(['c', 'a', 'b']);
    // A stack of drivers at one spot, cut by the limit: the smallest ids win, whatever the order they came in.
    for (const id of ['s3', 's1', 's4', 's0', 's2']) index.upsert(id, at(metresNorth(paris, -50, 0)));
    for (let limit = 1; limit <= 5; limit++) {
      expect(index.nearestAvailable(query(paris, { limit })).map((c) => c.driverId)).toEqual(
        ['s0', 's1', 's2', 's3', 's4'].slice(0, limit),
      );
    }
  });

  it('When a driver drives across town, then they are found at the new place only', () => {
    const index = createSupplyIndex();
    index.upsert('d', at(paris, 0, 90));
    for (let i = 1; i <= 100; i++) index.upsert('d', at(metresNorth(paris, i * 100, 0), i));
    expect(index.nearestAvailable(query(paris))).toEqual([]);
    const [found] = index.nearestAvailable(query(metresNorth(paris, 10_000, 0)));
    expect(found?.driverId).toBe('d');
    expect(found?.distanceMeters).toBeLessThan(1);
    expect(index.get('d')).toMatchObject({ heading: null, seenAtMs: 100, state: 'available' });
  });

  it('When an older report arrives after a newer one, then it is ignored, state included', () => {
    const index = createSupplyIndex();
    index.upsert('d', at(paris, 500));
    index.upsert('d', at(london, 400), 'on_ride');
    expect(index.get('d')).toEqual({ ...paris, heading: null, seenAtMs: 500, state: 'available' });
  });

  it('When a position is corrupt, then upsert throws a clear error and changes nothing', () => {
    const index = createSupplyIndex();
    index.upsert('d', at(paris, 1));
    expect(() => index.upsert('d', at({ lat: Number.NaN, lng: 2 }, 2))).toThrow(
      /refusing a corrupt position for driver d: lat=NaN/,
    );
    expect(() => index.upsert('e', at({ lat: 48, lng: 200 }, 2))).toThrow(Error);
    expect(index.get('d')).toEqual({ ...paris, heading: null, seenAtMs: 1, state: 'available' });
    expect(index.has('e')).toBe(false);
    expect(index.size).toBe(1);
  });

  it('When a driver moves by handle, then the index holds what an upsert would, and an older report is ignored', () => {
    const index = createSupplyIndex();
    expect(index.handleOf('d')).toBe(-1);
    index.upsert('d', at(paris, 10), 'offered');
    const handle = index.handleOf('d');
    const there = metresNorth(paris, 900, -400);
    expect(index.move(handle, there.lat, there.lng, 45, 20)).toBe(true);
    expect(index.get('d')).toEqual({ ...there, heading: 45, seenAtMs: 20, state: 'offered' });
    expect(index.move(handle, paris.lat, paris.lng, null, 19)).toBe(false);
    expect(index.get('d')).toEqual({ ...there, heading: 45, seenAtMs: 20, state: 'offered' });
    index.setState('d', 'available');
    const [found] = index.nearestAvailable(query(there, { nowMs: 20 }));
    expect(found?.driverId).toBe('d');
    expect(index.handleOf('d')).toBe(handle);
  });

  it('When a report by handle is corrupt or no driver holds the handle, then move throws and changes nothing', () => {
    const index = createSupplyIndex();
    index.upsert('d', at(paris, 1));
    const handle = index.handleOf('d');
    expect(() => index.move(handle, Number.NaN, 2, null, 2)).toThrow(
      /refusing a corrupt position for driver d: lat=NaN/,
    );
    expect(() => index.move(handle, 48, 2, Number.POSITIVE_INFINITY, 2)).toThrow(/corrupt position/);
    expect(() => index.move(handle, 48, 2, null, Number.NaN)).toThrow(/corrupt position/);
    expect(() => index.move(handle + 1, 48, 2, null, 2)).toThrow(/no driver holds handle/);
    expect(index.get('d')).toEqual({ ...paris, heading: null, seenAtMs: 1, state: 'available' });
    index.remove('d');
    expect(() => index.move(handle, 48, 2, null, 2)).toThrow(/no driver holds handle/);
    expect(index.size).toBe(0);
  });

  it('When a crowd gathers in one cell and disperses again, then the cell splits and merges and queries stay right', () => {
    const index = createSupplyIndex();
    const model: Model = new Map();
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const put = (id: string, p: LatLng, t: number) => {
      index.upsert(id, at(p, t), t % 5 === 0 ? 'on_ride' : 'available');
      modelUpsert(model, id, at(p, t), t % 5 === 0 ? 'on_ride' : 'available');
    };
    const check = (t: number) => {
      for (const radiusMeters of [30, 150, 1_000]) {
        const point = metresNorth(paris, random() * 300 - 150, random() * 300 - 150);
        const q = query(point, { radiusMeters, limit: 12, nowMs: t, staleAfterMs: 1e9 });
        expect(index.nearestAvailable(q)).toEqual(bruteNearest(model, q));
        expect(index.countAvailable(q)).toBe(inRadius(model, q).length);
      }
    };
    // Up to 2,000 drivers within 100 m: far past the default split of 16 per (sub-)cell.
    for (let i = 0; i < 2_000; i++) {
      put(`c${i}`, metresNorth(paris, random() * 200 - 100, random() * 200 - 100), i);
      if (i % 97 === 0) check(i);
    }
    // They leave for a few kilometres around, in turns, and some come back.
    for (let t = 2_000; t < 8_000; t++) {
      const id = `c${Math.floor(random() * 2_000)}`;
      const away = random() < 0.8;
      put(
        id,
        metresNorth(paris, (random() - 0.5) * (away ? 6_000 : 200), (random() - 0.5) * (away ? 6_000 : 200)),
        t,
      );
      if (t % 211 === 0) check(t);
    }
    for (let i = 0; i < 2_000; i += 2) {
      index.remove(`c${i}`);
      model.delete(`c${i}`);
    }
    check(8_000);
    for (const [id, e] of model) expect(index.get(id)).toEqual(e);
  });

  it('When a driver is silent longer than staleAfterMs, then they drop out of matching until they report', () => {
    const index = createSupplyIndex();
    index.upsert('d', at(paris, 0));
    expect(index.nearestAvailable(query(paris, { nowMs: 30_000 }))).toHaveLength(1);
    expect(index.nearestAvailable(query(paris, { nowMs: 30_001 }))).toEqual([]);
    index.upsert('d', at(paris, 30_001));
    expect(index.nearestAvailable(query(paris, { nowMs: 30_001 }))).toHaveLength(1);
  });

  it('When thousands of drivers leave and others come online, then freed slots are reused and results stay right', () => {
    const index = createSupplyIndex({ initialCapacity: 16 });
    const model: Model = new Map();
    const rnd = fc.sample(
      fc.tuple(fc.integer({ min: -3000, max: 3000 }), fc.integer({ min: -3000, max: 3000 })),
      {
        numRuns: 3000,
        seed: 7,
      },
    );
    rnd.forEach(([n, e], i) => {
      const p = at(metresNorth(i % 2 ? paris : newYork, n, e), i);
      index.upsert(`a${i}`, p);
      modelUpsert(model, `a${i}`, p);
    });
    for (let i = 0; i < 3000; i += 2) {
      index.remove(`a${i}`);
      model.delete(`a${i}`);
    }
    rnd.forEach(([n, e], i) => {
      if (i % 3) return;
      const p = at(metresNorth(london, e, n), 5000 + i);
      index.upsert(`b${i}`, p, i % 2 ? 'offered' : undefined);
      modelUpsert(model, `b${i}`, p, i % 2 ? 'offered' : undefined);
    });
    expect(index.size).toBe(model.size);
    for (const centre of [paris, london, newYork]) {
      const q = query(centre, { limit: 25, nowMs: 6_000, staleAfterMs: 1e9 });
      expect(index.nearestAvailable(q)).toEqual(bruteNearest(model, q));
    }
  });

  it('When the limit is reached, then only the nearest are returned, and a count covers the whole radius', () => {
    const index = createSupplyIndex();
    for (let i = 0; i < 30; i++) index.upsert(`d${i}`, at(metresNorth(paris, i * 60, 0)));
    const found = index.nearestAvailable(query(paris, { limit: 3, radiusMeters: 1_000 }));
    expect(found.map((c) => c.driverId)).toEqual(['d0', 'd1', 'd2']);
    expect(index.countAvailable(query(paris, { radiusMeters: 1_000 }))).toBe(17);
    expect(index.nearestAvailable(query({ lat: Number.NaN, lng: 0 }))).toEqual([]);
    expect(index.nearestAvailable(query(paris, { limit: 0 }))).toEqual([]);
  });

  it('When drivers spread over thousands of cells and then all move away, then the cell table grows and compacts correctly', () => {
    const index = createSupplyIndex({ cellsPerDegreeLat: 4096, cellsPerDegreeLng: 4096 });
    const model: Model = new Map();
    const put = (id: string, p: LatLng, t: number) => {
      index.upsert(id, at(p, t));
      modelUpsert(model, id, at(p, t));
    };
    const check = (point: LatLng) => {
      for (const radiusMeters of [150, 600, 2_500]) {
        const q = query(point, { radiusMeters, limit: 7, nowMs: 0, staleAfterMs: 1e9 });
        expect(index.nearestAvailable(q)).toEqual(bruteNearest(model, q));
        expect(index.countAvailable(q)).toBe(inRadius(model, q).length);
      }
    };
    // About 27 m cells: 3000 drivers 40 m apart occupy 3000 cells (the table starts with 1024).
    for (let i = 0; i < 3000; i++)
      put(`d${i}`, metresNorth(paris, (i % 60) * 40, Math.floor(i / 60) * 40), 1);
    check(metresNorth(paris, 1_000, 1_000));
    // Everyone leaves for New York, one by one: thousands of cells empty, thousands new.
    for (let round = 2; round < 5; round++) {
      for (let i = 0; i < 3000; i++) {
        put(
          `d${i}`,
          metresNorth(newYork, (i % 60) * 40 + round * 7, Math.floor(i / 60) * 40 - round * 3000),
          round,
        );
      }
      check(metresNorth(newYork, 1_000, 1_000 - round * 3000));
    }
    check(paris);
    expect(index.size).toBe(3000);
  });

  it('When hundreds of drivers wander over a fine grid for a long time, then cells are reused and compacted and queries stay right', () => {
    const index = createSupplyIndex({ cellsPerDegreeLat: 4096, cellsPerDegreeLng: 4096 });
    const model: Model = new Map();
    let seed = 12345;
    /** A small deterministic generator: fast, and the same run every time. */
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const centres = [paris, london, newYork];
    for (let i = 0; i < 300; i++) {
      const p = at(metresNorth(centres[i % 3]!, random() * 3000 - 1500, random() * 3000 - 1500), 0);
      index.upsert(`w${i}`, p);
      modelUpsert(model, `w${i}`, p);
    }
    for (let step = 1; step <= 30_000; step++) {
      const id = `w${Math.floor(random() * 300)}`;
      const current = model.get(id)!;
      const p = at(metresNorth(current, random() * 200 - 100, random() * 200 - 100), step);
      index.upsert(id, p);
      modelUpsert(model, id, p);
      if (step % 1_000 === 0) {
        const centre = centres[step % 3]!;
        const q = query(metresNorth(centre, random() * 2000 - 1000, random() * 2000 - 1000), {
          radiusMeters: 1_500,
          limit: 5,
          nowMs: step,
          staleAfterMs: 20_000,
        });
        expect(index.nearestAvailable(q)).toEqual(bruteNearest(model, q));
        expect(index.countAvailable(q)).toBe(inRadius(model, q).length);
      }
    }
    for (const [id, e] of model) expect(index.get(id)).toEqual(e);
  });
});
