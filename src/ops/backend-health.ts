import { withTimeout } from './with-timeout.js';

export interface HealthLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface BackendHealthOptions {
  /** How often each backend is probed. */
  intervalMs: number;
  /** A probe slower than this counts as a failure. */
  timeoutMs: number;
  /** Failed probes in a row that mark a backend down; one success marks it up again. */
  downAfter: number;
}

/**
 * Probes the backends a process depends on (PostgreSQL, Redis) in the background, so readiness
 * and request admission can answer from memory: a backend that stops answering is reported down
 * (requests that need it get 503 with Retry-After) instead of each request discovering it after a
 * timeout; when the backend answers again, the process recovers by itself.
 *
 * Down only after `downAfter` failed probes in a row: one slow answer (a GC pause, a retransmitted
 * packet) must not refuse a second of traffic, while an outage is still seen within a few probes.
 * Up again on the first success: refusing a backend that answers helps nobody.
 */
export const createBackendHealth = <Name extends string>(
  probes: Readonly<Partial<Record<Name, () => Promise<unknown>>>>,
  { intervalMs, timeoutMs, downAfter }: BackendHealthOptions,
  logger: HealthLogger,
) => {
  if (!(Number.isInteger(downAfter) && downAfter >= 1)) {
    throw new Error(`Backend health: downAfter must be a whole number of probes >= 1, got ${downAfter}.`);
  }
  const down = new Set<Name>();
  /** Failed probes in a row, per backend. */
  const failures = new Map<Name, number>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  const probe = async (name: Name, run: () => Promise<unknown>) => {
    try {
      await withTimeout(run(), timeoutMs);
      failures.delete(name);
      if (down.delete(name)) logger.info({ backend: name }, 'backend reachable again');
    } catch (error) {
      const failed = (failures.get(name) ?? 0) + 1;
      failures.set(name, failed);
      if (failed < downAfter || down.has(name)) return;
      down.add(name);
      logger.warn({ backend: name, failedProbes: failed, err: error }, 'backend unreachable');
    }
  };

  const entries = Object.entries(probes) as Array<[Name, () => Promise<unknown>]>;
  const round = () => Promise.all(entries.map(([name, run]) => probe(name, run)));

  const loop = () => {
    timer = setTimeout(() => {
      void round().finally(() => {
        if (!stopped) loop();
      });
    }, intervalMs);
  };

  return {
    /** Probes once before resolving, then every `intervalMs` after each round ends. */
    async start(): Promise<void> {
      stopped = false;
      await round();
      loop();
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
    /** The backends marked down now: for readiness, request admission and the 503's detail. */
    down(): Name[] {
      return [...down];
    },
  };
};

export type BackendHealth<Name extends string = string> = ReturnType<typeof createBackendHealth<Name>>;
