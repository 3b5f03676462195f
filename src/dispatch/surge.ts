import {
  cellToLatLng,
  getHexagonEdgeLengthAvg,
  gridDisk,
  gridDiskDistances,
  latLngToCell,
  UNITS,
} from 'h3-js';
import { isValidLatLng, type LatLng } from '../domain/geo.js';

/**
 * Surge pricing per H3 cell: pure, no timers, no I/O; time comes in as `nowMs`.
 *
 * Demand of a cell is the number of rides requested in the last `demandWindowMs` in the cell and
 * its `neighbourhoodRings` rings (the gridDisk). Supply is what the caller's `supplyAt` counts
 * within `supplyRadiusMeters` of the cell's centre. Their ratio sets a target multiplier
 * (`targetMultiplier`); the multiplier shown in a quote follows the target through a time-based
 * EWMA and is rounded to `step` without ever exceeding `cap`.
 */

/** How a city prices surge. Build one with `surgePolicy(overrides)`: it fills in and checks. */
export interface SurgePolicy {
  /** H3 resolution of a surge cell, 0–15. 8: cells of about 0.74 km², a few blocks across. */
  resolution: number;
  /** A request counts as demand for this long (at most; see `demandBucketMs`). */
  demandWindowMs: number;
  /**
   * Requests are counted in buckets of this many ms, so memory per cell is fixed
   * (`demandWindowMs / demandBucketMs` counters) and a request counts for between
   * `demandWindowMs - demandBucketMs` and `demandWindowMs`. A whole divisor of the window.
   */
  demandBucketMs: number;
  /** A cell's demand and supply take in this many rings of neighbours (gridDisk k), 0–5. */
  neighbourhoodRings: number;
  /**
   * Drivers within this distance of the cell's centre are its supply. By default, the smallest
   * radius that contains the whole neighbourhood of any cell of the resolution (`coverRadiusMeters`).
   */
  supplyRadiusMeters: number;
  /** Demand/supply ratio up to which there is no surge: 1 means "while supply covers demand". */
  threshold: number;
  /**
   * Fewer requests than this in the neighbourhood within the window is never a surge, whatever
   * the supply: one rider in a quiet suburb at night is not a peak, and must not pay the cap.
   */
  minDemand: number;
  /** Multiplier added per unit of demand/supply above the threshold. */
  sensitivity: number;
  /** The multiplier never exceeds this (≥ 1). */
  cap: number;
  /** Time for the smoothed multiplier to close half its gap to the target. */
  halfLifeMs: number;
  /** The shown multiplier is a multiple of this (a whole fraction of 1: 0.1, 0.25...); 0 = unrounded. */
  step: number;
}

/** The largest neighbourhood a policy may ask for: 91 cells, each request touches all of them. */
export const MAX_NEIGHBOURHOOD_RINGS = 5;
/** Counters per cell; beyond this the bucket is too fine for the window. */
export const MAX_DEMAND_BUCKETS = 1_000;
/** Largest disk `zones` lists (331 cells). */
export const MAX_ZONE_RINGS = 10;

/**
 * H3 cells are not regular: sampled over the globe, the farthest vertex of a neighbourhood lies
 * up to 1.102 times as far as it would in a regular grid of the average edge. 1.12 keeps a margin.
 */
const COVER_SLACK = 1.12;

const cellsInDisk = (rings: number): number => 3 * rings * rings + 3 * rings + 1;

export class SurgePolicyError extends Error {
  readonly field: string;

  constructor(field: string, detail: string) {
    super(detail);
    this.name = 'SurgePolicyError';
    this.field = field;
  }
}

const refuse = (label: string, field: string, rule: string, value: unknown): never => {
  throw new SurgePolicyError(field, `${label}: ${field} must be ${rule}, got ${String(value)}.`);
};

const checkResolution = (label: string, value: number): void => {
  if (!Number.isInteger(value) || value < 0 || value > 15) {
    refuse(label, 'resolution', 'an integer from 0 to 15', value);
  }
};

