import { performance } from 'node:perf_hooks';
import { Int32Histogram, type JsHistogram } from 'hdr-histogram-js';
import {
  type Recorder,
  type RequestClass,
  type RideOutcome,
  requestClasses,
  rideOutcomes,
  type SimSeconds,
} from '../types.js';
import { createBucketPercentiles, percentilesOf } from './bucket-percentiles.js';

/**
 * What a run records (the `Recorder` the agents call) and what the report and the progress line
 * read back. Built for the simulator's hot path: thousands of calls a second from one core, so
 * counters live in pre-sized typed arrays indexed by time bucket and nothing is allocated per
 * call beyond what HDR itself does.
 *
 * Latencies are kept in microseconds: on loopback most answers take well under a millisecond,
 * and whole milliseconds would flatten them to 0 or 1. HDR histograms use the plain JavaScript
 * classes (never WebAssembly, which needs an async start and is not available everywhere):
 * per class for the whole run, 32-bit counts and 3 significant digits (±0.1%) from 1 µs to 1 h;
 * per class and time bucket, 2 significant digits (±1%, enough for a chart; bucket-percentiles.ts
 * says how their memory stays bounded); per second of wall time for the live window, the same.
 */

export interface RecorderOptions {
  /** Width of one time bucket of the series, in simulated seconds. */
  bucketSeconds: number;
  /** The run's expected simulated length: pre-sizes the per-bucket arrays (they grow past it). */
  expectedSeconds?: SimSeconds;
  /**
   * Wall seconds after which no answer can still come for a request (the client's timeout, with
   * margin): a time bucket's percentiles are final this long after a newer bucket started.
   */
  lateWallSeconds?: number;
  /** Wall clock in milliseconds (live window, late answers); tests pass their own. */
  now?: () => number;
}

/** How an answer ended: every request sent is counted in exactly one. */
export const responseKinds = ['ok', 'clientError', 'serverError', 'shed', 'network'] as const;
export type ResponseKind = (typeof responseKinds)[number];

export type ResponseCounts = Record<ResponseKind, number> & { sent: number };

/** Milliseconds; null when the class saw no request. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface TimeToMatchSummary {
  count: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

/** Per time bucket, as columns: index i of every array is the bucket starting at `t[i]`. */
export interface Series {
  bucketSeconds: number;
  /** Start of each bucket, in simulated seconds from the scenario's start. */
  t: number[];
  /** Requests sent per class, shed ones included. */
  requests: Record<RequestClass, number[]>;
  /** Answers of every class by how they ended. */
  responses: Record<ResponseKind, number[]>;
  /** Shed answers per class. */
  shed: Record<RequestClass, number[]>;
  outcomes: Record<RideOutcome, number[]>;
  /** Null where the class saw no (non-shed) request in the bucket. */
  latencyMs: Record<RequestClass, { p50: (number | null)[]; p90: (number | null)[]; p99: (number | null)[] }>;
  timeToMatchSeconds: { p50: (number | null)[]; p95: (number | null)[] };
  /** The last sample taken in the bucket; null when none was. */
  onlineDrivers: (number | null)[];
  /**
   * The highest surge sampled in the bucket; null when none was. The highest, not the last: the
   * riders report each quote's surge, and the last quote of a bucket may come from a quiet cell.
   */
  surge: (number | null)[];
}

/** Everything recorded, as plain data (JSON-able: no NaN, no Infinity). */
export interface RecordedRun {
  bucketSeconds: number;
  requests: Record<RequestClass, ResponseCounts>;
  /** Latency of the requests that were not shed (errors and network failures included). */
  latencyMs: Record<RequestClass, LatencySummary>;
  /** Answers that were neither a success (< 400) nor shed, by status; `0` is no answer at all. */
  errorsByStatus: Record<string, number>;
  outcomes: Record<RideOutcome, number>;
  timeToMatchSeconds: TimeToMatchSummary;
  /**
   * Latencies and times to match that came after their time bucket's percentiles were final
   * (`lateWallSeconds`): left out of the series, kept in the whole-run figures. Should be 0.
   */
  lateSamples: number;
  series: Series;
}

