import { CLASS_COUNT, type ClassRates, type MeasuredClass, measuredClasses, ratesOf } from './classes.js';
import type { Costs } from './costs.js';
import { createDemand, type DemandInput, type RideTotals } from './demand.js';
import { exceedance } from './latency.js';
import type { ModelParameters } from './parameters.js';
import { judge, type SloPlan, type SloResult, slisOf } from './slo.js';

/**
 * The same scenario on functions instead of pods, as common FaaS platforms run them:
 *
 * - an instance serves `serverlessConcurrency` requests at once (1: one request at a time, as
 *   Lambda) and is held for the request's whole latency, database waits included (the measured
 *   light-load mean of its class);
 * - the instances needed are the requests in flight (rate × duration) with room for their
 *   Poisson spread (mean + 2.33 √mean, the 99th percentile of the number in flight);
 * - a request that finds no idle warm instance starts one and waits its cold start (default: the
 *   measured start-up of `peakride serve`); new instances are limited to a scale-out rate
 *   (Lambda: 1,000 per 10 s per function, refilled continuously) and a concurrency cap (1,000);
 *   a request beyond them is throttled — an error (429 or 5xx at the gateway: the booking is not
 *   made);
 * - an instance idle for `keepWarmSeconds` is reclaimed.
 *
 * No shedding (an instance is never overloaded), no queueing on a shared event loop with one
 * request per instance. Not modelled: the database connections a thousand instances open.
 */

export interface ServerlessPoint {
  t: number;
  demand: ClassRates;
  /** Instances alive (warm or starting) at the end of the period. */
  instances: number;
  /** Requests in flight, mean over the period. */
  busy: number;
  coldStarts: number;
  throttled: number;
  /** Share of requests that waited for a cold start over the period. */
  coldShare: number;
  p99Ms: Record<MeasuredClass, number>;
}

export interface ServerlessRun {
  slo: SloResult[];
  series: ServerlessPoint[];
  totals: {
    requests: number;
    coldStarts: number;
    throttled: number;
    /** Instance-seconds spent on requests and cold starts (what is billed). */
    billedSeconds: number;
    /** Instance-seconds alive, idle warm ones included. */
    aliveSeconds: number;
    peakInstances: number;
    worstP99Ms: Record<MeasuredClass, number>;
    rides: RideTotals;
  };
}

const Z99 = 2.326;