const checkRings = (label: string, value: number): void => {
  if (!Number.isInteger(value) || value < 0 || value > MAX_NEIGHBOURHOOD_RINGS) {
    refuse(label, 'neighbourhoodRings', `an integer from 0 to ${MAX_NEIGHBOURHOOD_RINGS}`, value);
  }
};

/**
 * The radius around a cell's centre that contains its whole neighbourhood, for any cell of the
 * resolution, rounded up to 10 m. In a regular hexagonal grid of edge e the farthest vertex of the
 * k-disk lies at e·√(3k² + 3k + 1); H3's distortion adds up to about 10 % (COVER_SLACK).
 * Resolution 8, one ring: 1,580 m.
 */
export const coverRadiusMeters = (resolution: number, rings: number): number => {
  checkResolution('coverRadiusMeters', resolution);
  checkRings('coverRadiusMeters', rings);
  const edge = getHexagonEdgeLengthAvg(resolution, UNITS.m);
  return Math.ceil((COVER_SLACK * edge * Math.sqrt(cellsInDisk(rings))) / 10) * 10;
};

/**
 * Defaults. A 5-minute window with threshold 1: surge starts when more rides were asked for in
 * the last 5 minutes than there are free drivers around, i.e. when the free drivers would all be
 * taken within the window. Sensitivity 0.5 reaches the cap of 3.0 at five requests per free
 * driver (strike-day levels). A 5 s half-life moves a burst-to-cap multiplier three quarters of the way within
 * 10 s and halfway in 30 s, while a driver blip of a few seconds moves it by a few hundredths.
 */
export const defaultSurgePolicy: Readonly<SurgePolicy> = Object.freeze({
  resolution: 8,
  demandWindowMs: 5 * 60_000,
  demandBucketMs: 10_000,
  neighbourhoodRings: 1,
  supplyRadiusMeters: coverRadiusMeters(8, 1),
  threshold: 1,
  minDemand: 3,
  sensitivity: 0.5,
  cap: 3,
  halfLifeMs: 5_000,
  step: 0.1,
});

const policyKeys = Object.keys(defaultSurgePolicy) as (keyof SurgePolicy)[];

/** Throws a SurgePolicyError naming the first bad field; returns the policy when it is sound. */
export const validateSurgePolicy = (policy: SurgePolicy, label = 'Surge policy'): SurgePolicy => {
  for (const key of policyKeys) {
    // Settings may come from JSON: '3' must not pass for 3.
    if (typeof policy[key] !== 'number') refuse(label, key, 'a number', JSON.stringify(policy[key]));
  }
  // Every comparison below is written so that NaN fails it.
  checkResolution(label, policy.resolution);
  checkRings(label, policy.neighbourhoodRings);
  const bucket = policy.demandBucketMs;
  if (!Number.isSafeInteger(bucket) || bucket < 1) {
    refuse(label, 'demandBucketMs', 'a whole number of milliseconds ≥ 1', bucket);
  }
  const window = policy.demandWindowMs;
  if (!Number.isSafeInteger(window) || !(window >= bucket) || window % bucket !== 0) {
    refuse(label, 'demandWindowMs', `a whole multiple of demandBucketMs (${bucket})`, window);
  }
  if (window / bucket > MAX_DEMAND_BUCKETS) {
    refuse(
      label,
      'demandWindowMs',
      `at most ${MAX_DEMAND_BUCKETS} buckets of demandBucketMs (${bucket})`,
      `${window} (${window / bucket} buckets)`,
    );
  }
  const radius = policy.supplyRadiusMeters;
  if (!(radius > 0 && radius < Number.POSITIVE_INFINITY)) {
    refuse(label, 'supplyRadiusMeters', 'a finite number of metres > 0', radius);
  }
  if (!(policy.minDemand >= 0 && policy.minDemand < Number.POSITIVE_INFINITY)) {
    refuse(label, 'minDemand', 'a finite count ≥ 0', policy.minDemand);
  }
  if (!(policy.threshold >= 0 && policy.threshold < Number.POSITIVE_INFINITY)) {
    refuse(label, 'threshold', 'a finite ratio ≥ 0', policy.threshold);
  }
  if (!(policy.sensitivity > 0 && policy.sensitivity < Number.POSITIVE_INFINITY)) {
    refuse(label, 'sensitivity', 'a finite number > 0', policy.sensitivity);
  }
  if (!(policy.cap >= 1 && policy.cap < Number.POSITIVE_INFINITY)) {
    refuse(label, 'cap', 'a finite multiplier ≥ 1', policy.cap);
  }
  if (!(policy.halfLifeMs > 0 && policy.halfLifeMs < Number.POSITIVE_INFINITY)) {
    refuse(label, 'halfLifeMs', 'a finite number of milliseconds > 0', policy.halfLifeMs);
  }
  const step = policy.step;
  if (step !== 0 && !(step > 0 && step <= 1 && Math.abs(1 / step - Math.round(1 / step)) < 1e-9)) {
    refuse(
      label,
      'step',
      '0 (no rounding) or a whole fraction of 1 (0.5, 0.25, 0.2, 0.1, 0.05, 0.01...)',
      step,
    );
  }
  return policy;
};

