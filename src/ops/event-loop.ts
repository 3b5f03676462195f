import { type EventLoopUtilization, performance } from 'node:perf_hooks';

export interface EventLoopSamplerOptions {
  /** The utilisation reported covers about this much of the recent past. */
  windowMs?: number;
  sampleEveryMs?: number;
}

/**
 * Event-loop utilisation over a sliding window: the share of time the loop spent running code
 * rather than waiting for I/O, 0 (idle) to 1 (saturated). Unlike CPU it counts only this
 * thread, and unlike lag it rises smoothly before requests queue: the signal to scale a Node
 * service on. A cumulative reading is taken every `sampleEveryMs`; the value is the utilisation
 * from the oldest reading kept (about `windowMs` ago) to now, so a scrape costs one subtraction.
 */
export const createEventLoopSampler = ({
  windowMs = 10_000,
  sampleEveryMs = 1_000,
}: EventLoopSamplerOptions = {}) => {
  const keep = Math.ceil(windowMs / sampleEveryMs) + 1;
  const readings: EventLoopUtilization[] = [performance.eventLoopUtilization()];
  const timer = setInterval(() => {
    readings.push(performance.eventLoopUtilization());
    if (readings.length > keep) readings.shift();
  }, sampleEveryMs);
  // Sampling must never keep a process alive that is otherwise done.
  timer.unref();
  return {
    /** 0..1; 0 until the loop has run at all since the oldest reading. */
    utilization(): number {
      const { utilization } = performance.eventLoopUtilization(readings[0]);
      return Number.isFinite(utilization) ? Math.min(Math.max(utilization, 0), 1) : 0;
    },
    stop(): void {
      clearInterval(timer);
    },
  };
};