/** The last `windowSeconds` of wall time, for the progress line. */
export interface LiveStats {
  windowSeconds: number;
  requestsPerSecond: number;
  /** Over every class; null when nothing was answered in the window. */
  p99Ms: number | null;
  matched: number;
  shed: number;
  /** Server errors (5xx other than shedding) and requests that got no answer. */
  errors: number;
}

export interface RunTotals {
  requests: number;
  shed: number;
  /** Server errors (5xx other than shedding) and requests that got no answer. */
  errors: number;
  outcomes: Record<RideOutcome, number>;
}

/** The `Recorder` the agents call, plus what the progress line and the report read. */
export interface RunRecorder extends Recorder {
  /** The last `windowSeconds` (1–120) of wall time: cheap enough to call twice a second. */
  live(windowSeconds: number): LiveStats;
  /** Counts since the start of the run. */
  totals(): RunTotals;
  /** The whole run as data; `untilSeconds` extends the series to cover the scenario's length. */
  summary(untilSeconds?: SimSeconds): RecordedRun;
}

/** One hour: a latency past it is recorded as one hour (the request timeout is far below). */
const HIGHEST_LATENCY_US = 3_600_000_000;
/** One day, for the time to match. */
const HIGHEST_MATCH_MS = 86_400_000;
/** The live window is kept as this many one-second slots of wall time. */
const LIVE_SLOTS = 120;
/** A guard against a broken clock: a bucket index past this is a bug, not a long run. */
const MAX_BUCKETS = 200_000;

const classCount = requestClasses.length;
const kindCount = responseKinds.length;
const outcomeCount = rideOutcomes.length;
const classIndex = Object.fromEntries(requestClasses.map((kind, index) => [kind, index])) as Record<
  RequestClass,
  number
>;
const outcomeIndex = Object.fromEntries(rideOutcomes.map((outcome, index) => [outcome, index])) as Record<
  RideOutcome,
  number
>;
const OK = 0;
const CLIENT_ERROR = 1;
const SERVER_ERROR = 2;
const SHED = 3;
const NETWORK = 4;

const responseKindOf = (status: number): number => {
  if (status <= 0) return NETWORK;
  if (status < 400) return OK;
  if (status < 500) return CLIENT_ERROR;
  return SERVER_ERROR;
};

const wholeRunLatency = () => new Int32Histogram(1, HIGHEST_LATENCY_US, 3);
const liveLatency = () => new Int32Histogram(1, HIGHEST_LATENCY_US, 2);
const toMicros = (ms: number) => (ms > 0 ? Math.min(Math.round(ms * 1000), HIGHEST_LATENCY_US) : 0);
const toMatchMs = (seconds: number) =>
  seconds > 0 ? Math.min(Math.round(seconds * 1000), HIGHEST_MATCH_MS) : 0;

/** Rounded to the microsecond (latencies) or millisecond (seconds): the histograms hold no more. */
const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** A Float64Array that doubles when an index past its end is written. */
const growable = (length: number) => {
  let array = new Float64Array(length);
  return {
    get array() {
      return array;
    },
    ensure(needed: number) {
      if (needed <= array.length) return;
      let size = array.length;
      while (size < needed) size *= 2;
      const bigger = new Float64Array(size);
      bigger.set(array);
      array = bigger;
    },
  };
};