/**
 * A full policy from the defaults and some overrides (a city's configuration), checked.
 * Unknown fields are refused, so a misspelt setting cannot be silently ignored. When the
 * overrides leave `supplyRadiusMeters` out, it follows their resolution and rings.
 */
export const surgePolicy = (overrides: Partial<SurgePolicy> = {}, label = 'Surge policy'): SurgePolicy => {
  for (const key of Object.keys(overrides)) {
    if (!(policyKeys as string[]).includes(key)) {
      throw new SurgePolicyError(key, `${label}: unknown setting ${JSON.stringify(key)}.`);
    }
  }
  const policy: SurgePolicy = { ...defaultSurgePolicy };
  for (const key of policyKeys) {
    const value = overrides[key];
    if (value !== undefined) policy[key] = value;
  }
  if (overrides.supplyRadiusMeters === undefined) {
    checkResolution(label, policy.resolution);
    checkRings(label, policy.neighbourhoodRings);
    policy.supplyRadiusMeters = coverRadiusMeters(policy.resolution, policy.neighbourhoodRings);
  }
  return validateSurgePolicy(policy, label);
};

/**
 * The multiplier demand and supply call for, before smoothing: 1 up to `threshold` requests per
 * driver, then 1 + sensitivity · (demand/supply − threshold), at most `cap`. No demand is never a
 * surge; demand with no supply (or supply that is not a positive number) is the cap. Hence it is
 * non-decreasing in demand and non-increasing in supply.
 */
export const targetMultiplier = (
  demand: number,
  supply: number,
  policy: Pick<SurgePolicy, 'threshold' | 'sensitivity' | 'cap'> & Partial<Pick<SurgePolicy, 'minDemand'>>,
): number => {
  if (!(demand > 0) || demand < (policy.minDemand ?? 0)) return 1;
  if (!(supply > 0)) return policy.cap;
  const pressure = demand / supply - policy.threshold;
  if (!(pressure > 0)) return 1;
  const multiplier = 1 + policy.sensitivity * pressure;
  return Math.min(multiplier, policy.cap);
};

/** Grid units per 1.0 of multiplier (10 for a step of 0.1), 0 for no rounding. */
const unitsOf = (step: number): number => (step === 0 ? 0 : Math.round(1 / step));

/** The largest multiple of the step that does not exceed the cap. */
const maxShownOf = (cap: number, units: number): number => {
  if (units === 0) return cap;
  let top = Math.floor(cap * units + 1e-9);
  if (top / units > cap) top--;
  return top / units;
};

