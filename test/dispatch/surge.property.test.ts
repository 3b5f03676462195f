import fc from 'fast-check';
import { cellToBoundary, cellToLatLng, gridDisk, gridDistance, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import {
  coverRadiusMeters,
  createSurgeModel,
  defaultSurgePolicy,
  roundMultiplier,
  type SupplyAt,
  type SurgePolicy,
  surgePolicy,
  targetMultiplier,
} from '../../src/dispatch/surge.js';
import { distanceMeters, type LatLng } from '../../src/domain/geo.js';

/**
 * Surge against its stated properties: bounded by 1 and the cap, monotone in demand and in
 * supply, independent of how often it is read, and a neighbourhood that is what it says.
 */

const paris: LatLng = { lat: 48.8566, lng: 2.3522 };
/** A bucket boundary for every bucket size used here, so offsets from it are easy to reason about. */
const T0 = 1_700_000_000_000;

const offset = (p: LatLng, north: number, east: number): LatLng => ({
  lat: p.lat + north / 111_320,
  lng: p.lng + east / (111_320 * Math.cos((p.lat * Math.PI) / 180)),
});

const steps = [0, 1, 0.5, 0.25, 0.2, 0.1, 0.05, 0.01] as const;

const policy: fc.Arbitrary<SurgePolicy> = fc
  .record({
    resolution: fc.constantFrom(7, 8, 9),
    neighbourhoodRings: fc.integer({ min: 0, max: 2 }),
    demandBucketMs: fc.constantFrom(1_000, 5_000, 10_000),
    buckets: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(30)),
    threshold: fc.constantFrom(0, 0.5, 1, 2.5),
    minDemand: fc.constantFrom(0, 1, 3),
    sensitivity: fc.double({ min: 0.05, max: 3, noNaN: true }),
    cap: fc.oneof(
      { weight: 1, arbitrary: fc.constant(1) },
      { weight: 5, arbitrary: fc.double({ min: 1, max: 5, noNaN: true }) },
    ),
    halfLifeMs: fc.integer({ min: 500, max: 120_000 }),
    step: fc.constantFrom(...steps),
  })
  .map(({ buckets, ...p }) => surgePolicy({ ...p, demandWindowMs: buckets * p.demandBucketMs }));

/** One call on the model, `dt` ms after the previous one. */
interface Op {
  dt: number;
  kind: 'record' | 'read' | 'zones';
  /** Where a request is made or a quote picked up, metres from Paris. */
  north: number;
  east: number;
  count: number;
  /** What `supplyAt` answers during this call. */
  supply: number;
  /** Only in the scenario with more demand (monotonicity). */
  extra: boolean;
}

/** Mostly close to Paris's cell, so that neighbourhoods overlap and surge happens; sometimes farther. */
const metres = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -400, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: -2_500, max: 2_500 }) },
);

const op = (maxDt: number): fc.Arbitrary<Op> =>
  fc.record({
    dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: maxDt })),
    kind: fc.constantFrom('record', 'record', 'read', 'read', 'zones'),
    north: metres,
    east: metres,
    count: fc.integer({ min: 1, max: 6 }),
    supply: fc.integer({ min: 0, max: 12 }),
    extra: fc.boolean(),
  });

interface Run {
  /** Every multiplier seen, in order: the probe read and, for zones, each cell's surge. */
  seen: number[];
}

/**
 * Plays the ops on a fresh model. Reads are at Paris and at the op's point; `withExtra` plays
 * the extra requests too; `moreSupply` adds drivers to every answer of `supplyAt`.
 */
const play = (p: SurgePolicy, ops: Op[], withExtra: boolean, moreSupply: (i: number) => number = () => 0) => {
  const model = createSurgeModel({ policies: { paris: p } });
  const run: Run = { seen: [] };
  let now = T0;
  ops.forEach((o, i) => {
    now += o.dt;
    const point = offset(paris, o.north, o.east);
    const supplyAt: SupplyAt = () => o.supply + moreSupply(i);
    if (o.kind === 'record') {
      if (o.extra && !withExtra) return;
      for (let n = 0; n < o.count; n++) model.recordRequest('paris', point, now);
    } else if (o.kind === 'read') {
      run.seen.push(model.multiplier('paris', paris, now, supplyAt));
      run.seen.push(model.multiplier('paris', point, now, supplyAt));
    } else {
      for (const zone of model.zones('paris', point, 1, now, supplyAt)) run.seen.push(zone.surge);
    }
  });
  return run;
};

