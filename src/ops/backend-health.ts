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
}

/**
 * Probes the backends a process depends on (PostgreSQL, Redis) in the background, so readiness
 * and request admission can answer from memory: a backend that stops answering turns readiness
 * false and new requests into 503 with Retry-After at once, instead of each request discovering
 * it after a timeout; when the backend answers again, the process recovers by itself.
 */
export const createBackendHealth = (
  probes: Readonly<Record<string, () => Promise<unknown>>>,
  { intervalMs, timeoutMs }: BackendHealthOptions,
  logger: HealthLogger,
) => {
  const down = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  const probe = async (name: string, run: () => Promise<unknown>) => {
    try {
      await withTimeout(run(), timeoutMs);
      if (down.delete(name)) logger.info({ backend: name }, 'backend reachable again');
    } catch (error) {
      if (!down.has(name)) logger.warn({ backend: name, err: error }, 'backend unreachable');
      down.add(name);
    }
  };

  const round = () => Promise.all(Object.entries(probes).map(([name, run]) => probe(name, run)));

  const loop = () => {
    timer = setTimeout(() => {
      void round().finally(() => {
        if (!stopped) loop();
      });
    }, intervalMs);
  };

  return {
    /** Probes once (so a process starts knowing), then keeps probing. */
    async start(): Promise<void> {
      stopped = false;
      await round();
      loop();
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
    healthy(): boolean {
      return down.size === 0;
    },
    /** The backends not answering now, for logs and the 503's detail. */
    down(): string[] {
      return [...down];
    },
  };
};

export type BackendHealth = ReturnType<typeof createBackendHealth>;