/**
 * The multiplier as shown: the nearest multiple of `step` (dividing by a whole number of units,
 * so 1.3 is the double closest to 1.3, not 13 × 0.1), within [1, largest multiple ≤ cap].
 */
export const roundMultiplier = (value: number, policy: Pick<SurgePolicy, 'step' | 'cap'>): number => {
  const units = unitsOf(policy.step);
  return shown(value, units, maxShownOf(policy.cap, units));
};

const shown = (value: number, units: number, maxShown: number): number => {
  const rounded = units === 0 ? value : Math.round(value * units) / units;
  if (!(rounded > 1)) return 1;
  return Math.min(rounded, maxShown);
};

/** Free drivers within `radiusMeters` of `point` now (the supply index's `countAvailable`). */
export type SupplyAt = (point: LatLng, radiusMeters: number) => number;

export interface SurgeModelOptions {
  /** Per city id; cities not listed get `defaultPolicy`. Checked when the model is created. */
  policies?: Readonly<Record<string, Partial<SurgePolicy>>>;
  /** Overrides of `defaultSurgePolicy` for every city not listed. */
  defaultPolicy?: Partial<SurgePolicy>;
  /**
   * Cells tracked per city at most (default 20,000: every res-8 cell of Paris or London five
   * times over). Beyond it, cells without demand that are back to 1.0 go first, then those with
   * the least surge and demand: overload loses the quietest cells, never the memory.
   */
  maxCellsPerCity?: number;
}

/** One cell of the ops view. */
export interface SurgeZone {
  /** H3 index. */
  cell: string;
  /** Grid distance from the cell of the asked point. */
  ring: number;
  centre: LatLng;
  /** Requests in the window in the cell and its neighbourhood: what its surge sees. */
  demand: number;
  /** Free drivers within the policy's radius of the centre, now. */
  supply: number;
  /** What a quote picked up in the cell gets now. */
  surge: number;
}

/** Smoothed multipliers this close to 1 with no demand left are forgotten (same as 1.0). */
const PRUNE_EPSILON = 1e-6;
/** Cells looked at for pruning per call: a record adds up to 7 cells (1 ring), so 8 keep up. */
const SWEEP_PER_RECORD = 8;
const SWEEP_PER_READ = 2;
/** No read has seen the supply since demand last rose from zero: the target is 1. */
const UNKNOWN_SUPPLY = -1;

interface CellState {
  readonly id: string;
  /** Frozen: handed to `supplyAt` and to ops as is. */
  readonly centre: LatLng;
  /** Requests per bucket; bucket b lives in slot b % buckets. */
  readonly counts: Uint32Array;
  /** Bucket of `atMs`; the live buckets are (head − buckets, head]. */
  head: number;
  /** Sum of the live buckets: the demand at `atMs`. */
  sum: number;
  /** The smoothed multiplier at `atMs`, unrounded. */
  value: number;
  /** Supply seen by the last read while there was demand, or UNKNOWN_SUPPLY. */
  supply: number;
  atMs: number;
}

interface CityState {
  readonly policy: SurgePolicy;
  readonly buckets: number;
  readonly bucketMs: number;
  /** ln 2 / half-life: the EWMA keeps exp(−Δt · decay) of its gap to the target. */
  readonly decayPerMs: number;
  readonly units: number;
  readonly maxShown: number;
  readonly cells: Map<string, CellState>;
  /** Where the incremental pruning sweep is, between calls. */
  sweep: Iterator<CellState> | undefined;
}

const checkTime = (nowMs: number): void => {
  if (!Number.isFinite(nowMs)) throw new Error(`Surge: nowMs must be a finite number, got ${nowMs}.`);
};

const checkPoint = (point: LatLng): void => {
  if (!isValidLatLng(point)) {
    throw new Error(`Surge: invalid point lat=${point.lat}, lng=${point.lng}.`);
  }
};

