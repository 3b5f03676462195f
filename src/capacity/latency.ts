import type { ClassCapacity } from './pod-capacity.js';

/**
 * The latency of a request to a pod whose event loop is busy a share ρ of the time:
 *
 *   latency = backlog + service + wait
 *
 * - service: the latency measured at light load, log-normal through its measured p50 and p99;
 * - wait: the event loop is one server, so a request's turns queue behind the others' as in an
 *   M/M/1 queue: P(wait > y) = ρ · exp(−y (1 − ρ) / τ), mean ρτ/(1 − ρ) (docs/load-shedding.md:
 *   "a queue at utilisation ρ waits about ρ/(1−ρ) times a request's own time"). τ, the mean
 *   work a request of the class waits behind per turn, is fitted per class to the p99 measured at
 *   the HPA target and near saturation (bench/pod-capacity.mjs), so the queue is calibrated, not
 *   assumed;
 * - backlog: when the critical load alone exceeds the pod (ρ ≥ 1), the work left over queues
 *   and every request waits for it first.
 *
 * Pure and memoised: the model asks for the same few (class, ρ) pairs millions of times.
 */

export interface LatencyModel {
  /** ln of the service median (ms). */
  mu: number;
  sigma: number;
  /** τ, ms. */
  turnMs: number;
}

const SQRT2 = Math.SQRT2;
const Z99 = 2.326347874;

/** Complementary error function (Numerical Recipes' erfcc; relative error under 1.2e-7). */
const erfc = (x: number): number => {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
};

/** Inverse of the standard normal CDF (Acklam's rational approximation, ~1e-9). */
const normalQuantile = (p: number): number => {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
};

/** Quantile points of the standard normal, for averaging over the service time. */
const POINTS = 64;
const standardPoints = Array.from({ length: POINTS }, (_, i) => normalQuantile((i + 0.5) / POINTS));

const serviceSurvival = (model: LatencyModel, y: number) =>
  y <= 0 ? 1 : 0.5 * erfc((Math.log(y) - model.mu) / (model.sigma * SQRT2));

/** P(latency > x ms) at utilisation `rho` (capped below 1) with `backlogMs` queued ahead. */
export const exceedance = (model: LatencyModel, rho: number, backlogMs: number, x: number): number => {
  const y = x - backlogMs;
  if (y <= 0) return 1;
  const r = Math.min(Math.max(rho, 0), 0.995);
  const pService = serviceSurvival(model, y);
  if (r <= 0) return pService;
  // E[exp(-(y - S)(1 - r)/τ); S <= y], over quantile points of S.
  const decay = (1 - r) / model.turnMs;
  let sum = 0;
  for (const z of standardPoints) {
    const s = Math.exp(model.mu + model.sigma * z);
    if (s <= y) sum += Math.exp(-(y - s) * decay);
  }
  return Math.min(1, (1 - r) * pService + r * (pService + sum / POINTS));
};

/** The latency (ms) a share `q` of requests stay under. */
export const latencyQuantile = (model: LatencyModel, rho: number, backlogMs: number, q = 0.99): number => {
  const tail = 1 - q;
  let low = backlogMs;
  let high =
    backlogMs +
    Math.exp(model.mu + 4 * model.sigma) +
    (model.turnMs / Math.max(1 - Math.min(rho, 0.995), 1e-3)) * 12;
  while (exceedance(model, rho, backlogMs, high) > tail) high *= 2;
  for (let i = 0; i < 50 && high - low > 0.01; i++) {
    const middle = (low + high) / 2;
    if (exceedance(model, rho, backlogMs, middle) > tail) low = middle;
    else high = middle;
  }
  return high;
};

/** Mean service time, ms (the log-normal's mean). */
export const meanServiceMs = (model: LatencyModel) => Math.exp(model.mu + (model.sigma * model.sigma) / 2);

/**
 * The model of one measured class: service through its light-load p50 and p99, τ fitted to each
 * measured point (the geometric mean over points; the median service time when none was measured).
 */
export const latencyModelOf = (capacity: ClassCapacity): LatencyModel => {
  const { p50, p99 } = capacity.latencyMs;
  const mu = Math.log(p50);
  const sigma = Math.max(Math.log(p99 / p50) / Z99, 0.05);
  const fits: number[] = [];
  for (const point of capacity.points) {
    const base = { mu, sigma, turnMs: 1 };
    const at = (turnMs: number) => latencyQuantile({ ...base, turnMs }, point.utilization, 0);
    if (at(1e-3) >= point.p99Ms) continue; // no queueing to see at this point
    let low = 1e-3;
    let high = 1;
    while (at(high) < point.p99Ms && high < 1e6) high *= 2;
    for (let i = 0; i < 60; i++) {
      const middle = Math.sqrt(low * high);
      if (at(middle) < point.p99Ms) low = middle;
      else high = middle;
    }
    fits.push(Math.sqrt(low * high));
  }
  const turnMs =
    fits.length > 0 ? Math.exp(fits.reduce((sum, fit) => sum + Math.log(fit), 0) / fits.length) : p50;
  return { mu, sigma, turnMs };
};

/**
 * Memoised exceedance and p99 for one model, on a grid of ρ (0.005) and backlog (10 ms): the
 * replay asks every second, with values that repeat.
 */
export const createLatencyCache = (model: LatencyModel) => {
  const exceedances = new Map<number, Map<number, number>>();
  const p99s = new Map<number, number>();
  const rhoStep = (rho: number) => Math.round(Math.min(Math.max(rho, 0), 0.995) * 200);
  const backlogStep = (backlogMs: number) => Math.round(Math.max(backlogMs, 0) / 10);
  return {
    model,
    exceedance(rho: number, backlogMs: number, x: number): number {
      let byKey = exceedances.get(x);
      if (!byKey) {
        byKey = new Map();
        exceedances.set(x, byKey);
      }
      const r = rhoStep(rho);
      const b = backlogStep(backlogMs);
      const key = b * 256 + r;
      let value = byKey.get(key);
      if (value === undefined) {
        value = exceedance(model, r / 200, b * 10, x);
        byKey.set(key, value);
      }
      return value;
    },
    p99(rho: number, backlogMs: number): number {
      const r = rhoStep(rho);
      const b = backlogStep(backlogMs);
      const key = b * 256 + r;
      let value = p99s.get(key);
      if (value === undefined) {
        value = latencyQuantile(model, r / 200, b * 10);
        p99s.set(key, value);
      }
      return value;
    },
  };
};
export type LatencyCache = ReturnType<typeof createLatencyCache>;
