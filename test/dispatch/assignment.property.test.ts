import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Assignment,
  arrivalOrder,
  buildCandidateGraph,
  type CandidateGraph,
  DEFAULT_AGE_WEIGHT,
  greedyNearestFirst,
  solveAssignment,
} from '../../src/dispatch/assignment.js';

/**
 * The batch solver against references written independently of it: brute-force enumeration on
 * tiny instances, and a plain Bellman–Ford min-cost-flow on small ones. Costs are compared in the
 * solver's documented integer units (whole milliseconds), where its optimum is exact.
 */

interface Edge {
  driver: number;
  pickup: number;
}
interface Instance {
  graph: CandidateGraph;
  /** Candidate lists as given (duplicates included). */
  lists: Edge[][];
  ageWeight: number;
}

const toGraph = (lists: Edge[][], driverCount: number, ages: number[]): CandidateGraph => {
  const offsets = [0];
  const drivers: number[] = [];
  const pickupSeconds: number[] = [];
  for (const list of lists) {
    for (const edge of list) {
      drivers.push(edge.driver);
      pickupSeconds.push(edge.pickup);
    }
    offsets.push(drivers.length);
  }
  return { requestCount: lists.length, driverCount, offsets, drivers, pickupSeconds, ageSeconds: ages };
};

/** Whole seconds make ties likely; fractions exercise the rounding to milliseconds. */
const seconds = (max: number) =>
  fc.oneof(fc.integer({ min: 0, max }), fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true }));

const instance = (maxRequests: number, maxDrivers: number, maxDegree: number) =>
  fc
    .record({
      requestCount: fc.integer({ min: 0, max: maxRequests }),
      driverCount: fc.integer({ min: 0, max: maxDrivers }),
      ageWeight: fc.constantFrom(0, 0.5, 1, DEFAULT_AGE_WEIGHT, 10),
    })
    .chain(({ requestCount, driverCount, ageWeight }) =>
      fc
        .record({
          lists: fc.array(
            driverCount === 0
              ? fc.constant([] as Edge[])
              : fc.array(
                  fc.record({ driver: fc.integer({ min: 0, max: driverCount - 1 }), pickup: seconds(900) }),
                  { maxLength: maxDegree },
                ),
            { minLength: requestCount, maxLength: requestCount },
          ),
          ages: fc.array(seconds(200), { minLength: requestCount, maxLength: requestCount }),
        })
        .map(({ lists, ages }): Instance => ({ graph: toGraph(lists, driverCount, ages), lists, ageWeight })),
    );

const ms = (secondsValue: number) => Math.round(secondsValue * 1000);
/** The solver's credit for a request, same expression, same rounding. */
const creditMs = (ageWeight: number, age: number) => Math.round(ageWeight * age * 1000);

/** Smallest pickup of each (request, driver) pair: what a duplicated edge counts as. */
const pickupTable = (lists: Edge[][]): Map<number, number>[] =>
  lists.map((list) => {
    const best = new Map<number, number>();
    for (const { driver, pickup } of list) best.set(driver, Math.min(pickup, best.get(driver) ?? pickup));
    return best;
  });

/** The objective the solver minimises among maximum matchings, in integer milliseconds. */
const pricedCost = (inst: Instance, driverOf: ArrayLike<number>): number => {
  const table = pickupTable(inst.lists);
  let cost = 0;
  for (let r = 0; r < inst.lists.length; r++) {
    const d = driverOf[r]!;
    if (d === -1) continue;
    cost += ms(table[r]!.get(d)!) - creditMs(inst.ageWeight, inst.graph.ageSeconds[r]!);
  }
  return cost;
};

const pickupMsTotal = (inst: Instance, driverOf: ArrayLike<number>): number => {
  const table = pickupTable(inst.lists);
  let total = 0;
  for (let r = 0; r < inst.lists.length; r++) {
    const d = driverOf[r]!;
    if (d !== -1) total += ms(table[r]!.get(d)!);
  }
  return total;
};