const isMultipleOf = (value: number, step: number): boolean =>
  step === 0 || Math.abs(value / step - Math.round(value / step)) < 1e-9;

describe('targetMultiplier', () => {
  const count = fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 1_000 }),
    fc.double({ min: 0, max: 1e6, noNaN: true }),
  );

  it('When demand and supply are anything, then the target is within [1, cap]', () => {
    fc.assert(
      fc.property(policy, count, count, (p, demand, supply) => {
        const m = targetMultiplier(demand, supply, p);
        expect(m).toBeGreaterThanOrEqual(1);
        expect(m).toBeLessThanOrEqual(p.cap);
      }),
    );
  });

  it('When demand grows at the same supply, then the target never falls', () => {
    fc.assert(
      fc.property(policy, count, count, count, (p, demand, more, supply) => {
        expect(targetMultiplier(demand + more, supply, p)).toBeGreaterThanOrEqual(
          targetMultiplier(demand, supply, p),
        );
      }),
    );
  });

  it('When supply grows at the same demand, then the target never rises', () => {
    fc.assert(
      fc.property(policy, count, count, count, (p, demand, supply, more) => {
        expect(targetMultiplier(demand, supply + more, p)).toBeLessThanOrEqual(
          targetMultiplier(demand, supply, p),
        );
      }),
    );
  });

  it('When supply covers demand up to the threshold, then there is no surge; with no supply, the cap', () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: 1, max: 500 }), (p, supply) => {
        const covered = Math.floor(supply * p.threshold);
        expect(targetMultiplier(covered, supply, p)).toBe(1);
        expect(targetMultiplier(0, 0, p)).toBe(1);
        expect(targetMultiplier(Math.max(supply, p.minDemand), 0, p)).toBe(p.cap);
        if (p.minDemand > 1) expect(targetMultiplier(p.minDemand - 1, 0, p)).toBe(1);
        const ratio = 4 * p.threshold + 1;
        // Demand of at least 3 is above every generated minDemand.
        const drivers = Math.max(supply, 3);
        expect(targetMultiplier(ratio * drivers, drivers, p)).toBeCloseTo(
          Math.min(p.cap, 1 + p.sensitivity * (ratio - p.threshold)),
          9,
        );
      }),
    );
  });
});

describe('roundMultiplier', () => {
  it('When any multiplier within [1, cap] is rounded, then it is a multiple of the step, within [1, cap], and as near as the cap allows', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 6, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(...steps),
        (cap, fraction, step) => {
          const value = 1 + (cap - 1) * fraction;
          const shown = roundMultiplier(value, { cap, step });
          expect(shown).toBeGreaterThanOrEqual(1);
          expect(shown).toBeLessThanOrEqual(cap);
          expect(isMultipleOf(shown, step)).toBe(true);
          // Off by more than half a step only where the nearest multiple would exceed the cap.
          if (Math.abs(shown - value) > step / 2 + 1e-9) {
            expect(shown + step).toBeGreaterThan(cap);
            expect(value).toBeGreaterThan(shown);
          }
        },
      ),
    );
  });

  it('When the cap is not a multiple of the step, then the largest multiple below it is shown', () => {
    expect(roundMultiplier(2.95, { cap: 2.95, step: 0.1 })).toBe(2.9);
    expect(roundMultiplier(2.3, { cap: 2.3, step: 0.1 })).toBe(2.3);
    expect(roundMultiplier(1.25, { cap: 3, step: 0.1 })).toBe(1.3);
    expect(roundMultiplier(1.04, { cap: 3, step: 0.1 })).toBe(1);
    expect(roundMultiplier(1.3, { cap: 1.2, step: 0.25 })).toBe(1);
  });
});