export const createRecorder = (options: RecorderOptions): RunRecorder => {
  const bucketSeconds = options.bucketSeconds;
  if (!(bucketSeconds > 0)) throw new RangeError(`bucketSeconds must be positive; got ${bucketSeconds}`);
  const now = options.now ?? (() => performance.now());
  const startedMs = now();
  const perSecond = 1 / bucketSeconds;
  let bucketCapacity = Math.max(16, Math.ceil((options.expectedSeconds ?? 3600) / bucketSeconds) + 2);
  /** One past the highest bucket recorded into. */
  let bucketsUsed = 0;

  // Counters per bucket, flattened: [bucket][class][response kind], [bucket][outcome].
  const responses = growable(bucketCapacity * classCount * kindCount);
  const outcomes = growable(bucketCapacity * outcomeCount);
  // Gauges per bucket: the last sample (drivers) or the highest (surge); NaN for none.
  const onlineDrivers = growable(bucketCapacity);
  const surge = growable(bucketCapacity);
  onlineDrivers.array.fill(Number.NaN);
  surge.array.fill(Number.NaN);
  const lateMs = (options.lateWallSeconds ?? 60) * 1000;
  const latencyByBucket = requestClasses.map(() =>
    createBucketPercentiles({
      highest: HIGHEST_LATENCY_US,
      percentiles: [50, 90, 99],
      lateMs,
      now,
      buckets: bucketCapacity,
    }),
  );
  const matchByBucket = createBucketPercentiles({
    highest: HIGHEST_MATCH_MS,
    percentiles: [50, 95],
    lateMs,
    now,
    buckets: bucketCapacity,
  });

  const latency = requestClasses.map(wholeRunLatency);
  const timeToMatch = new Int32Histogram(1, HIGHEST_MATCH_MS, 3);
  const outcomeTotals = new Float64Array(outcomeCount);
  const responseTotals = new Float64Array(classCount * kindCount);
  /** Non-success statuses; keyed by number so a repeat costs no string. */
  const errorStatuses = new Map<number, number>();

  // The live window: one slot per second of wall time, reused round the ring.
  const slotSecond = new Float64Array(LIVE_SLOTS).fill(-1);
  const slotRequests = new Float64Array(LIVE_SLOTS);
  const slotMatched = new Float64Array(LIVE_SLOTS);
  const slotShed = new Float64Array(LIVE_SLOTS);
  const slotErrors = new Float64Array(LIVE_SLOTS);
  const slotLatency: (JsHistogram | undefined)[] = new Array(LIVE_SLOTS);
  const liveMerged = liveLatency();

  const bucketOf = (at: SimSeconds): number => {
    // NaN and negative times land in the first bucket rather than nowhere.
    const bucket = at > 0 ? Math.floor(at * perSecond) : 0;
    if (bucket >= bucketsUsed) {
      if (bucket >= MAX_BUCKETS)
        throw new RangeError(`simulated time ${at} s is past ${MAX_BUCKETS} buckets: is the clock broken?`);
      if (bucket >= bucketCapacity) grow(bucket + 1);
      bucketsUsed = bucket + 1;
    }
    return bucket;
  };

  const grow = (needed: number) => {
    let capacity = bucketCapacity;
    while (capacity < needed) capacity *= 2;
    responses.ensure(capacity * classCount * kindCount);
    outcomes.ensure(capacity * outcomeCount);
    onlineDrivers.ensure(capacity);
    surge.ensure(capacity);
    onlineDrivers.array.fill(Number.NaN, bucketCapacity);
    surge.array.fill(Number.NaN, bucketCapacity);
    bucketCapacity = capacity;
  };

  /** The live slot of this wall second, emptied first when it last held an older second. */
  const liveSlot = (): number => {
    const second = Math.floor(now() / 1000);
    const slot = second % LIVE_SLOTS;
    if (slotSecond[slot] !== second) {
      slotSecond[slot] = second;
      slotRequests[slot] = 0;
      slotMatched[slot] = 0;
      slotShed[slot] = 0;
      slotErrors[slot] = 0;
      slotLatency[slot]?.reset();
    }
    return slot;
  };

  const count = (k: number, response: number, bucket: number) => {
    responses.array[(bucket * classCount + k) * kindCount + response]! += 1;
    responseTotals[k * kindCount + response]! += 1;
  };

  const recorder: RunRecorder = {
    request(kind, status, latencyMs, at) {
      const response = responseKindOf(status);
      const k = classIndex[kind];
      const bucket = bucketOf(at);
      count(k, response, bucket);
      const micros = toMicros(latencyMs);
      latency[k]!.recordValue(micros);
      latencyByBucket[k]!.record(bucket, micros);
      if (response !== OK) errorStatuses.set(status, (errorStatuses.get(status) ?? 0) + 1);

      const slot = liveSlot();
      slotRequests[slot]! += 1;
      if (response === SERVER_ERROR || response === NETWORK) slotErrors[slot]! += 1;
      let live = slotLatency[slot];
      if (!live) {
        live = liveLatency();
        slotLatency[slot] = live;
      }
      live.recordValue(micros);
    },

    shed(kind, at) {
      count(classIndex[kind], SHED, bucketOf(at));
      const slot = liveSlot();
      slotRequests[slot]! += 1;
      slotShed[slot]! += 1;
    },

    outcome(outcome, at) {
      const o = outcomeIndex[outcome];
      // The bucket first: finding it may grow (replace) the array.
      const bucket = bucketOf(at);
      outcomes.array[bucket * outcomeCount + o]! += 1;
      outcomeTotals[o]! += 1;
      if (outcome === 'matched') slotMatched[liveSlot()]! += 1;
    },

    timeToMatch(seconds, at) {
      const ms = toMatchMs(seconds);
      timeToMatch.recordValue(ms);
      matchByBucket.record(bucketOf(at), ms);
    },

    gauge(name, value, at) {
      const bucket = bucketOf(at);
      if (name === 'onlineDrivers') onlineDrivers.array[bucket] = value;
      // NaN (no sample yet) loses every comparison, so the first sample always lands.
      else if (!(surge.array[bucket]! >= value)) surge.array[bucket] = value;
    },

    live(windowSeconds) {
      const window = Math.min(Math.max(Math.round(windowSeconds), 1), LIVE_SLOTS);
      const nowMs = now();
      const second = Math.floor(nowMs / 1000);
      let requests = 0;
      let matched = 0;
      let shed = 0;
      let errors = 0;
      liveMerged.reset();
      for (let back = 0; back < window; back++) {
        const wanted = second - back;
        const slot = ((wanted % LIVE_SLOTS) + LIVE_SLOTS) % LIVE_SLOTS;
        if (slotSecond[slot] !== wanted) continue;
        requests += slotRequests[slot]!;
        matched += slotMatched[slot]!;
        shed += slotShed[slot]!;
        errors += slotErrors[slot]!;
        const histogram = slotLatency[slot];
        if (histogram && histogram.totalCount > 0) liveMerged.add(histogram);
      }
      // The slots cover the window's full seconds plus the current, partial one; a run younger
      // than the window is divided by its age instead.
      const covered = Math.min(window - 1 + (nowMs % 1000) / 1000, (nowMs - startedMs) / 1000);
      const [p99] = percentilesOf(liveMerged, [99]);
      return {
        windowSeconds: window,
        requestsPerSecond: covered > 0 ? requests / covered : 0,
        p99Ms: liveMerged.totalCount > 0 ? round3((p99 ?? 0) / 1000) : null,
        matched,
        shed,
        errors,
      };
    },

    totals() {
      let requests = 0;
      let shed = 0;
      let errors = 0;
      for (let k = 0; k < classCount; k++) {
        for (let r = 0; r < kindCount; r++) requests += responseTotals[k * kindCount + r]!;
        shed += responseTotals[k * kindCount + SHED]!;
        errors += responseTotals[k * kindCount + SERVER_ERROR]! + responseTotals[k * kindCount + NETWORK]!;
      }
      return { requests, shed, errors, outcomes: outcomeRecord((o) => outcomeTotals[o]!) };
    },

    summary(untilSeconds) {
      const buckets = Math.max(
        bucketsUsed,
        untilSeconds && untilSeconds > 0 ? Math.ceil(untilSeconds * perSecond) : 0,
      );
      if (buckets > bucketCapacity) grow(buckets);
      return {
        bucketSeconds,
        requests: classRecord((k) => {
          const at = (r: number) => responseTotals[k * kindCount + r]!;
          return {
            sent: at(OK) + at(CLIENT_ERROR) + at(SERVER_ERROR) + at(SHED) + at(NETWORK),
            ok: at(OK),
            clientError: at(CLIENT_ERROR),
            serverError: at(SERVER_ERROR),
            shed: at(SHED),
            network: at(NETWORK),
          };
        }),
        latencyMs: classRecord((k) => latencySummary(latency[k]!)),
        errorsByStatus: Object.fromEntries(
          [...errorStatuses.entries()].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n]),
        ),
        outcomes: outcomeRecord((o) => outcomeTotals[o]!),
        timeToMatchSeconds: matchSummary(timeToMatch),
        lateSamples: latencyByBucket.reduce((sum, bucketed) => sum + bucketed.late, matchByBucket.late),
        series: series(buckets),
      };
    },
  };

  const series = (buckets: number): Series => {
    const column = <T>(value: (bucket: number) => T): T[] =>
      Array.from({ length: buckets }, (_, b) => value(b));
    const responseAt = (b: number, k: number, r: number) =>
      responses.array[(b * classCount + k) * kindCount + r]!;
    const scale = (values: (number | null)[], divisor: number) =>
      values.map((value) => (value === null ? null : round3(value / divisor)));
    const gauge = (values: Float64Array) => column((b) => (Number.isNaN(values[b]!) ? null : values[b]!));
    const [match50 = [], match95 = []] = matchByBucket.columns(buckets);
    return {
      bucketSeconds,
      t: column((b) => b * bucketSeconds),
      requests: classRecord((k) =>
        column((b) => {
          let sent = 0;
          for (let r = 0; r < kindCount; r++) sent += responseAt(b, k, r);
          return sent;
        }),
      ),
      responses: Object.fromEntries(
        responseKinds.map((kind, r) => [
          kind,
          column((b) => {
            let sum = 0;
            for (let k = 0; k < classCount; k++) sum += responseAt(b, k, r);
            return sum;
          }),
        ]),
      ) as Record<ResponseKind, number[]>,
      shed: classRecord((k) => column((b) => responseAt(b, k, SHED))),
      outcomes: outcomeRecord((o) => column((b) => outcomes.array[b * outcomeCount + o]!)),
      latencyMs: classRecord((k) => {
        const [p50 = [], p90 = [], p99 = []] = latencyByBucket[k]!.columns(buckets);
        return { p50: scale(p50, 1000), p90: scale(p90, 1000), p99: scale(p99, 1000) };
      }),
      timeToMatchSeconds: { p50: scale(match50, 1000), p95: scale(match95, 1000) },
      onlineDrivers: gauge(onlineDrivers.array),
      surge: gauge(surge.array),
    };
  };

  return recorder;
};