/**
 * Surge per H3 cell for many cities. Stateful but pure: time is passed in, there are no timers.
 *
 * Requests are counted, on arrival, in every cell of their neighbourhood, so a cell's own
 * counters are its demand and a quote reads one cell (one `latLngToCell`, one map lookup, one
 * `supplyAt`, and nothing at all when the cell has no demand).
 *
 * Smoothing is exact for demand: demand is a step function of time (up at each request, down
 * when a bucket leaves the window) and the EWMA is advanced step by step with
 * v ← T + (v − T)·exp(−Δt·ln2/halfLife), whose result does not depend on how often it is read.
 * Supply is only known when someone reads: the value read at a quote holds until the next read
 * (it steers the multiplier from then on, so reading twice at the same instant gives the same
 * answer). Until a cell with fresh demand has been read, its supply is unknown and its target is
 * 1: surge moves only on evidence. When demand falls to zero the supply seen is forgotten, so a
 * cell with no demand whose multiplier is back to 1 is the same as no cell and is dropped; were it
 * kept, a cell dropped in one history and kept in a busier one could make more demand price lower.
 * Time never runs backwards for a cell: a `nowMs` older than the cell's last update counts as
 * that update's time.
 */
export const createSurgeModel = (options: SurgeModelOptions = {}) => {
  const defaultPolicy = Object.freeze(surgePolicy(options.defaultPolicy, 'Default surge policy'));
  const policies = new Map<string, SurgePolicy>();
  for (const [cityId, overrides] of Object.entries(options.policies ?? {})) {
    policies.set(
      cityId,
      Object.freeze(surgePolicy(overrides, `Surge policy of city ${JSON.stringify(cityId)}`)),
    );
  }
  const maxCells = options.maxCellsPerCity ?? 20_000;
  let largestDisk = cellsInDisk(defaultPolicy.neighbourhoodRings);
  for (const policy of policies.values()) {
    largestDisk = Math.max(largestDisk, cellsInDisk(policy.neighbourhoodRings));
  }
  if (!Number.isSafeInteger(maxCells) || maxCells < largestDisk) {
    throw new Error(
      `Surge: maxCellsPerCity must be an integer of at least ${largestDisk} (one neighbourhood), got ${maxCells}.`,
    );
  }

  const cities = new Map<string, CityState>();

  const policyFor = (cityId: string): SurgePolicy => policies.get(cityId) ?? defaultPolicy;

  const cityState = (cityId: string): CityState => {
    let city = cities.get(cityId);
    if (city) return city;
    const policy = policyFor(cityId);
    const units = unitsOf(policy.step);
    city = {
      policy,
      buckets: policy.demandWindowMs / policy.demandBucketMs,
      bucketMs: policy.demandBucketMs,
      decayPerMs: Math.LN2 / policy.halfLifeMs,
      units,
      maxShown: maxShownOf(policy.cap, units),
      cells: new Map(),
      sweep: undefined,
    };
    cities.set(cityId, city);
    return city;
  };

  /** Brings a cell's demand and smoothed multiplier forward to `toMs`. */
  const advance = (city: CityState, cell: CellState, toMs: number): void => {
    if (!(toMs > cell.atMs)) return;
    const { bucketMs, buckets, decayPerMs, policy } = city;
    let t = cell.atMs;
    let value = cell.value;
    while (t < toMs) {
      if (cell.sum === 0) {
        // Nothing left to expire: the target is 1 until toMs.
        value = 1 + (value - 1) * Math.exp(-(toMs - t) * decayPerMs);
        cell.head = Math.floor(toMs / bucketMs);
        break;
      }
      // Demand is constant until the next bucket boundary.
      const boundary = (cell.head + 1) * bucketMs;
      const end = Math.min(boundary, toMs);
      const target = cell.supply === UNKNOWN_SUPPLY ? 1 : targetMultiplier(cell.sum, cell.supply, policy);
      value = target + (value - target) * Math.exp(-(end - t) * decayPerMs);
      t = end;
      if (end === boundary) {
        cell.head++;
        // The bucket leaving the window shares its slot with the one entering it.
        const slot = cell.head % buckets;
        cell.sum -= cell.counts[slot]!;
        cell.counts[slot] = 0;
        if (cell.sum === 0) cell.supply = UNKNOWN_SUPPLY;
      }
    }
    // A convex combination of values within [1, cap]; clamped against rounding.
    cell.value = Math.min(Math.max(value, 1), policy.cap);
    cell.atMs = toMs;
  };

  const prunable = (cell: CellState): boolean => cell.sum === 0 && cell.value - 1 < PRUNE_EPSILON;

  const sweepSome = (city: CityState, nowMs: number, count: number): void => {
    if (city.cells.size === 0) return;
    for (let i = 0; i < count; i++) {
      city.sweep ??= city.cells.values();
      const next = city.sweep.next();
      if (next.done) {
        city.sweep = undefined;
        return;
      }
      const cell = next.value;
      advance(city, cell, nowMs);
      if (prunable(cell)) city.cells.delete(cell.id);
    }
  };

  const sweepAll = (city: CityState, nowMs: number): number => {
    let forgotten = 0;
    for (const cell of city.cells.values()) {
      advance(city, cell, nowMs);
      if (prunable(cell)) {
        city.cells.delete(cell.id);
        forgotten++;
      }
    }
    city.sweep = undefined;
    return forgotten;
  };

  /** Room for `needed` new cells: prunes, then drops the quietest cells down to 7/8 of the cap. */
  const makeRoom = (city: CityState, nowMs: number, needed: number): void => {
    sweepAll(city, nowMs);
    const keep = Math.min(Math.floor((maxCells * 7) / 8), maxCells - needed);
    if (city.cells.size <= keep) return;
    const quietest = [...city.cells.values()].sort((a, b) => a.value - b.value || a.sum - b.sum);
    for (let i = 0; city.cells.size > keep; i++) city.cells.delete(quietest[i]!.id);
  };

  const addCell = (city: CityState, id: string, nowMs: number): CellState => {
    const [lat, lng] = cellToLatLng(id);
    const cell: CellState = {
      id,
      centre: Object.freeze({ lat, lng }),
      counts: new Uint32Array(city.buckets),
      head: Math.floor(nowMs / city.bucketMs),
      sum: 0,
      value: 1,
      supply: UNKNOWN_SUPPLY,
      atMs: nowMs,
    };
    city.cells.set(id, cell);
    return cell;
  };

  const sample = (supplyAt: SupplyAt, point: LatLng, radiusMeters: number): number => {
    const supply = supplyAt(point, radiusMeters);
    if (!(supply >= 0 && supply < Number.POSITIVE_INFINITY)) {
      throw new Error(`Surge: supplyAt must return a finite count ≥ 0, got ${supply}.`);
    }
    return supply;
  };

  /** The shown multiplier at `nowMs`, then the supply seen now steers it from here on. */
  const read = (city: CityState, cell: CellState, nowMs: number, supplyAt: SupplyAt): number => {
    advance(city, cell, nowMs);
    const result = shown(cell.value, city.units, city.maxShown);
    if (cell.sum > 0) cell.supply = sample(supplyAt, cell.centre, city.policy.supplyRadiusMeters);
    return result;
  };

  return {
    /** The policy a city is priced with (the default one for cities not configured). */
    policyFor,

    /** Counts a ride request as demand for its cell and the cells whose neighbourhood it is in. */
    recordRequest(cityId: string, point: LatLng, nowMs: number): void {
      checkTime(nowMs);
      checkPoint(point);
      const city = cityState(cityId);
      const { resolution, neighbourhoodRings } = city.policy;
      const origin = latLngToCell(point.lat, point.lng, resolution);
      const disk = neighbourhoodRings === 0 ? [origin] : gridDisk(origin, neighbourhoodRings);
      if (city.cells.size + disk.length > maxCells) makeRoom(city, nowMs, disk.length);
      for (const id of disk) {
        let cell = city.cells.get(id);
        if (cell) advance(city, cell, nowMs);
        else cell = addCell(city, id, nowMs);
        cell.counts[cell.head % city.buckets]!++;
        cell.sum++;
      }
      sweepSome(city, nowMs, SWEEP_PER_RECORD);
    },

    /**
     * The surge multiplier for a quote picked up at `point`: smoothed, capped, rounded to the
     * step. 1 for a cell without demand, without calling `supplyAt`.
     */
    multiplier(cityId: string, point: LatLng, nowMs: number, supplyAt: SupplyAt): number {
      checkTime(nowMs);
      checkPoint(point);
      const city = cities.get(cityId);
      if (!city || city.cells.size === 0) return 1;
      const cell = city.cells.get(latLngToCell(point.lat, point.lng, city.policy.resolution));
      const result = cell ? read(city, cell, nowMs, supplyAt) : 1;
      sweepSome(city, nowMs, SWEEP_PER_READ);
      return result;
    },

    /**
     * The ops view: every cell within `rings` of the point's cell, nearest ring first, then by
     * cell id. Its `surge` is what `multiplier` returns for the cell at that instant.
     */
    zones(cityId: string, point: LatLng, rings: number, nowMs: number, supplyAt: SupplyAt): SurgeZone[] {
      checkTime(nowMs);
      checkPoint(point);
      if (!Number.isInteger(rings) || rings < 0 || rings > MAX_ZONE_RINGS) {
        throw new RangeError(`Surge: rings must be an integer from 0 to ${MAX_ZONE_RINGS}, got ${rings}.`);
      }
      const city = cityState(cityId);
      const radius = city.policy.supplyRadiusMeters;
      const origin = latLngToCell(point.lat, point.lng, city.policy.resolution);
      const zones: SurgeZone[] = [];
      gridDiskDistances(origin, rings).forEach((ids, ring) => {
        for (const id of [...ids].sort()) {
          const cell = city.cells.get(id);
          if (cell) {
            const surge = read(city, cell, nowMs, supplyAt);
            const supply = cell.sum > 0 ? cell.supply : sample(supplyAt, cell.centre, radius);
            zones.push({ cell: id, ring, centre: cell.centre, demand: cell.sum, supply, surge });
          } else {
            const [lat, lng] = cellToLatLng(id);
            const centre = Object.freeze({ lat, lng });
            zones.push({
              cell: id,
              ring,
              centre,
              demand: 0,
              supply: sample(supplyAt, centre, radius),
              surge: 1,
            });
          }
        }
      });
      return zones;
    },

    /**
     * The highest multiplier a quote anywhere in the city would get now (1 with no demand): what
     * `multiplier` returns for the city's hottest cell. It samples no supply, so watching the
     * surge (metrics) never steers it; a cell's smoothed value does not depend on how often it is
     * brought forward. One pass over the city's tracked cells.
     */
    highestMultiplier(cityId: string, nowMs: number): number {
      checkTime(nowMs);
      const city = cities.get(cityId);
      if (!city) return 1;
      let highest = 1;
      for (const cell of city.cells.values()) {
        advance(city, cell, nowMs);
        highest = Math.max(highest, shown(cell.value, city.units, city.maxShown));
      }
      return highest;
    },

    /** Forgets every cell whose demand has left the window and whose surge is back to 1. */
    prune(nowMs: number): number {
      checkTime(nowMs);
      let forgotten = 0;
      for (const city of cities.values()) forgotten += sweepAll(city, nowMs);
      return forgotten;
    },

    /** Cells tracked, all cities together (for metrics and tests). */
    get trackedCells(): number {
      let count = 0;
      for (const city of cities.values()) count += city.cells.size;
      return count;
    },
  };
};

export type SurgeModel = ReturnType<typeof createSurgeModel>;