/** A valid matching along existing edges, with consistent bookkeeping. */
const expectValid = (inst: Instance, a: Assignment) => {
  const { graph } = inst;
  const table = pickupTable(inst.lists);
  expect(a.driverOf).toHaveLength(graph.requestCount);
  expect(a.requestOf).toHaveLength(graph.driverCount);
  const seen = new Set<number>();
  let matched = 0;
  let total = 0;
  for (let r = 0; r < graph.requestCount; r++) {
    const d = a.driverOf[r]!;
    if (d === -1) continue;
    expect(table[r]!.has(d), `request ${r} got driver ${d}, not one of its candidates`).toBe(true);
    expect(seen.has(d), `driver ${d} assigned twice`).toBe(false);
    seen.add(d);
    expect(a.requestOf[d]).toBe(r);
    matched++;
    total += table[r]!.get(d)!;
  }
  for (let d = 0; d < graph.driverCount; d++) {
    const r = a.requestOf[d]!;
    if (r !== -1) expect(a.driverOf[r]).toBe(d);
  }
  expect(a.matched).toBe(matched);
  expect(a.totalPickupSeconds).toBeCloseTo(total, 6);
};

interface Optimum {
  matched: number;
  cost: number;
}

/** Every matching, enumerated: the most requests matched, then the smallest priced cost. */
const bruteForce = (inst: Instance): Optimum => {
  const table = pickupTable(inst.lists).map((m) => [...m]);
  const credit = inst.lists.map((_, r) => creditMs(inst.ageWeight, inst.graph.ageSeconds[r]!));
  const used = new Set<number>();
  let best: Optimum = { matched: 0, cost: 0 };
  const walk = (r: number, matched: number, cost: number) => {
    if (r === table.length) {
      if (matched > best.matched || (matched === best.matched && cost < best.cost)) best = { matched, cost };
      return;
    }
    walk(r + 1, matched, cost);
    for (const [d, pickup] of table[r]!) {
      if (used.has(d)) continue;
      used.add(d);
      walk(r + 1, matched + 1, cost + ms(pickup) - credit[r]!);
      used.delete(d);
    }
  };
  walk(0, 0, 0);
  return best;
};

/**
 * Maximum-weight matching by successive shortest paths found with Bellman–Ford (no potentials,
 * no heap: nothing shared with the solver). Weight of an edge: a bonus larger than any cost
 * difference, minus its priced cost, so more matches always win.
 */