const classRecord = <T>(value: (index: number) => T) =>
  Object.fromEntries(requestClasses.map((kind, index) => [kind, value(index)])) as Record<RequestClass, T>;
const outcomeRecord = <T>(value: (index: number) => T) =>
  Object.fromEntries(rideOutcomes.map((outcome, index) => [outcome, value(index)])) as Record<RideOutcome, T>;

const latencySummary = (histogram: JsHistogram): LatencySummary => {
  const count = histogram.totalCount;
  if (count === 0) return { count, p50: null, p90: null, p99: null, max: null };
  const [p50 = 0, p90 = 0, p99 = 0] = percentilesOf(histogram, [50, 90, 99]);
  return {
    count,
    p50: round3(p50 / 1000),
    p90: round3(p90 / 1000),
    p99: round3(p99 / 1000),
    // With 1 as the lowest discernible value HDR keeps the exact maximum.
    max: round3(histogram.maxValue / 1000),
  };
};

const matchSummary = (histogram: JsHistogram): TimeToMatchSummary => {
  const count = histogram.totalCount;
  if (count === 0) return { count, p50: null, p95: null, max: null };
  const [p50 = 0, p95 = 0] = percentilesOf(histogram, [50, 95]);
  return { count, p50: round3(p50 / 1000), p95: round3(p95 / 1000), max: round3(histogram.maxValue / 1000) };
};
