import { type City, cities } from '../domain/city.js';
import { curveAt, startSecondOfDay } from '../sim/scenario.js';
import type { Trace } from '../sim/trace.js';
import { withinCity } from '../sim/trace.js';
import type { Scenario } from '../sim/types.js';
import { classIndex } from './classes.js';
import type { ModelParameters } from './parameters.js';

/**
 * The requests a scenario sends, second by second, derived from what the simulator's agents do
 * (src/sim/agents/rider.ts, driver.ts, fleet.ts) on the scenario's curves, as a fluid model:
 *
 * - a ride request is a rider asking for a quote; a shed quote is asked again after Retry-After
 *   (2 s), three attempts in all, then the rider walks away;
 * - a rider with a quote books a second later (a share `bookShare` of them: 1 by default, an
 *   upper bound, since walk-aways for surge depend on supply the model does not place); a booking
 *   that fails is sent again, three attempts in all;
 * - a booked rider follows the ride on the WebSocket (one upgrade), or, with polling clients,
 *   reads it every 3 s until it ends;
 * - a booked ride searches until a free driver takes it: matching takes a batch (1.5 s) plus the
 *   drivers' answers (mean response delay over the acceptance rate, each declined offer going to
 *   another driver: 1/acceptance offer answers per match); with fewer free drivers than searching
 *   rides, as many match as there are free drivers; a ride unmatched after the search window
 *   (120 s) expires, and a rider whose patience is shorter cancels first;
 * - a matched ride keeps its driver for the pickup (1 km straight at the hour's road speed × the
 *   city's detour factor), boarding (60 s) and the trip (the simulator's trip lengths: log-normal,
 *   median 4 km, 1–20 km, × detour, at the hour's speed), with three lifecycle calls (arrive,
 *   start, complete);
 * - every online driver reports its position every 4 s, goes online and offline with the online
 *   curve (one request each), holds a WebSocket for offers, or polls them every 2 s.
 *
 * Geography is not placed: a free driver anywhere can take any ride, so the match share is an
 * upper bound, and so are the lifecycle calls that follow it.
 */

/** Expected straight-line trip length (m): the simulator's log-normal, median 4 km, sd 0.6, kept within 1–20 km. */
const meanTripStraightMeters = (() => {
  const mu = Math.log(4000);
  const sigma = 0.6;
  let mass = 0;
  let sum = 0;
  for (let z = -8; z <= 8; z += 0.001) {
    const meters = Math.exp(mu + sigma * z);
    if (meters < 1000 || meters > 20_000) continue;
    const density = Math.exp((-z * z) / 2);
    mass += density;
    sum += density * meters;
  }
  return sum / mass;
})();

/** The city's weekday road speed (km/h) at a local second of the day, linear between the middles of hours. */
const speedAt = (city: City, localSecond: number): number => {
  const speeds = city.road.speedKmh.weekday;
  const hours = (((localSecond / 3600 - 0.5) % 24) + 24) % 24;
  const before = Math.floor(hours);
  const share = hours - before;
  return speeds[before]! * (1 - share) + speeds[(before + 1) % 24]! * share;
};

export interface DemandInput {
  scenario: Scenario;
  /** The scenario's trace, loaded (loadTrace), when it replays one. */
  trace?: Trace;
}

/** Ride requests per second for each second of the scenario. */
export const arrivalProfile = ({ scenario, trace }: DemandInput, scale: number): Float64Array => {
  const duration = Math.ceil(scenario.durationSeconds);
  const rates = new Float64Array(duration);
  if (scenario.demand.trace) {
    if (!trace)
      throw new Error(`scenario ${scenario.name} replays ${scenario.demand.trace.file}: pass its trace`);
    const start = startSecondOfDay(scenario);
    const rows = withinCity(trace, scenario.city).rows;
    const bucket = Math.max(trace.resolutionSeconds, 1);
    const counts = new Float64Array(Math.ceil(duration / bucket) + 1);
    for (const row of rows) {
      const at = row.at - start;
      if (at >= 0 && at < duration) counts[Math.floor(at / bucket)]! += 1;
    }
    const perRow = scale * scenario.demand.trace.scale;
    for (let t = 0; t < duration; t++) rates[t] = (counts[Math.floor(t / bucket)]! * perRow) / bucket;
    return rates;
  }
  const perSecond = (scenario.demand.baseRequestsPerMinute / 60) * scale;
  for (let t = 0; t < duration; t++) rates[t] = perSecond * curveAt(scenario.demand.curve, t + 0.5);
  return rates;
};

