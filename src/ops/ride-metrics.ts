import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CancelledBy, OfferOutcome, RideObserver } from '../flows/ride-observer.js';
import { withTimeout } from './with-timeout.js';

/** From request to driver assigned; the SLO rules read the 60 s bucket, so it must stay a bound. */
export const TIME_TO_MATCH_BUCKETS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300];

/** A scrape reads the database at most this often; scrapes in between get the last answer. */
const OPEN_REQUESTS_CACHE_MS = 2_000;
/** A database that does not answer leaves the gauge out rather than holding up the whole scrape. */
const OPEN_REQUESTS_TIMEOUT_MS = 1_000;

const cancelledBy: readonly CancelledBy[] = ['rider', 'driver', 'system'];

/** What the per-city gauges show, each a value per city id. A role leaves out what another reports. */
export interface CityReadings {
  availableDrivers?(): Record<string, number>;
  openRequests?(): Promise<Record<string, number>>;
  highestSurge?(): Record<string, number>;
}

/** Which events this process commits, so it exports their series (at 0) from the start. */
export interface CountedHere {
  /** Bookings, offer answers, cancels and the lifecycle: the API. */
  requests: boolean;
  /** Search windows and offer timeouts: the worker. */
  timers: boolean;
}

/** Keeps the last answer for `ttlMs` of real time (not the platform clock, which tests move). */
const cachedFor = <T>(ttlMs: number, read: () => Promise<T>) => {
  let last: { atMs: number; answer: Promise<T> } | undefined;
  return (): Promise<T> => {
    const nowMs = performance.now();
    if (!last || nowMs - last.atMs >= ttlMs) {
      const answer = read();
      last = { atMs: nowMs, answer };
      // A failure is not kept: the next scrape asks again.
      answer.catch(() => {
        if (last?.answer === answer) last = undefined;
      });
    }
    return last.answer;
  };
};

/**
 * The business signals: rides requested, matched, expired, cancelled (by whom) and completed per
 * city, time to match, offer outcomes, and per-city gauges of supply, open requests and surge read
 * at scrape time. Labels are the city id, who cancelled and the offer outcome: a handful of values.
 */
export const createRideMetrics = (registry: Registry) => {
  const requested = new Counter({
    name: 'peakride_rides_requested_total',
    help: 'Rides booked (a replayed booking is not counted again), by city',
    labelNames: ['city'] as const,
    registers: [registry],
  });
  const matched = new Counter({
    name: 'peakride_rides_matched_total',
    help: 'Rides a driver accepted, by city (a ride its driver dropped counts again when re-matched)',
    labelNames: ['city'] as const,
    registers: [registry],
  });
  const expired = new Counter({
    name: 'peakride_rides_expired_total',
    help: 'Rides whose search window passed with no driver, by city',
    labelNames: ['city'] as const,
    registers: [registry],
  });
  const cancelled = new Counter({
    name: 'peakride_rides_cancelled_total',
    help: 'Rides ended cancelled, by city and by whom (rider, driver: no-show, system)',
    labelNames: ['city', 'by'] as const,
    registers: [registry],
  });
  const completed = new Counter({
    name: 'peakride_rides_completed_total',
    help: 'Rides completed, by city',
    labelNames: ['city'] as const,
    registers: [registry],
  });
  const timeToMatch = new Histogram({
    name: 'peakride_time_to_match_seconds',
    help: 'Time from a ride starting to search (its request, or its driver dropping it) to a driver accepting it, by city',
    labelNames: ['city'] as const,
    buckets: TIME_TO_MATCH_BUCKETS,
    registers: [registry],
  });
  const offerOutcomes = new Counter({
    name: 'peakride_offer_outcomes_total',
    help: 'Offers answered by their driver: accepted, declined (going offline included) or timed_out',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  let readings: CityReadings = {};
  let openRequests: (() => Promise<Record<string, number>>) | undefined;

  const showPerCity = (gauge: Gauge<'city'>, values: Record<string, number> | undefined) => {
    gauge.reset();
    for (const [city, value] of Object.entries(values ?? {})) gauge.set({ city }, value);
  };
  new Gauge({
    name: 'peakride_available_drivers',
    help: "Fresh available drivers (online, not offered or on a ride) in the city's service area",
    labelNames: ['city'] as const,
    registers: [registry],
    collect() {
      showPerCity(this, readings.availableDrivers?.());
    },
  });
  new Gauge({
    name: 'peakride_open_requests',
    help: 'Rides searching for a driver, by city (read from the database at most every 2 s)',
    labelNames: ['city'] as const,
    registers: [registry],
    async collect() {
      let values: Record<string, number> | undefined;
      try {
        values = await openRequests?.();
      } catch {
        // The database is down or slow: this gauge goes missing, the rest of the scrape is served.
      }
      showPerCity(this, values);
    },
  });
  new Gauge({
    name: 'peakride_surge_multiplier_max',
    help: "Highest surge multiplier a quote would get now among the city's cells (1: no surge)",
    labelNames: ['city'] as const,
    registers: [registry],
    collect() {
      showPerCity(this, readings.highestSurge?.());
    },
  });

  const observer: RideObserver = {
    rideRequested: (ride) => requested.inc({ city: ride.city }),
    rideMatched: (ride, waitedSeconds) => {
      matched.inc({ city: ride.city });
      timeToMatch.observe({ city: ride.city }, Math.max(waitedSeconds, 0));
    },
    rideExpired: (ride) => expired.inc({ city: ride.city }),
    rideCancelled: (ride, by) => cancelled.inc({ city: ride.city, by }),
    rideCompleted: (ride) => completed.inc({ city: ride.city }),
    offerAnswered: (outcome) => offerOutcomes.inc({ outcome }),
  };

  return {
    /**
     * The observer to give the flows. The series of the events this process counts start at 0
     * for every city, so rates and SLO ratios exist before the first event.
     */
    observer(cities: readonly string[], here: CountedHere): RideObserver {
      const outcomes: OfferOutcome[] = [];
      if (here.requests) outcomes.push('accepted', 'declined');
      if (here.timers) outcomes.push('timed_out');
      for (const outcome of outcomes) offerOutcomes.inc({ outcome }, 0);
      for (const city of cities) {
        if (here.requests) {
          requested.inc({ city }, 0);
          matched.inc({ city }, 0);
          completed.inc({ city }, 0);
          timeToMatch.zero({ city });
          for (const by of cancelledBy) cancelled.inc({ city, by }, 0);
        }
        if (here.timers) expired.inc({ city }, 0);
      }
      return observer;
    },
    /** Tells the per-city gauges where to read from; those without a reading show no series. */
    reportCities(sources: CityReadings): void {
      readings = sources;
      const read = sources.openRequests;
      openRequests = read
        ? cachedFor(OPEN_REQUESTS_CACHE_MS, () => withTimeout(read(), OPEN_REQUESTS_TIMEOUT_MS))
        : undefined;
    },
  };
};

export type RideMetrics = ReturnType<typeof createRideMetrics>;