const minCostFlowReference = (inst: Instance): Optimum => {
  const n = inst.lists.length;
  const m = inst.graph.driverCount;
  const table = pickupTable(inst.lists);
  const pairs: { r: number; d: number; cost: number }[] = [];
  table.forEach((best, r) => {
    for (const [d, pickup] of best) {
      pairs.push({ r, d, cost: ms(pickup) - creditMs(inst.ageWeight, inst.graph.ageSeconds[r]!) });
    }
  });
  const spread = 2 * Math.max(0, ...pairs.map((p) => Math.abs(p.cost))) + 1;
  const bonus = (Math.min(n, m) + 1) * spread;
  // Residual graph: node 0 source, 1..n requests, n+1..n+m drivers, n+m+1 sink.
  const size = n + m + 2;
  const sink = n + m + 1;
  const to: number[] = [];
  const cap: number[] = [];
  const cost: number[] = [];
  const out: number[][] = Array.from({ length: size }, () => []);
  const add = (a: number, b: number, c: number) => {
    out[a]!.push(to.length);
    to.push(b);
    cap.push(1);
    cost.push(c);
    out[b]!.push(to.length);
    to.push(a);
    cap.push(0);
    cost.push(-c);
  };
  for (let r = 0; r < n; r++) add(0, 1 + r, 0);
  for (let d = 0; d < m; d++) add(1 + n + d, sink, 0);
  for (const p of pairs) add(1 + p.r, 1 + n + p.d, p.cost - bonus);
  let matched = 0;
  let total = 0;
  for (;;) {
    const dist = new Array<number>(size).fill(Number.POSITIVE_INFINITY);
    const via = new Array<number>(size).fill(-1);
    dist[0] = 0;
    for (let round = 0; round < size; round++) {
      let changed = false;
      for (let a = 0; a < size; a++) {
        if (dist[a] === Number.POSITIVE_INFINITY) continue;
        for (const e of out[a]!) {
          if (cap[e]! > 0 && dist[a]! + cost[e]! < dist[to[e]!]!) {
            dist[to[e]!] = dist[a]! + cost[e]!;
            via[to[e]!] = e;
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
    if (!(dist[sink]! < 0)) break;
    for (let node = sink; node !== 0; node = to[via[node]! ^ 1]!) {
      cap[via[node]!]!--;
      cap[via[node]! ^ 1]!++;
    }
    matched++;
    total += dist[sink]! + bonus;
  }
  return { matched, cost: total };
};

/** Kuhn's augmenting paths, requests taken oldest first: the oldest-first feasible set. */
const oldestFirstFeasibleSet = (inst: Instance): Set<number> => {
  const table = pickupTable(inst.lists).map((m) => [...m.keys()]);
  const order = inst.lists.map((_, r) => r);
  order.sort((a, b) => inst.graph.ageSeconds[b]! - inst.graph.ageSeconds[a]! || a - b);
  const holder = new Map<number, number>();
  const augment = (r: number, seen: Set<number>): boolean => {
    for (const d of table[r]!) {
      if (seen.has(d)) continue;
      seen.add(d);
      const other = holder.get(d);
      if (other === undefined || augment(other, seen)) {
        holder.set(d, r);
        return true;
      }
    }
    return false;
  };
  const chosen = new Set<number>();
  for (const r of order) if (augment(r, new Set())) chosen.add(r);
  return chosen;
};

const solve = (inst: Instance) => solveAssignment(inst.graph, { ageWeight: inst.ageWeight });

describe('batch assignment: a maximum matching of minimum priced pickup time', () => {
  it('never assigns a driver or a request twice, and uses only candidate edges', () => {
    fc.assert(
      fc.property(instance(40, 30, 8), (inst) => {
        expectValid(inst, solve(inst));
        expectValid(inst, greedyNearestFirst(inst.graph));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with brute-force enumeration on tiny instances (≤ 6 requests × ≤ 6 drivers)', () => {
    fc.assert(
      fc.property(instance(6, 6, 6), (inst) => {
        const a = solve(inst);
        const best = bruteForce(inst);
        expect(a.matched).toBe(best.matched);
        expect(pricedCost(inst, a.driverOf)).toBe(best.cost);
      }),
      { numRuns: 400 },
    );
  });

  it('agrees with an independent min-cost-flow reference on small instances', () => {
    fc.assert(
      fc.property(instance(25, 20, 6), (inst) => {
        const a = solve(inst);
        const best = minCostFlowReference(inst);
        expect(a.matched).toBe(best.matched);
        expect(pricedCost(inst, a.driverOf)).toBe(best.cost);
      }),
      { numRuns: 150 },
    );
  });

  it('matches at least as many requests as greedy, and never costs more at equal count', () => {
    fc.assert(
      fc.property(instance(40, 30, 8), (inst) => {
        const a = solve(inst);
        const g = greedyNearestFirst(inst.graph);
        expect(a.matched).toBeGreaterThanOrEqual(g.matched);
        if (a.matched === g.matched) {
          expect(pricedCost(inst, a.driverOf)).toBeLessThanOrEqual(pricedCost(inst, g.driverOf));
          // Without the age credit the objective is the total pickup time itself.
          const plain = solveAssignment(inst.graph, { ageWeight: 0 });
          expect(pickupMsTotal(inst, plain.driverOf)).toBeLessThanOrEqual(pickupMsTotal(inst, g.driverOf));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves nobody unmatched who could be added, and no unmatched request outranks a matched rival', () => {
    // For unmatched u, each candidate driver d is taken (else the matching would grow), by some s
    // with pickup(s,d) − credit(s) ≤ pickup(u,d) − credit(u): a swap would not pay.
    fc.assert(
      fc.property(instance(40, 30, 8), (inst) => {
        const a = solve(inst);
        const table = pickupTable(inst.lists);
        const age = inst.graph.ageSeconds;
        for (let u = 0; u < inst.lists.length; u++) {
          if (a.driverOf[u] !== -1) continue;
          for (const [d, pickup] of table[u]!) {
            const s = a.requestOf[d]!;
            expect(s, `driver ${d} of unmatched request ${u} left idle`).not.toBe(-1);
            const held = ms(table[s]!.get(d)!) - creditMs(inst.ageWeight, age[s]!);
            expect(held).toBeLessThanOrEqual(ms(pickup) - creditMs(inst.ageWeight, age[u]!));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fairness: when age gaps outweigh any pickup difference, the oldest requests that can be served are', () => {
    // Ages a whole step apart, the step worth more (× ageWeight) than every pickup of a matching
    // put together: the matched set is exactly the oldest-first feasible set, so no request is
    // ever passed over for a younger one unless serving it would unserve an older one.
    fc.assert(
      fc.property(
        instance(10, 8, 5),
        fc.constantFrom(0.5, DEFAULT_AGE_WEIGHT, 10),
        fc.infiniteStream(fc.nat()),
        (base, ageWeight, noise) => {
          const n = base.lists.length;
          const step = Math.ceil((Math.min(n, base.graph.driverCount) * 900) / ageWeight) + 1;
          const rank = base.lists.map((_, r) => r);
          const keys = rank.map(() => noise.next().value as number);
          rank.sort((a, b) => keys[a]! - keys[b]! || a - b);
          const ages: number[] = new Array(n);
          rank.forEach((r, i) => {
            ages[r] = i * step;
          });
          const inst: Instance = {
            lists: base.lists,
            ageWeight,
            graph: { ...base.graph, ageSeconds: ages },
          };
          const a = solve(inst);
          const matched = new Set<number>();
          for (let r = 0; r < n; r++) if (a.driverOf[r] !== -1) matched.add(r);
          expect([...matched].sort((x, y) => x - y)).toEqual(
            [...oldestFirstFeasibleSet(inst)].sort((x, y) => x - y),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fairness: a matched request stays matched when it has waited longer', () => {
    fc.assert(
      fc.property(instance(30, 20, 6), fc.nat(), seconds(300), (inst, pick, extra) => {
        const a = solve(inst);
        const matched = [...a.driverOf.keys()].filter((r) => a.driverOf[r] !== -1);
        if (matched.length === 0) return;
        const r = matched[pick % matched.length]!;
        const ages = Array.from(inst.graph.ageSeconds);
        ages[r] = ages[r]! + extra;
        const older = solveAssignment({ ...inst.graph, ageSeconds: ages }, { ageWeight: inst.ageWeight });
        expect(older.driverOf[r]).not.toBe(-1);
        expect(older.matched).toBe(a.matched);
      }),
      { numRuns: 300 },
    );
  });

  it('fairness: of two requests wanting the one driver at the same pickup time, the older wins', () => {
    fc.assert(
      fc.property(
        seconds(600),
        seconds(100),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (p, a0, gap) => {
          const graph = toGraph([[{ driver: 0, pickup: p }], [{ driver: 0, pickup: p }]], 1, [a0, a0 + gap]);
          expect(Array.from(solveAssignment(graph).driverOf)).toEqual([-1, 0]);
          expect(Array.from(greedyNearestFirst(graph).driverOf)).toEqual([-1, 0]);
        },
      ),
    );
  });

  it('counts a duplicated edge once, at its smallest pickup time', () => {
    fc.assert(
      fc.property(
        instance(20, 15, 6),
        fc.infiniteStream(fc.tuple(fc.nat(3), seconds(300))),
        (inst, extras) => {
          const noisy = inst.lists.map((list) =>
            list.flatMap((edge) => {
              const [copies, extra] = extras.next().value as [number, number];
              return [
                edge,
                ...Array.from({ length: copies }, (_, k) => ({
                  driver: edge.driver,
                  pickup: edge.pickup + extra * k,
                })),
              ];
            }),
          );
          const dup: Instance = {
            ...inst,
            lists: noisy,
            graph: toGraph(noisy, inst.graph.driverCount, Array.from(inst.graph.ageSeconds)),
          };
          const a = solve(dup);
          expectValid(dup, a);
          // Kept in first-appearance order at the smallest pickup: the very same problem.
          const clean = solve(inst);
          expect(Array.from(a.driverOf)).toEqual(Array.from(clean.driverOf));
          expect(a.totalPickupSeconds).toBe(clean.totalPickupSeconds);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic: the same input gives the same assignment', () => {
    fc.assert(
      fc.property(instance(40, 30, 8), (inst) => {
        const a = solve(inst);
        const copy: CandidateGraph = {
          requestCount: inst.graph.requestCount,
          driverCount: inst.graph.driverCount,
          offsets: Int32Array.from(inst.graph.offsets),
          drivers: Int32Array.from(inst.graph.drivers),
          pickupSeconds: Float64Array.from(inst.graph.pickupSeconds),
          ageSeconds: Float64Array.from(inst.graph.ageSeconds),
        };
        const b = solveAssignment(copy, { ageWeight: inst.ageWeight });
        expect(Array.from(b.driverOf)).toEqual(Array.from(a.driverOf));
        expect(Array.from(b.requestOf)).toEqual(Array.from(a.requestOf));
        expect(Array.from(greedyNearestFirst(copy).driverOf)).toEqual(
          Array.from(greedyNearestFirst(inst.graph).driverOf),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('greedy takes requests in arrival order: longest waiting first, ties by index', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), seconds(200)), { maxLength: 300 }),
        (ages) => {
          const expected = ages.map((_, r) => r).sort((a, b) => ages[b]! - ages[a]! || a - b);
          expect(Array.from(arrivalOrder({ requestCount: ages.length, ageSeconds: ages }))).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('handles empty inputs: no requests, no drivers, requests without candidates', () => {
    for (const graph of [
      toGraph([], 0, []),
      toGraph([], 5, []),
      toGraph([[], [], []], 0, [1, 2, 3]),
      toGraph([[], []], 4, [0, 0]),
    ]) {
      for (const a of [solveAssignment(graph), greedyNearestFirst(graph)]) {
        expect(a.matched).toBe(0);
        expect(a.totalPickupSeconds).toBe(0);
        expect(Array.from(a.driverOf)).toEqual(new Array(graph.requestCount).fill(-1));
        expect(Array.from(a.requestOf)).toEqual(new Array(graph.driverCount).fill(-1));
      }
    }
  });

  it('beats greedy where greedy is shortsighted', () => {
    // The older request grabs driver 0, its nearest, leaving the other with a 10-minute pickup;
    // the solver gives it driver 1 (60 s more) and the other driver 0: 700 s less in total.
    const graph = toGraph(
      [
        [
          { driver: 0, pickup: 60 },
          { driver: 1, pickup: 120 },
        ],
        [
          { driver: 0, pickup: 60 },
          { driver: 1, pickup: 820 },
        ],
      ],
      2,
      [30, 10],
    );
    expect(Array.from(greedyNearestFirst(graph).driverOf)).toEqual([0, 1]);
    const a = solveAssignment(graph);
    expect(Array.from(a.driverOf)).toEqual([1, 0]);
    expect(a.totalPickupSeconds).toBe(180);
  });

  it('builds the graph from driver ids', () => {
    const graph = buildCandidateGraph([
      { ageSeconds: 5, candidates: [{ driverId: 'd-a', pickupSeconds: 100 }] },
      {
        ageSeconds: 1,
        candidates: [
          { driverId: 'd-b', pickupSeconds: 300 },
          { driverId: 'd-a', pickupSeconds: 50 },
        ],
      },
      { ageSeconds: 9, candidates: [] },
    ]);
    expect(graph.driverIds).toEqual(['d-a', 'd-b']);
    expect(graph.driverCount).toBe(2);
    const a = solveAssignment(graph);
    expect(Array.from(a.driverOf, (d) => (d === -1 ? null : graph.driverIds[d]))).toEqual([
      'd-a',
      'd-b',
      null,
    ]);
  });

  it('refuses malformed input with a RangeError', () => {
    const ok = toGraph([[{ driver: 0, pickup: 10 }]], 1, [0]);
    const bad: CandidateGraph[] = [
      { ...ok, drivers: [1] },
      { ...ok, drivers: [-1] },
      { ...ok, drivers: [0.5] },
      { ...ok, pickupSeconds: [-1] },
      { ...ok, pickupSeconds: [Number.NaN] },
      { ...ok, pickupSeconds: [Number.POSITIVE_INFINITY] },
      { ...ok, ageSeconds: [Number.NaN] },
      { ...ok, ageSeconds: [-3] },
      { ...ok, ageSeconds: [] },
      { ...ok, offsets: [0, 2] },
      { ...ok, offsets: [1, 1] },
      { ...ok, offsets: [0] },
      { ...ok, requestCount: -1 },
      { ...ok, driverCount: 1.5 },
    ];
    for (const graph of bad) {
      expect(() => solveAssignment(graph)).toThrow(RangeError);
      expect(() => greedyNearestFirst(graph)).toThrow(RangeError);
    }
    expect(() => solveAssignment(ok, { ageWeight: -1 })).toThrow(RangeError);
    // Beyond what float64 integers hold exactly: refused rather than solved approximately.
    expect(() => solveAssignment({ ...ok, pickupSeconds: [1e15] })).toThrow(RangeError);
    expect(() => solveAssignment(ok, { ageWeight: Number.NaN })).toThrow(RangeError);
  });
});

describe('batch assignment on a Paris-sized strike peak (1,000 requests, 500 drivers, 10 candidates)', () => {
  /** Deterministic uniform [0, 1) (mulberry32). */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const peak = (seed: number): CandidateGraph => {
    const rand = random(seed);
    // A 9.7 km × 12.4 km box; pickup = distance × 1.3 detour at 22 km/h (Paris trip model).
    const point = () => [rand() * 9700, rand() * 12400] as const;
    const requests = Array.from({ length: 1000 }, point);
    const drivers = Array.from({ length: 500 }, point);
    const lists: Edge[][] = requests.map(([x, y]) =>
      drivers
        .map(([dx, dy], driver) => ({ driver, pickup: (Math.hypot(x - dx, y - dy) * 1.3) / (22 / 3.6) }))
        .sort((a, b) => a.pickup - b.pickup || a.driver - b.driver)
        .slice(0, 10),
    );
    return toGraph(
      lists,
      500,
      requests.map(() => rand() * 120),
    );
  };

  it('serves every driver and cuts total pickup time by 15% or more against greedy', () => {
    for (const seed of [1, 2]) {
      const graph = peak(seed);
      const a = solveAssignment(graph);
      const g = greedyNearestFirst(graph);
      expect(a.matched).toBeGreaterThanOrEqual(g.matched);
      expect(a.matched).toBe(500);
      expect(a.totalPickupSeconds / a.matched).toBeLessThanOrEqual((0.85 * g.totalPickupSeconds) / g.matched);
      expect(a.totalPickupSeconds).toBeLessThanOrEqual(0.85 * g.totalPickupSeconds);
    }
  });
});
