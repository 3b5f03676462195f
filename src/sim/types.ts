/**
 * The contracts between the city simulator's parts (docs/simulator.md): the scenario and its
 * demand (scenario.ts, arrivals.ts, trace.ts), the agents and their scheduler (run.ts, agents),
 * and what a run records and reports (report/).
 */
import type { LatLng } from '../domain/geo.js';

/** A point in simulated time, in seconds from the scenario's start. */
export type SimSeconds = number;

/** `multiplier` of the base rate (or `share` of the drivers) at `at`; linear in between. */
export interface CurvePoint {
  at: SimSeconds;
  value: number;
}

export interface Hotspot {
  name: string;
  lat: number;
  lng: number;
  /** Share of the non-background demand (weights are normalised). */
  weight: number;
  /** Pickups fall around the centre, normally distributed with this standard deviation. */
  radiusMeters: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** A served city's id (`paris`, `london`, `new-york`). */
  city: string;
  durationSeconds: SimSeconds;
  /**
   * Simulated seconds per wall second when the run gives no `--speed`: a day-long scenario
   * is meant to be watched in minutes.
   */
  speed?: number;
  /** Local wall-clock time of day at the scenario's start, `HH:MM` (time-of-day effects, reports). */
  startsAt: string;
  demand: {
    /** Ride requests per minute at multiplier 1. */
    baseRequestsPerMinute: number;
    /** The multiplier of the base rate over time; constant 1 when empty. */
    curve: CurvePoint[];
    hotspots: Hotspot[];
    /** Share of requests spread uniformly over the background area instead of the hotspots. */
    backgroundShare: number;
    /** Where background pickups and every drop-off fall; defaults to a box around the hotspots. */
    area: { south: number; west: number; north: number; east: number };
    /** Replaces the Poisson process: pickups from a recorded trace (trace.ts). */
    trace?: { file: string; scale: number };
  };
  drivers: {
    /** Drivers at share 1. */
    count: number;
    /** Share of `count` online over time; constant 1 when empty. */
    online: CurvePoint[];
    /** Probability that a driver accepts an offer. */
    acceptanceRate: number;
    /** A human answers an offer after a delay drawn uniformly in this range (seconds). */
    responseDelaySeconds: { min: number; max: number };
  };
  riders: {
    /** A rider walks away instead of booking when the quote's surge is above this. */
    maxSurge: number;
    /** A rider cancels when no driver is assigned after this long (seconds of simulated time). */
    patienceSeconds: number;
  };
}

/** One ride request the demand produces. */
export interface Arrival {
  at: SimSeconds;
  pickup: LatLng;
  dropoff: LatLng;
}

/** The classes of requests the agents send, each with its own latency histogram. */
export const requestClasses = [
  'quote',
  'booking',
  'cancel',
  'location',
  'online',
  'offer',
  'lifecycle',
  'read',
] as const;
export type RequestClass = (typeof requestClasses)[number];

/** Ride outcomes the agents observe. */
export const rideOutcomes = [
  'requested',
  'walkedAway',
  'created',
  'matched',
  'expired',
  'cancelled',
  'completed',
  'failed',
] as const;
export type RideOutcome = (typeof rideOutcomes)[number];

/** What a run records, second by second of simulated time; the report is built from it. */
export interface Recorder {
  /**
   * One answered (or failed: status 0) request. `latencyMs` counts from the time the request
   * was scheduled to leave, not from when it left (open model).
   */
  request(kind: RequestClass, status: number, latencyMs: number, at: SimSeconds): void;
  /**
   * One request refused by load shedding: a 503 whose problem title is `SERVICE.OVERLOADED`.
   * Call it instead of `request()`: a refusal is neither an error nor a latency sample (its
   * millisecond answers would flatter the percentiles of the requests that were served).
   */
  shed(kind: RequestClass, at: SimSeconds): void;
  outcome(outcome: RideOutcome, at: SimSeconds): void;
  /** A ride got its driver `seconds` after it was booked (wall seconds: the server's clock). */
  timeToMatch(seconds: number, at: SimSeconds): void;
  /** Drivers online and the highest surge seen in quotes, sampled by the run. */
  gauge(name: 'onlineDrivers' | 'surge', value: number, at: SimSeconds): void;
}

/** What the end-of-run audit found; every list empty is a pass (DESIGN.md, invariants 1–3). */
export interface Invariants {
  /** Rides whose booking got a 2xx and that the API no longer knows. */
  lostBookings: string[];
  /** A driver that held two active rides at once, as the rides' own records show. */
  doubleAssignments: Array<{ driverId: string; rideIds: string[] }>;
  /** Rides left `searching` past their window, or offers left pending past their timeout. */
  stuckRides: Array<{ rideId: string; status: string; reason: string }>;
}

/** Everything about a run the report needs besides what the recorder holds. */
export interface RunFacts {
  scenario: Scenario;
  seed: number;
  /** Simulated seconds per wall second. */
  speed: number;
  /** Multiplier of the scenario's demand and drivers. */
  scale: number;
  /** The API the run drove; `embedded` when the simulator started its own server. */
  target: string;
  embedded: boolean;
  simulatedSeconds: number;
  /** Wall time of the scenario, from its clock's start to its end (setup and audit excluded). */
  wallSeconds: number;
  /** Wall time after the scenario's end until every booked ride had a driver or an end. */
  settleSeconds: number;
  /** The simulator's WebSockets: its budget (open files), the most open at once, agents that polled for want of one. */
  webSockets: { budget: number | null; peakOpen: number; overBudget: number };
  /** CPU time the simulator process used over `wallSeconds`. */
  simulatorCpuSeconds: number;
  invariants: Invariants;
  /** The target's /metrics text at the start and at the end of the run, for the SLO verdicts. */
  metricsBefore?: string;
  metricsAfter?: string;
}