/** Drivers online for each second (the fleet follows the online curve). */
export const onlineProfile = (scenario: Scenario, scale: number): Float64Array => {
  const duration = Math.ceil(scenario.durationSeconds);
  const size = Math.max(1, Math.round(scenario.drivers.count * scale));
  const online = new Float64Array(duration);
  for (let t = 0; t < duration; t++)
    online[t] = size * Math.min(1, Math.max(0, curveAt(scenario.drivers.online, t + 0.5)));
  return online;
};

/** What happened to the rides over the run. */
export interface RideTotals {
  requested: number;
  /** Every quote attempt shed. */
  walkedAway: number;
  booked: number;
  /** Every booking attempt failed. */
  bookingFailed: number;
  matched: number;
  expired: number;
  cancelled: number;
  completed: number;
}

/** What the platform did with a second's requests, for the demand of the seconds after. */
export interface Served {
  /** Share of quotes refused (shed) or failed. */
  quoteRefused: number;
  /** Share of bookings failed (no ready pod, timed out, throttled). */
  bookingFailed: number;
}

/**
 * The demand of one run. Call `offered(t)` then `settle(t, served)` for t = 0, 1, 2…: quotes
 * refused come back, bookings follow the quotes served, and so on.
 */
export const createDemand = (input: DemandInput, parameters: ModelParameters) => {
  const { scenario } = input;
  const city = cities.find((candidate) => candidate.id === scenario.city);
  if (!city) throw new RangeError(`scenario ${scenario.name}: unknown city ${JSON.stringify(scenario.city)}`);
  const p = parameters;
  const duration = Math.ceil(scenario.durationSeconds);
  const arrivals = arrivalProfile(input, p.scale);
  const online = onlineProfile(scenario, p.scale);
  const startOfDay = startSecondOfDay(scenario);
  const { acceptanceRate, responseDelaySeconds } = scenario.drivers;
  const meanDelay = (responseDelaySeconds.min + responseDelaySeconds.max) / 2;
  const acceptance = Math.max(acceptanceRate, 0.01);
  const matchSeconds = p.batchSeconds + meanDelay / acceptance;
  const matchShare = 1 - Math.exp(-1 / matchSeconds);
  const patience = scenario.riders.patienceSeconds;
  const window = Math.max(1, Math.round(p.searchWindowSeconds));
  const cancelAge = patience < window ? Math.round(patience) : Number.POSITIVE_INFINITY;

  // Future requests, by the second they are due (a horizon past the end, so late ones land somewhere).
  const horizon = duration + 6 * 3600;
  const ahead = () => new Float64Array(horizon + 8);
  const quoteRetries = Array.from({ length: Math.max(0, p.quoteAttempts - 1) }, ahead);
  const bookingAttempts = Array.from({ length: Math.max(1, p.bookingAttempts) }, ahead);
  const arrive = ahead();
  const start = ahead();
  const complete = ahead();
  /** Searching rides by the second they were booked (a ring over the search window). */
  const cohorts = new Float64Array(window + 1);
  let searching = 0;
  let busy = 0;
  let lastMatches = 0;
  let lastCancels = 0;
  let lastBooked = 0;
  const totals: RideTotals = {
    requested: 0,
    walkedAway: 0,
    booked: 0,
    bookingFailed: 0,
    matched: 0,
    expired: 0,
    cancelled: 0,
    completed: 0,
  };

  const due = (series: Float64Array, at: number, amount: number) => {
    const index = Math.min(Math.max(0, Math.round(at)), horizon + 7);
    series[index]! += amount;
  };

  const Q = classIndex.quote;
  const B = classIndex.booking;
  /** Fills `out` (indexed as capacityClasses) with the requests per second sent in second t. */
  const offered = (t: number, out: Float64Array): Float64Array => {
    out.fill(0);
    const drivers = online[t] ?? 0;
    let quotes = arrivals[t] ?? 0;
    for (const series of quoteRetries) quotes += series[t]!;
    out[Q] = quotes;
    let bookings = 0;
    for (const series of bookingAttempts) bookings += series[t]!;
    out[B] = bookings;
    out[classIndex.location] = drivers / p.locationEverySeconds;
    const joined = t === 0 ? 0 : drivers - (online[t - 1] ?? 0);
    out[classIndex.online] = Math.abs(joined);
    out[classIndex.offerAnswer] = lastMatches / acceptance;
    out[classIndex.lifecycle] = arrive[t]! + start[t]! + complete[t]!;
    out[classIndex.cancel] = lastCancels;
    if (p.clients === 'websocket') {
      // Riders subscribe once booked; drivers open their socket on going online.
      out[classIndex.realtime] = lastBooked + Math.max(0, joined);
    } else {
      out[classIndex.read] = (searching + busy) / p.ridePollSeconds;
      out[classIndex.offerPoll] = drivers / p.offerPollSeconds;
    }
    return out;
  };

  const settle = (t: number, served: Served): void => {
    // Quotes: the first attempts and the retries due now.
    const first = arrivals[t] ?? 0;
    totals.requested += first;
    let quotesServed = 0;
    for (let attempt = 0; attempt <= quoteRetries.length; attempt++) {
      const amount = attempt === 0 ? first : quoteRetries[attempt - 1]![t]!;
      if (amount === 0) continue;
      const refused = amount * served.quoteRefused;
      quotesServed += amount - refused;
      const next = quoteRetries[attempt];
      if (next) due(next, t + p.retryAfterSeconds, refused);
      else totals.walkedAway += refused;
    }
    due(bookingAttempts[0]!, t + 1, quotesServed * p.bookShare);

    // Bookings: the failed ones are sent again a second later.
    let booked = 0;
    for (let attempt = 0; attempt < bookingAttempts.length; attempt++) {
      const amount = bookingAttempts[attempt]![t]!;
      if (amount === 0) continue;
      const failed = amount * served.bookingFailed;
      booked += amount - failed;
      const next = bookingAttempts[attempt + 1];
      if (next) due(next, t + 1, failed);
      else totals.bookingFailed += failed;
    }
    totals.booked += booked;
    lastBooked = booked;

    // Searching rides: the oldest cohorts expire or give up, then free drivers take the rest.
    const slot = t % (window + 1);
    const expiredSlot = (t + 1) % (window + 1); // booked `window` seconds ago
    const expiring = cohorts[expiredSlot]!;
    totals.expired += expiring;
    searching -= expiring;
    cohorts[expiredSlot] = 0;
    lastCancels = 0;
    if (Number.isFinite(cancelAge)) {
      const cancelSlot = (((t - cancelAge) % (window + 1)) + window + 1) % (window + 1);
      const leaving = cohorts[cancelSlot]!;
      lastCancels = leaving;
      totals.cancelled += leaving;
      searching -= leaving;
      cohorts[cancelSlot] = 0;
    }
    cohorts[slot]! += booked;
    searching += booked;

    const free = Math.max(0, (online[t] ?? 0) - busy);
    let matches = Math.min(searching, free) * matchShare;
    if (matches < 1e-9) matches = 0;
    lastMatches = matches;
    totals.matched += matches;
    searching -= matches;
    // Oldest first, as the batch assignment weighs age.
    for (let age = window - 1; age >= 0 && matches > 1e-12; age--) {
      const index = (((t - age) % (window + 1)) + window + 1) % (window + 1);
      const take = Math.min(cohorts[index]!, matches);
      cohorts[index]! -= take;
      matches -= take;
    }
    if (searching < 1e-9) searching = 0;

    // The matched rides: pickup, boarding and trip at the hour's road speed.
    const secondsPerStraightMeter = (city.road.detourFactor * 3.6) / speedAt(city, startOfDay + t);
    const pickup = p.pickupStraightMeters * secondsPerStraightMeter;
    const trip = meanTripStraightMeters * secondsPerStraightMeter;
    busy += lastMatches;
    due(arrive, t + pickup, lastMatches);
    due(start, t + pickup + p.boardingSeconds, lastMatches);
    due(complete, t + pickup + p.boardingSeconds + trip, lastMatches);
    const done = complete[t]!;
    busy = Math.max(0, busy - done);
    totals.completed += done;
  };

  return {
    duration,
    offered,
    settle,
    totals: (): RideTotals => ({ ...totals }),
    /** Drivers online at second t. */
    onlineAt: (t: number) => online[t] ?? 0,
  };
};

export type Demand = ReturnType<typeof createDemand>;

/** The requests each ride and each online driver bring, in words, for the report. */
export const derivationNotes = (parameters: ModelParameters): string[] => [
  `each ride request: 1 quote (a shed one asked again after ${parameters.retryAfterSeconds} s, ${parameters.quoteAttempts} attempts), then ${parameters.bookShare === 1 ? '1 booking' : `${parameters.bookShare} bookings`} a second later`,
  parameters.clients === 'websocket'
    ? 'each booking: 1 WebSocket upgrade; ride updates are pushed'
    : `each booked ride: 1 ride read every ${parameters.ridePollSeconds} s until it ends`,
  'each match: 1/acceptance offer answers, then arrive, start and complete (3 lifecycle calls)',
  `each online driver: 1 location update every ${parameters.locationEverySeconds} s${parameters.clients === 'polling' ? `, 1 offer poll every ${parameters.offerPollSeconds} s` : ''}; going online or offline: 1 request`,
];