export const runServerless = (
  input: DemandInput,
  parameters: ModelParameters,
  costs: Costs,
  plans: readonly SloPlan[],
  options: { series?: boolean } = {},
): ServerlessRun => {
  const p = parameters;
  const demand = createDemand(input, p);
  const duration = demand.duration;
  const concurrency = Math.max(1, p.serverlessConcurrency);
  const coldMs = p.coldStartSeconds * 1000;
  const refill = p.scaleOutPer10Seconds / 10;
  const sli = slisOf(plans, costs);
  const rates = new Float64Array(CLASS_COUNT);

  /** Instances needed for the requests in flight, and the event-loop load per instance. */
  const needOf = () => {
    let inFlight = 0;
    let elu = 0;
    let requests = 0;
    for (let i = 0; i < CLASS_COUNT; i++) {
      inFlight += rates[i]! * costs.serviceSeconds[i]!;
      elu += rates[i]! * costs.utilization[i]!;
      requests += rates[i]!;
    }
    const instances = inFlight / concurrency;
    return { inFlight, elu, requests, need: instances + Z99 * Math.sqrt(instances) };
  };

  // Warm start: the pool the first second needs.
  demand.offered(0, rates);
  let pool = Math.min(p.maxInstances, Math.ceil(needOf().need));
  let tokens = p.scaleOutPer10Seconds;
  /** Rolling maximum of the need over the keep-warm window (a monotonic queue). */
  const recent: Array<{ t: number; need: number }> = [];
  const totals = {
    requests: 0,
    coldStarts: 0,
    throttled: 0,
    billedSeconds: 0,
    aliveSeconds: 0,
    peakInstances: pool,
    worstP99Ms: { quote: 0, booking: 0, location: 0, read: 0 },
  };
  const series: ServerlessPoint[] = [];
  const period = Math.max(1, Math.round(p.syncPeriodSeconds));
  let bucket = newBucket(0);

  for (let t = 0; t < duration; t++) {
    if (t > 0) demand.offered(t, rates);
    const { inFlight, elu, need, requests } = needOf();

    tokens = Math.min(p.scaleOutPer10Seconds, tokens + refill);
    const wanted = Math.max(0, need - pool);
    const started = Math.min(wanted, tokens, Math.max(0, p.maxInstances - pool));
    tokens -= started;
    pool += started;
    const unmet = wanted - started;
    // Each instance started was started by a request that waits for it; the instances that could
    // not be started are the requests they would have served, throttled.
    const meanService = requests > 0 ? inFlight / requests : 0;
    const throttled = meanService > 0 ? Math.min(requests, (unmet * concurrency) / meanService) : 0;
    const throttledShare = requests > 0 ? throttled / requests : 0;
    const coldShare = requests > 0 ? Math.min(1, started / requests) : 0;
    const rho = concurrency > 1 && pool > 0 ? Math.min(0.995, elu / pool) : 0;

    while (recent.length > 0 && recent[recent.length - 1]!.need <= need) recent.pop();
    recent.push({ t, need });
    while (recent[0]!.t <= t - p.keepWarmSeconds) recent.shift();
    pool = Math.min(pool, Math.max(Math.ceil(recent[0]!.need), 0));

    for (const item of sli) {
      for (const i of item.classes) {
        const amount = rates[i]!;
        if (amount <= 0) continue;
        item.counter.events += amount;
        if (item.kind === 'availability') item.counter.bad += amount * throttledShare;
        else {
          const cache = item.latency[i]!;
          const x = item.thresholdMs;
          const slow =
            (1 - coldShare) * cache.exceedance(rho, 0, x) + coldShare * cache.exceedance(rho, coldMs, x);
          item.counter.bad += amount * (throttledShare + (1 - throttledShare) * slow);
        }
      }
    }
    demand.settle(t, { quoteRefused: throttledShare, bookingFailed: throttledShare });

    totals.requests += requests;
    totals.coldStarts += started;
    totals.throttled += throttled;
    totals.billedSeconds += inFlight + started * p.coldStartSeconds;
    totals.aliveSeconds += pool;
    totals.peakInstances = Math.max(totals.peakInstances, pool);

    bucket.seconds++;
    for (let i = 0; i < CLASS_COUNT; i++) bucket.demand[i]! += rates[i]!;
    bucket.busy += inFlight;
    bucket.coldStarts += started;
    bucket.throttled += throttled;
    bucket.requests += requests;
    bucket.worstRho = Math.max(bucket.worstRho, rho);
    bucket.worstCold = Math.max(bucket.worstCold, coldShare);
    if ((t + 1) % period === 0 || t === duration - 1) {
      const point = closeBucket(bucket, pool, costs, coldMs);
      for (const kind of measuredClasses)
        totals.worstP99Ms[kind] = Math.max(totals.worstP99Ms[kind], point.p99Ms[kind]);
      if (options.series) series.push(point);
      bucket = newBucket(t + 1);
    }
  }
  return {
    slo: plans.map((plan, index) => judge(plan, sli.find((item) => item.index === index)?.counter)),
    series,
    totals: { ...totals, rides: demand.totals() },
  };
};

interface Bucket {
  t: number;
  seconds: number;
  demand: Float64Array;
  busy: number;
  coldStarts: number;
  throttled: number;
  requests: number;
  worstRho: number;
  worstCold: number;
}

const newBucket = (t: number): Bucket => ({
  t,
  seconds: 0,
  demand: new Float64Array(CLASS_COUNT),
  busy: 0,
  coldStarts: 0,
  throttled: 0,
  requests: 0,
  worstRho: 0,
  worstCold: 0,
});

/** p99 of a mixture: most requests at their service latency, a share after a cold start. */
const mixtureP99 = (costs: Costs, kind: MeasuredClass, rho: number, coldShare: number, coldMs: number) => {
  const cache = costs.latency[kind];
  if (coldShare < 1e-4) return cache.p99(rho, 0);
  if (coldShare >= 0.99) return cache.p99(rho, coldMs);
  const tail = (x: number) =>
    (1 - coldShare) * exceedance(cache.model, rho, 0, x) +
    coldShare * exceedance(cache.model, rho, coldMs, x);
  let low = 0;
  let high = cache.p99(rho, coldMs) + 1;
  for (let i = 0; i < 40 && high - low > 0.05; i++) {
    const middle = (low + high) / 2;
    if (tail(middle) > 0.01) low = middle;
    else high = middle;
  }
  return high;
};

const closeBucket = (bucket: Bucket, pool: number, costs: Costs, coldMs: number): ServerlessPoint => {
  const n = Math.max(1, bucket.seconds);
  // At the period's worst second: the highest share of requests waiting for a cold start.
  const p99 = (kind: MeasuredClass) => mixtureP99(costs, kind, bucket.worstRho, bucket.worstCold, coldMs);
  return {
    t: bucket.t,
    demand: ratesOf(bucket.demand, 1 / n),
    instances: pool,
    busy: bucket.busy / n,
    coldStarts: bucket.coldStarts / n,
    throttled: bucket.throttled / n,
    coldShare: bucket.requests > 0 ? bucket.coldStarts / bucket.requests : 0,
    p99Ms: { quote: p99('quote'), booking: p99('booking'), location: p99('location'), read: p99('read') },
  };
};
