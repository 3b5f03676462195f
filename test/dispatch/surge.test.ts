import { cellToLatLng, gridDisk, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import {
  createSurgeModel,
  defaultSurgePolicy,
  type SupplyAt,
  type SurgePolicy,
  SurgePolicyError,
  surgePolicy,
  targetMultiplier,
  validateSurgePolicy,
} from '../../src/dispatch/surge.js';
import type { LatLng } from '../../src/domain/geo.js';

const paris: LatLng = { lat: 48.8566, lng: 2.3522 };
/** On a 10 s bucket boundary. */
const T0 = 1_700_000_000_000;
const SECOND = 1_000;
const supplyOf =
  (n: number): SupplyAt =>
  () =>
    n;

const record = (model: ReturnType<typeof createSurgeModel>, count: number, at: number, point = paris) => {
  for (let i = 0; i < count; i++) model.recordRequest('paris', point, at);
};

describe('Surge policy', () => {
  it('When nothing is configured, then the defaults are those documented', () => {
    expect(defaultSurgePolicy).toEqual({
      resolution: 8,
      demandWindowMs: 300_000,
      demandBucketMs: 10_000,
      neighbourhoodRings: 1,
      supplyRadiusMeters: 1_580,
      threshold: 1,
      minDemand: 3,
      sensitivity: 0.5,
      cap: 3,
      halfLifeMs: 5_000,
      step: 0.1,
    });
    expect(surgePolicy()).toEqual(defaultSurgePolicy);
  });

  it('When a city changes its resolution but not its radius, then the radius follows the resolution', () => {
    expect(surgePolicy({ resolution: 9 }).supplyRadiusMeters).toBe(600);
    expect(surgePolicy({ neighbourhoodRings: 2 }).supplyRadiusMeters).toBe(2_600);
    expect(surgePolicy({ resolution: 9, supplyRadiusMeters: 450 }).supplyRadiusMeters).toBe(450);
  });

  it.each<[string, Record<string, unknown>]>([
    ['cap', { cap: 0.9 }],
    ['cap', { cap: Number.NaN }],
    ['cap', { cap: Number.POSITIVE_INFINITY }],
    ['cap', { cap: '3' }],
    ['resolution', { resolution: 16 }],
    ['resolution', { resolution: -1 }],
    ['resolution', { resolution: 8.5 }],
    ['neighbourhoodRings', { neighbourhoodRings: 6 }],
    ['demandWindowMs', { demandWindowMs: 25_000 }],
    ['demandWindowMs', { demandWindowMs: 0 }],
    ['demandWindowMs', { demandWindowMs: 10_000_001, demandBucketMs: 1 }],
    ['demandBucketMs', { demandBucketMs: 0.5 }],
    ['supplyRadiusMeters', { supplyRadiusMeters: 0 }],
    ['threshold', { threshold: -1 }],
    ['sensitivity', { sensitivity: 0 }],
    ['halfLifeMs', { halfLifeMs: 0 }],
    ['step', { step: 0.3 }],
    ['step', { step: 2 }],
    ['step', { step: -0.1 }],
    ['halflifeMs', { halflifeMs: 1_000 }],
  ])('When %s is set to %o, then the policy is refused, naming it', (field, overrides) => {
    const attempt = () => surgePolicy(overrides as Partial<SurgePolicy>, 'Surge policy of paris');
    expect(attempt).toThrow(SurgePolicyError);
    expect(attempt).toThrow(/^Surge policy of paris: /);
    try {
      attempt();
    } catch (error) {
      expect((error as SurgePolicyError).field).toBe(field);
      expect((error as Error).message).toContain(field);
    }
  });

  it('When a full policy is validated, then a sound one passes unchanged and a bad one is refused', () => {
    const sound = { ...defaultSurgePolicy, step: 0.25, cap: 2.5 };
    expect(validateSurgePolicy(sound)).toBe(sound);
    expect(() => validateSurgePolicy({ ...defaultSurgePolicy, halfLifeMs: Number.NaN })).toThrow(
      /halfLifeMs must be a finite number of milliseconds > 0, got NaN/,
    );
  });

  it('When the model is given a bad policy for one city, then it refuses to start and names the city', () => {
    expect(() => createSurgeModel({ policies: { london: { cap: 0 } } })).toThrow(
      'Surge policy of city "london": cap must be a finite multiplier ≥ 1, got 0.',
    );
    expect(() => createSurgeModel({ maxCellsPerCity: 5 })).toThrow(/maxCellsPerCity/);
  });
});

describe('targetMultiplier', () => {
  it('When demand and supply are given, then the curve is 1 up to the threshold, linear above, capped', () => {
    const p = defaultSurgePolicy;
    expect(targetMultiplier(0, 0, p)).toBe(1);
    expect(targetMultiplier(0, 7, p)).toBe(1);
    expect(targetMultiplier(7, 7, p)).toBe(1);
    expect(targetMultiplier(10, 4, p)).toBe(1.75);
    expect(targetMultiplier(12, 4, p)).toBe(2);
    expect(targetMultiplier(20, 4, p)).toBe(3);
    expect(targetMultiplier(21, 4, p)).toBe(3);
    expect(targetMultiplier(3, 0, p)).toBe(3);
    // Below the minimum demand there is no peak to price, even with no driver around.
    expect(targetMultiplier(2, 0, p)).toBe(1);
    expect(targetMultiplier(1, 0, { ...p, minDemand: 0 })).toBe(3);
    expect(targetMultiplier(3, 2, { threshold: 0.5, sensitivity: 2, cap: 10 })).toBe(3);
  });
});

describe('The surge model', () => {
  const fast: Partial<SurgePolicy> = { step: 0, halfLifeMs: 10_000 };

  it('When a burst is recorded, then the first quote sees 1.0 and the multiplier then follows the EWMA exactly', () => {
    const model = createSurgeModel({ policies: { paris: fast } });
    record(model, 10, T0);
    // No quote has seen the supply yet: nothing justifies a surge.
    expect(model.multiplier('paris', paris, T0, supplyOf(4))).toBe(1);
    // Target 1 + 0.5 · (10/4 − 1) = 1.75, 1.5 half-lives later.
    expect(model.multiplier('paris', paris, T0 + 15 * SECOND, supplyOf(4))).toBeCloseTo(
      1.75 - 0.75 * 2 ** -1.5,
      12,
    );
  });

  it('When demand holds, then the multiplier converges to the target; when it stops, it decays to 1 after the window', () => {
    const model = createSurgeModel({ policies: { paris: { halfLifeMs: 10_000 } } });
    record(model, 12, T0);
    const shown: number[] = [];
    for (let t = 0; t <= 420 * SECOND; t += 10 * SECOND) {
      shown.push(model.multiplier('paris', paris, T0 + t, supplyOf(4)));
    }
    // Target 1 + 0.5 · (12/4 − 1) = 2.0.
    expect(shown[0]).toBe(1);
    expect(shown[1]).toBe(1.5);
    expect(shown[2]).toBe(1.8);
    expect(shown.slice(12, 30)).toEqual(new Array(18).fill(2));
    // At 300 s the requests leave the window: 2 − 1 = 1 halves every 10 s.
    // (At 320 s the raw 1.25 sits on a rounding edge: left out.)
    expect([shown[30], shown[31], shown[33], shown[34], shown[35]]).toEqual([2, 1.5, 1.1, 1.1, 1]);
    expect(shown.slice(36)).toEqual(new Array(7).fill(1));
    const zone = model.zones('paris', paris, 0, T0 + 420 * SECOND, supplyOf(4))[0]!;
    expect(zone).toMatchObject({ demand: 0, supply: 4, surge: 1 });
  });

  it('When a request is as old as the window, then it no longer counts, and a moment before it does', () => {
    const model = createSurgeModel();
    record(model, 3, T0 + 4 * SECOND);
    const demandAt = (t: number) => model.zones('paris', paris, 0, t, supplyOf(1))[0]!.demand;
    expect(demandAt(T0 + 299_999)).toBe(3);
    expect(demandAt(T0 + 300_000)).toBe(0);
  });

  it('When there is demand and no driver, then the multiplier reaches the cap and no higher', () => {
    const model = createSurgeModel({ policies: { paris: { cap: 2.95 } } });
    record(model, 3, T0);
    const seen: number[] = [];
    for (let t = 0; t <= 240 * SECOND; t += 5 * SECOND) {
      seen.push(model.multiplier('paris', paris, T0 + t, supplyOf(0)));
    }
    expect(Math.max(...seen)).toBe(2.9);
    expect(seen.at(-1)).toBe(2.9);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('When the same cell is read twice at the same instant, then both reads agree, whatever the supply says', () => {
    const model = createSurgeModel();
    record(model, 20, T0);
    model.multiplier('paris', paris, T0, supplyOf(2));
    const first = model.multiplier('paris', paris, T0 + 40 * SECOND, supplyOf(0));
    const second = model.multiplier('paris', paris, T0 + 40 * SECOND, supplyOf(50));
    expect(first).toBeGreaterThan(1);
    expect(second).toBe(first);
    // The supply seen last steers it from then on.
    expect(model.multiplier('paris', paris, T0 + 120 * SECOND, supplyOf(50))).toBeLessThan(first);
  });

  it('When a quote is priced, then supply is counted around the cell centre within the radius, and not at all without demand', () => {
    const model = createSurgeModel();
    const asked: [LatLng, number][] = [];
    const spy: SupplyAt = (point, radius) => {
      asked.push([point, radius]);
      return 3;
    };
    expect(model.multiplier('paris', paris, T0, spy)).toBe(1);
    record(model, 1, T0);
    const pickup = { lat: paris.lat + 0.001, lng: paris.lng };
    expect(latLngToCell(pickup.lat, pickup.lng, 8)).toBe(latLngToCell(paris.lat, paris.lng, 8));
    model.multiplier('paris', pickup, T0 + SECOND, spy);
    const [lat, lng] = cellToLatLng(latLngToCell(paris.lat, paris.lng, 8));
    expect(asked).toEqual([[{ lat, lng }, 1_580]]);
  });

  it('When a request is made in a neighbouring cell, then it counts; two rings away, it does not', () => {
    const model = createSurgeModel();
    const origin = latLngToCell(paris.lat, paris.lng, 8);
    const neighbour = gridDisk(origin, 1).find((c) => c !== origin)!;
    const beyond = gridDisk(origin, 2).find((c) => !gridDisk(origin, 1).includes(c))!;
    const at = (cell: string): LatLng => {
      const [lat, lng] = cellToLatLng(cell);
      return { lat, lng };
    };
    record(model, 2, T0, at(neighbour));
    record(model, 5, T0, at(beyond));
    const zones = model.zones('paris', paris, 1, T0, supplyOf(1));
    expect(zones).toHaveLength(7);
    expect(zones[0]).toMatchObject({ cell: origin, ring: 0, demand: 2 });
    expect(zones.find((z) => z.cell === neighbour)!.demand).toBe(7);
  });

  it('When time goes backwards for a call, then the cell keeps its later state', () => {
    const model = createSurgeModel({ policies: { paris: fast } });
    record(model, 10, T0);
    model.multiplier('paris', paris, T0, supplyOf(1));
    const later = model.multiplier('paris', paris, T0 + 20 * SECOND, supplyOf(1));
    expect(model.multiplier('paris', paris, T0 + 5 * SECOND, supplyOf(1))).toBe(later);
    record(model, 1, T0 + 5 * SECOND);
    expect(model.zones('paris', paris, 0, T0 + 20 * SECOND, supplyOf(1))[0]!.demand).toBe(11);
  });

  it('When demand has gone and the multiplier is back to 1, then the cells are forgotten', () => {
    const model = createSurgeModel();
    record(model, 10, T0);
    model.multiplier('paris', paris, T0, supplyOf(1));
    model.multiplier('paris', paris, T0 + 60 * SECOND, supplyOf(1));
    expect(model.trackedCells).toBe(7);
    expect(model.prune(T0 + 200 * SECOND)).toBe(0);
    expect(model.prune(T0 + 3_600 * SECOND)).toBe(7);
    expect(model.trackedCells).toBe(0);
    // Reads and requests prune a few cells each as they go, too.
    record(model, 1, T0 + 4_000 * SECOND);
    for (let i = 0; i < 4; i++) model.multiplier('paris', paris, T0 + 5_000 * SECOND, supplyOf(1));
    expect(model.trackedCells).toBe(0);
  });

  it('When requests come from everywhere, then the cells tracked per city stay under the cap, quietest dropped first', () => {
    const model = createSurgeModel({ maxCellsPerCity: 70 });
    // A hot spot that must survive, read so that it surges.
    record(model, 30, T0);
    model.multiplier('paris', paris, T0, supplyOf(1));
    for (let i = 0; i < 400; i++) {
      const point = { lat: 48.8 + (i % 20) * 0.01, lng: 2.25 + Math.floor(i / 20) * 0.01 };
      model.recordRequest('paris', point, T0 + i * 100);
      expect(model.trackedCells).toBeLessThanOrEqual(70);
    }
    expect(model.multiplier('paris', paris, T0 + 60 * SECOND, supplyOf(1))).toBeGreaterThan(2);
  });

  it('When supplyAt returns nonsense, then the model says so instead of pricing with it', () => {
    const model = createSurgeModel();
    record(model, 1, T0);
    expect(() => model.multiplier('paris', paris, T0, supplyOf(Number.NaN))).toThrow(/supplyAt/);
    expect(() => model.multiplier('paris', { lat: 91, lng: 0 }, T0, supplyOf(1))).toThrow(/invalid point/);
    expect(() => model.recordRequest('paris', paris, Number.NaN)).toThrow(/nowMs/);
    expect(() => model.zones('paris', paris, 11, T0, supplyOf(1))).toThrow(RangeError);
  });

  it("When the highest multiplier of a city is read, then it is the hottest cell's, and reading it steers nothing", () => {
    const watched = createSurgeModel({ policies: { paris: fast } });
    const unwatched = createSurgeModel({ policies: { paris: fast } });
    const calm = { lat: 48.9, lng: 2.25 };
    expect(watched.highestMultiplier('paris', T0)).toBe(1);
    for (const model of [watched, unwatched]) {
      record(model, 12, T0);
      record(model, 4, T0, calm);
      model.multiplier('paris', paris, T0, supplyOf(2));
      model.multiplier('paris', calm, T0, supplyOf(2));
    }
    for (const at of [T0 + 5 * SECOND, T0 + 20 * SECOND, T0 + 400 * SECOND]) {
      const highest = watched.highestMultiplier('paris', at);
      // The hottest cell is the busy one; its quote now gets the same multiplier, on both models.
      expect(highest).toBe(unwatched.multiplier('paris', paris, at, supplyOf(2)));
      expect(highest).toBe(watched.multiplier('paris', paris, at, supplyOf(2)));
      expect(highest).toBeGreaterThanOrEqual(unwatched.multiplier('paris', calm, at, supplyOf(2)));
    }
    expect(watched.highestMultiplier('london', T0)).toBe(1);
  });
});
