/**
 * The priority classes of the HTTP routes. Every route declares one (`config: { priority }`):
 * - `critical`: what keeps rides moving — going online or offline, location updates, offer
 *   polling, accepts and declines, bookings, cancels and lifecycle calls — plus the
 *   infrastructure routes and the realtime upgrade. Always served.
 * - `sheddable`: quotes, ride reads and ops views. Refused first, with 503, while the event
 *   loop is saturated: a rider retries a quote a few seconds later, a lost location update or
 *   booking is a lost ride.
 */
export const priorities = ['critical', 'sheddable'] as const;
export type Priority = (typeof priorities)[number];

export const isPriority = (value: unknown): value is Priority =>
  typeof value === 'string' && (priorities as readonly string[]).includes(value);

export interface SheddingThresholds {
  /** Mean event-loop delay over a sample, in ms; 0 turns this signal off. */
  maxEventLoopDelayMs: number;
  /** Event-loop utilisation over a sample, 0-1; 0 turns this signal off. */
  maxEventLoopUtilization: number;
}

export interface SheddingOptions extends SheddingThresholds {
  sampleIntervalMs: number;
  /** The `Retry-After` of a shed answer. */
  retryAfterSeconds: number;
}

export interface LoopSignals {
  eventLoopDelayMs: number;
  eventLoopUtilization: number;
}

/** Samples in a row over a threshold before shedding starts: one slow sample (a GC, a busy host) is noise. */
const CONFIRM_SAMPLES = 2;
/** While over a threshold, the admitted share of the sheddable class is halved every sample... */
const ADMIT_DECREASE = 0.5;
/** ...and while under, it grows back by this much a sample (20 samples, 5 s at the default interval, from none to all: measured, a faster recovery let floods back in before the loop had drained). */
const ADMIT_INCREASE = 0.05;

/**
 * Decides which share of the sheddable class to refuse, from the event-loop signals sampled
 * at a fixed interval. A plain on/off gate (refuse everything while over, nothing while under)
 * oscillates: refusing everything empties the loop, the next sample is under, the full load
 * comes back at once and the critical class pays for it in latency. So the admitted share
 * follows AIMD, as TCP's window does: halved while the loop is over a threshold, grown
 * back by a step while it is under, which settles near the share the loop can carry.
 */
export const createShedController = ({
  maxEventLoopDelayMs,
  maxEventLoopUtilization,
}: SheddingThresholds) => {
  let admitted = 1;
  let overStreak = 0;
  return {
    /** Takes one sample of the signals; returns the share of the sheddable class now refused. */
    sample({ eventLoopDelayMs, eventLoopUtilization }: LoopSignals): number {
      const over =
        (maxEventLoopDelayMs > 0 && eventLoopDelayMs > maxEventLoopDelayMs) ||
        (maxEventLoopUtilization > 0 && eventLoopUtilization > maxEventLoopUtilization);
      overStreak = over ? overStreak + 1 : 0;
      if (over && (overStreak >= CONFIRM_SAMPLES || admitted < 1)) admitted *= ADMIT_DECREASE;
      else if (!over) admitted = Math.min(1, admitted + ADMIT_INCREASE);
      return 1 - admitted;
    },
    /** The share of the sheddable class refused now (0 when the loop keeps up). */
    get shedShare(): number {
      return 1 - admitted;
    },
    /** Whether to refuse this request of the given class. */
    sheds(priority: Priority, random: () => number = Math.random): boolean {
      return priority === 'sheddable' && admitted < 1 && random() >= admitted;
    },
  };
};

export type ShedController = ReturnType<typeof createShedController>;