describe('The surge model', () => {
  it('When any sequence of requests, quotes, ops views and supply is played, then every multiplier is within [1, cap] and a multiple of the step', () => {
    fc.assert(
      fc.property(policy, fc.array(op(40_000), { minLength: 10, maxLength: 60 }), (p, ops) => {
        const top = roundMultiplier(p.cap, p);
        for (const m of play(p, ops, true).seen) {
          expect(m).toBeGreaterThanOrEqual(1);
          expect(m).toBeLessThanOrEqual(p.cap);
          expect(m).toBeLessThanOrEqual(top);
          expect(isMultipleOf(m, p.step)).toBe(true);
        }
      }),
    );
  });

  it('When more requests are recorded in the area, at the same supply and times, then no multiplier is lower', () => {
    fc.assert(
      fc.property(policy, fc.array(op(30_000), { minLength: 10, maxLength: 60 }), (p, ops) => {
        const fewer = play(p, ops, false).seen;
        const more = play(p, ops, true).seen;
        expect(more).toHaveLength(fewer.length);
        // The tolerance only absorbs floating-point noise (and cells forgotten at 1 + 1e-6).
        fewer.forEach((m, i) => {
          expect(more[i]!).toBeGreaterThanOrEqual(m - 2e-6);
        });
      }),
    );
  });

  it('When there are more drivers, at the same demand and times, then no multiplier is higher', () => {
    fc.assert(
      fc.property(
        policy,
        fc.array(op(30_000), { minLength: 10, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 60, maxLength: 60 }),
        (p, ops, added) => {
          const fewer = play(p, ops, true).seen;
          const more = play(p, ops, true, (i) => added[i]!).seen;
          expect(more).toHaveLength(fewer.length);
          fewer.forEach((m, i) => {
            expect(more[i]!).toBeLessThanOrEqual(m + 2e-6);
          });
        },
      ),
    );
  });

  it('When the cell is read often or rarely, at constant supply, then the multiplier at a given time is the same', () => {
    fc.assert(
      fc.property(
        policy,
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 120_000 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 0, max: 8 }),
        (basePolicy, requestTimes, readTimes, endOffset, supply) => {
          const p = { ...basePolicy, step: 0 };
          const supplyAt: SupplyAt = () => supply;
          const rarely = createSurgeModel({ policies: { paris: p } });
          const often = createSurgeModel({ policies: { paris: p } });
          // Both see the supply first at T0, then requests and (for one) reads, in time order.
          for (const model of [rarely, often]) {
            model.recordRequest('paris', paris, T0);
            model.multiplier('paris', paris, T0, supplyAt);
          }
          const events = [
            ...requestTimes.map((t) => ({ t, read: false })),
            ...readTimes.map((t) => ({ t, read: true })),
          ].sort((a, b) => a.t - b.t || Number(a.read) - Number(b.read));
          // Supply is only remembered while there is demand: stay within the window of the first request.
          const end = Math.min(endOffset, p.demandWindowMs - 1);
          for (const { t, read } of events) {
            if (t > end) continue;
            if (read) often.multiplier('paris', paris, T0 + t, supplyAt);
            else for (const model of [rarely, often]) model.recordRequest('paris', paris, T0 + t);
          }
          const at = T0 + end;
          expect(often.multiplier('paris', paris, at, supplyAt)).toBeCloseTo(
            rarely.multiplier('paris', paris, at, supplyAt),
            9,
          );
        },
      ),
    );
  });

  it('When ops look at the zones around a point, then each cell shows its own demand, supply and the surge a quote there gets', () => {
    fc.assert(
      fc.property(
        policy,
        fc.array(op(20_000), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 0, max: 2 }),
        (p, ops, rings) => {
          const model = createSurgeModel({ policies: { paris: p } });
          const requests: { cell: string; at: number; count: number }[] = [];
          let now = T0;
          for (const o of ops) {
            now += o.dt;
            const point = offset(paris, o.north, o.east);
            if (o.kind === 'record') {
              for (let n = 0; n < o.count; n++) model.recordRequest('paris', point, now);
              requests.push({
                cell: latLngToCell(point.lat, point.lng, p.resolution),
                at: now,
                count: o.count,
              });
            } else model.multiplier('paris', point, now, () => o.supply);
          }
          const asked: { point: LatLng; radius: number }[] = [];
          /** Supply depends on where it is asked, so each cell gets its own number. */
          const supplyAt: SupplyAt = (point, radius) => {
            asked.push({ point, radius });
            return Math.floor(Math.abs(point.lat * 1e5)) % 7;
          };
          const zones = model.zones('paris', paris, rings, now, supplyAt);
          const origin = latLngToCell(paris.lat, paris.lng, p.resolution);
          expect(zones.map((z) => z.cell).sort()).toEqual(gridDisk(origin, rings).sort());
          expect(zones[0]!.cell).toBe(origin);
          for (let i = 1; i < zones.length; i++) {
            const [a, b] = [zones[i - 1]!, zones[i]!];
            expect(a.ring < b.ring || (a.ring === b.ring && a.cell < b.cell)).toBe(true);
          }
          // Requests count for `demandWindowMs` at most and `demandWindowMs - demandBucketMs` at least.
          const bucketOf = (t: number) => Math.floor(t / p.demandBucketMs);
          const buckets = p.demandWindowMs / p.demandBucketMs;
          for (const zone of zones) {
            expect(zone.ring).toBe(gridDistance(origin, zone.cell));
            const [lat, lng] = cellToLatLng(zone.cell);
            expect(zone.centre).toEqual({ lat, lng });
            const demand = requests
              .filter((r) => bucketOf(now) - bucketOf(r.at) < buckets)
              .filter((r) => gridDistance(r.cell, zone.cell) <= p.neighbourhoodRings)
              .reduce((sum, r) => sum + r.count, 0);
            expect(zone.demand).toBe(demand);
            expect(zone.supply).toBe(Math.floor(Math.abs(zone.centre.lat * 1e5)) % 7);
            expect(zone.surge).toBe(model.multiplier('paris', zone.centre, now, supplyAt));
          }
          expect(asked.every(({ radius }) => radius === p.supplyRadiusMeters)).toBe(true);
          const centres = new Set(zones.map((z) => `${z.centre.lat},${z.centre.lng}`));
          expect(asked.every(({ point }) => centres.has(`${point.lat},${point.lng}`))).toBe(true);
        },
      ),
    );
  });

  it('When requests are made in another city or outside the neighbourhood, then a cell does not move', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 20_000 }),
            far: fc.boolean(),
            bearing: fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
          }),
          { maxLength: 40 },
        ),
        fc.integer({ min: 0, max: 5 }),
        (requests, supply) => {
          const supplyAt: SupplyAt = () => supply;
          const alone = createSurgeModel();
          const crowded = createSurgeModel();
          const origin = latLngToCell(paris.lat, paris.lng, 8);
          for (const model of [alone, crowded]) model.recordRequest('paris', paris, T0);
          let now = T0;
          for (const r of requests) {
            now += r.dt;
            // Same coordinates in London's books, or 3 to 4 km away in Paris (beyond one ring).
            if (r.far) {
              const d = 3_000 + 1_000 * Math.sin(r.bearing) ** 2;
              const point = offset(paris, d * Math.cos(r.bearing), d * Math.sin(r.bearing));
              expect(gridDistance(origin, latLngToCell(point.lat, point.lng, 8))).toBeGreaterThan(1);
              crowded.recordRequest('paris', point, now);
            } else crowded.recordRequest('london', paris, now);
            for (const model of [alone, crowded]) model.multiplier('paris', paris, now, supplyAt);
          }
          expect(crowded.multiplier('paris', paris, now, supplyAt)).toBe(
            alone.multiplier('paris', paris, now, supplyAt),
          );
          expect(crowded.zones('paris', paris, 0, now, supplyAt)[0]!.demand).toBe(1);
        },
      ),
    );
  });
});

describe('coverRadiusMeters', () => {
  it('When a cell anywhere on Earth is drawn, then its whole neighbourhood lies within the default supply radius', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.constantFrom(7, 8, 9),
        fc.integer({ min: 0, max: 2 }),
        (sinLat, lng, resolution, rings) => {
          const lat = (Math.asin(sinLat) * 180) / Math.PI;
          const radius = coverRadiusMeters(resolution, rings);
          const cell = latLngToCell(lat, lng, resolution);
          const [cLat, cLng] = cellToLatLng(cell);
          for (const near of gridDisk(cell, rings)) {
            for (const [vLat, vLng] of cellToBoundary(near)) {
              expect(distanceMeters({ lat: cLat, lng: cLng }, { lat: vLat, lng: vLng })).toBeLessThanOrEqual(
                radius,
              );
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('When nothing is configured, then supply is counted within 1,580 m (res 8, one ring)', () => {
    expect(defaultSurgePolicy.supplyRadiusMeters).toBe(1_580);
    expect(coverRadiusMeters(8, 1)).toBe(1_580);
  });
});
