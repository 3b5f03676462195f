import { type MeasuredClass, measuredClasses } from './classes.js';

/**
 * What one api pod (one process, one core) can take, as `npm run bench:capacity`
 * (bench/pod-capacity.mjs) measures it and writes it to deploy/capacity/pod-capacity.json. The
 * model needs the cost of a request of each class in event-loop and CPU seconds, and the latency
 * of each class when the pod is idle, at the HPA's target and near saturation (to calibrate its
 * queueing model, latency.ts). Anyone can write the file from their own measurements: the format
 * is in docs/capacity.md.
 */

export interface ClassCapacity {
  /** Event-loop seconds one request takes (event-loop utilisation per request per second). */
  utilizationPerRequest: number;
  /** CPU seconds of the whole process per request (GC and helper threads included). */
  cpuSecondsPerRequest: number;
  /** Latency at light load (the pod nearly idle), from the scheduled send time. */
  latencyMs: { p50: number; p99: number };
  /** Measured points under load: the utilisation reached, the rate sent, the p99 there. */
  points: Array<{ utilization: number; requestsPerSecond: number; p99Ms: number }>;
}

export interface PodCapacity {
  version: 1;
  /** ISO date of the measurement. */
  measuredAt: string;
  /** What was measured, in a sentence (process, backends, pinning). */
  setup: string;
  /**
   * Seconds from spawning `peakride serve` to its first ready answer, as this run saw it
   * (informative: the model takes BENCHMARKS.md's start-up, measured on its own).
   */
  startupSeconds?: number;
  /** Event-loop utilisation of an idle pod (timers, the supply stream, metrics). */
  idleUtilization: number;
  /** CPU cores an idle pod uses. */
  idleCpu: number;
  /**
   * Event-loop seconds a pod spends applying one location update that another pod served: every
   * api pod keeps a full replica of driver supply, fed by the Redis stream (0 in one process).
   */
  replicaApplyUtilizationPerUpdate: number;
  /** Event-loop seconds of one refused (shed) request; the bare Fastify anchor's cost is an upper bound. */
  refusalUtilizationPerRequest: number;
  /** The anchor measured in the same run: a bare Fastify server's throughput on the same core. */
  anchor: { name: string; requestsPerSecond: number };
  classes: Record<MeasuredClass, ClassCapacity>;
  /** The realistic mix measured as one stream, to check that costs add up (informative). */
  mix?: {
    shares: Partial<Record<MeasuredClass, number>>;
    utilizationPerRequest: number;
    predictedUtilizationPerRequest: number;
  };
}

/** A pod-capacity file the model cannot use; names the file and the field. */
export class PodCapacityFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'PodCapacityFileError';
  }
}

type Fields = Record<string, unknown>;
const isRecord = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown) => JSON.stringify(value) ?? String(value);

/** Checks a parsed pod-capacity document; `file` names it in errors. */
export const parsePodCapacity = (document: unknown, file: string): PodCapacity => {
  const fail = (field: string, problem: string): never => {
    throw new PodCapacityFileError(file, field, problem);
  };
  if (!isRecord(document)) return fail('', 'expected a JSON object (the format: docs/capacity.md)');
  if (document.version !== 1) fail('version', `must be 1; got ${show(document.version)}`);
  const number = (value: unknown, field: string, rule: { min?: number; above?: number; max?: number }) => {
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (rule.min === undefined || value >= rule.min) &&
      (rule.above === undefined || value > rule.above) &&
      (rule.max === undefined || value <= rule.max);
    if (!ok) {
      const bounds = [
        rule.min !== undefined ? `>= ${rule.min}` : '',
        rule.above !== undefined ? `> ${rule.above}` : '',
        rule.max !== undefined ? `<= ${rule.max}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      fail(
        field,
        value === undefined
          ? `missing (a number ${bounds})`
          : `must be a number ${bounds}; got ${show(value)}`,
      );
    }
    return value as number;
  };
  const text = (value: unknown, field: string) =>
    typeof value === 'string' ? value : fail(field, `must be text; got ${show(value)}`);

  const classes = isRecord(document.classes) ? document.classes : fail('classes', 'missing');
  const parsedClasses = Object.fromEntries(
    measuredClasses.map((kind) => {
      const at = `classes.${kind}`;
      const entry = isRecord(classes[kind]) ? (classes[kind] as Fields) : fail(at, 'missing');
      const latency = isRecord(entry.latencyMs) ? entry.latencyMs : fail(`${at}.latencyMs`, 'missing');
      const p50 = number(latency.p50, `${at}.latencyMs.p50`, { above: 0 });
      const p99 = number(latency.p99, `${at}.latencyMs.p99`, { above: 0 });
      if (p99 < p50) fail(`${at}.latencyMs.p99`, `must not be below p50 (${p50}); got ${p99}`);
      const points = entry.points ?? [];
      if (!Array.isArray(points))
        fail(`${at}.points`, 'must be a list of { utilization, requestsPerSecond, p99Ms }');
      const utilizationPerRequest = number(entry.utilizationPerRequest, `${at}.utilizationPerRequest`, {
        above: 0,
        max: 10,
      });
      const value: ClassCapacity = {
        utilizationPerRequest,
        cpuSecondsPerRequest:
          entry.cpuSecondsPerRequest === undefined
            ? utilizationPerRequest
            : number(entry.cpuSecondsPerRequest, `${at}.cpuSecondsPerRequest`, { above: 0, max: 10 }),
        latencyMs: { p50, p99 },
        points: (points as unknown[]).map((point, index) => {
          const where = `${at}.points[${index}]`;
          if (!isRecord(point)) return fail(where, 'must be an object');
          return {
            utilization: number(point.utilization, `${where}.utilization`, { above: 0, max: 1 }),
            requestsPerSecond: number(point.requestsPerSecond, `${where}.requestsPerSecond`, { above: 0 }),
            p99Ms: number(point.p99Ms, `${where}.p99Ms`, { above: 0 }),
          };
        }),
      };
      return [kind, value];
    }),
  ) as Record<MeasuredClass, ClassCapacity>;

  const anchor = isRecord(document.anchor) ? document.anchor : fail('anchor', 'missing');
  const anchorRate = number(anchor.requestsPerSecond, 'anchor.requestsPerSecond', { above: 0 });
  return {
    version: 1,
    measuredAt: text(document.measuredAt, 'measuredAt'),
    setup: text(document.setup, 'setup'),
    ...(document.startupSeconds === undefined
      ? {}
      : { startupSeconds: number(document.startupSeconds, 'startupSeconds', { above: 0, max: 600 }) }),
    idleUtilization: number(document.idleUtilization ?? 0, 'idleUtilization', { min: 0, max: 1 }),
    idleCpu: number(document.idleCpu ?? 0, 'idleCpu', { min: 0, max: 64 }),
    replicaApplyUtilizationPerUpdate: number(
      document.replicaApplyUtilizationPerUpdate ?? 0,
      'replicaApplyUtilizationPerUpdate',
      { min: 0, max: 1 },
    ),
    refusalUtilizationPerRequest: number(
      document.refusalUtilizationPerRequest ?? 1 / anchorRate,
      'refusalUtilizationPerRequest',
      { min: 0, max: 1 },
    ),
    anchor: { name: typeof anchor.name === 'string' ? anchor.name : 'anchor', requestsPerSecond: anchorRate },
    classes: parsedClasses,
    ...(isRecord(document.mix) ? { mix: document.mix as unknown as NonNullable<PodCapacity['mix']> } : {}),
  };
};
