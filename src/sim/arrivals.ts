import { type City, cities } from '../domain/city.js';
import { type BoundingBox, distanceMeters, isInside, type LatLng } from '../domain/geo.js';
import { createRandom, type Random } from './random.js';
import { startSecondOfDay } from './scenario.js';
import { type Trace, type TraceRow, withinCity } from './trace.js';
import type { Arrival, CurvePoint, Scenario } from './types.js';

/**
 * The demand of a scenario: when ride requests arrive and from where to where, as a lazy stream
 * in time order. Either a non-homogeneous Poisson process following the scenario's curve, or the
 * replay of a recorded trace. Time here is simulated seconds; compressing it is the caller's job.
 */

export interface Arrivals {
  /** The next arrival, no earlier than the one before; undefined once the scenario is over. */
  next(): Arrival | undefined;
}

export interface ArrivalOptions {
  seed: number;
  /** Multiplier of the scenario's demand (and of a trace's own `scale`). */
  scale: number;
  /** The scenario's trace, loaded (loadTrace): replaces the Poisson process. */
  trace?: Trace;
}

/*
 * Trip lengths: log-normal, median 4 km, so most city rides are 2–8 km and a few cross the
 * metropolis; drawn again (not clamped, which would pile trips up on the bounds) outside 1–20 km.
 */
const TRIP_MEDIAN_METERS = 4_000;
const TRIP_LOG_SD = 0.6;
const TRIP_MIN_METERS = 1_000;
const TRIP_MAX_METERS = 20_000;
/** A drawn point that misses its area is drawn again this many times before a fallback. */
const MAX_TRIES = 100;
/** A trace row's drawn drop-off: another pickup of its hour, moved by this much (sd, each axis). */
const TRACE_DROPOFF_JITTER_METERS = 300;
/** Shorter trips than this are not worth a ride; it also keeps a drop-off off its pickup. */
const TRACE_MIN_TRIP_METERS = 500;

const EARTH_RADIUS_METERS = 6_371_008.8;
const SECONDS_PER_HOUR = 3_600;

const cityOf = (scenario: Scenario): City => {
  const city = cities.find((candidate) => candidate.id === scenario.city);
  if (!city) throw new RangeError(`scenario ${scenario.name}: unknown city ${JSON.stringify(scenario.city)}`);
  return city;
};

/** A point moved by metres north and east; exact enough over the tens of kilometres of a city. */
const offset = (point: LatLng, north: number, east: number): LatLng => ({
  lat: point.lat + (north / EARTH_RADIUS_METERS) * (180 / Math.PI),
  lng: point.lng + (east / (EARTH_RADIUS_METERS * Math.cos((point.lat * Math.PI) / 180))) * (180 / Math.PI),
});

const uniformIn = (random: Random, area: BoundingBox): LatLng => ({
  lat: random.between(area.south, area.north),
  lng: random.between(area.west, area.east),
});

// ---------------------------------------------------------------------------------------------
// The rate: piecewise linear in time, so its integral and its maximum are exact per piece.

interface Piece {
  start: number;
  end: number;
  /** The curve's value at `start` and just before `end` (a step at `end` belongs to the next). */
  from: number;
  to: number;
}

/** The curve over [0, end) as linear pieces of positive length, including its constant ends. */
const piecesOf = (curve: readonly CurvePoint[], end: number): Piece[] => {
  if (curve.length === 0) return end > 0 ? [{ start: 0, end, from: 1, to: 1 }] : [];
  const first = curve[0]!;
  const last = curve[curve.length - 1]!;
  const raw: Piece[] = [
    { start: Number.NEGATIVE_INFINITY, end: first.at, from: first.value, to: first.value },
  ];
  for (let i = 0; i + 1 < curve.length; i++) {
    const a = curve[i]!;
    const b = curve[i + 1]!;
    raw.push({ start: a.at, end: b.at, from: a.value, to: b.value });
  }
  raw.push({ start: last.at, end: Number.POSITIVE_INFINITY, from: last.value, to: last.value });
  const pieces: Piece[] = [];
  for (const piece of raw) {
    const start = Math.max(piece.start, 0);
    const stop = Math.min(piece.end, end);
    if (!(stop > start)) continue;
    pieces.push({ start, end: stop, from: valueIn(piece, start), to: valueIn(piece, stop) });
  }
  return pieces;
};

const valueIn = (piece: Piece, t: number): number =>
  piece.from === piece.to || !Number.isFinite(piece.end - piece.start)
    ? piece.from
    : piece.from + ((piece.to - piece.from) * (t - piece.start)) / (piece.end - piece.start);

/** ∫ curve dt over [from, to] (curve multiplier × seconds). */
const curveIntegral = (pieces: readonly Piece[], from: number, to: number): number => {
  let sum = 0;
  for (const piece of pieces) {
    const a = Math.max(from, piece.start);
    const b = Math.min(to, piece.end);
    if (b > a) sum += ((valueIn(piece, a) + valueIn(piece, b)) / 2) * (b - a);
  }
  return sum;
};

// ---------------------------------------------------------------------------------------------
// Places.

/** Draws pickups and drop-offs for a scenario, all inside its city. */
const createPlaces = (scenario: Scenario, city: City, random: Random) => {
  const { hotspots, backgroundShare, area } = scenario.demand;

  const insideArea = (point: LatLng) => isInside(area, point) && isInside(city.area, point);

  const tripMeters = (): number => {
    for (;;) {
      const meters = TRIP_MEDIAN_METERS * Math.exp(random.normal(0, TRIP_LOG_SD));
      if (meters >= TRIP_MIN_METERS && meters <= TRIP_MAX_METERS) return meters;
    }
  };

  /** A trip from the pickup in a random direction, ending inside the area. */
  const dropoffFrom = (pickup: LatLng): LatLng => {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const meters = tripMeters();
      const bearing = random.between(0, 2 * Math.PI);
      const point = offset(pickup, meters * Math.cos(bearing), meters * Math.sin(bearing));
      if (insideArea(point)) return point;
    }
    // A pickup in a corner of a small area: anywhere in the area, but not on the pickup.
    for (;;) {
      const point = uniformIn(random, area);
      if (distanceMeters(point, pickup) >= TRIP_MIN_METERS / 10) return point;
    }
  };

  const pickup = (): LatLng => {
    if (hotspots.length === 0 || random.uniform() < backgroundShare) return uniformIn(random, area);
    const spot = random.weighted(hotspots, (h) => h.weight);
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const point = offset(spot, random.normal(0, spot.radiusMeters), random.normal(0, spot.radiusMeters));
      if (isInside(city.area, point)) return point;
    }
    // Validation keeps every hotspot inside the city.
    return { lat: spot.lat, lng: spot.lng };
  };

  /** Near another pickup of the same hour, as people go where others come from. */
  const dropoffNear = (from: LatLng, pool: readonly LatLng[]): LatLng => {
    for (let tries = 0; tries < MAX_TRIES && pool.length > 0; tries++) {
      const near = random.pick(pool);
      const point = offset(
        near,
        random.normal(0, TRACE_DROPOFF_JITTER_METERS),
        random.normal(0, TRACE_DROPOFF_JITTER_METERS),
      );
      if (insideArea(point) && distanceMeters(point, from) >= TRACE_MIN_TRIP_METERS) return point;
    }
    return dropoffFrom(from);
  };

  return { pickup, dropoffFrom, dropoffNear };
};

// ---------------------------------------------------------------------------------------------
// The two processes.

/**
 * A non-homogeneous Poisson process by thinning (Lewis–Shedler), piece by piece: each piece is
 * sampled at its own maximum rate, so a 20x spike of one minute costs nothing over the rest of
 * the day. Times and places draw from separate streams, so a change to the places leaves the
 * times alone.
 */
const poissonArrivals = (scenario: Scenario, city: City, scale: number, random: Random): Arrivals => {
  const perSecond = (scenario.demand.baseRequestsPerMinute / 60) * scale;
  const pieces = piecesOf(scenario.demand.curve, scenario.durationSeconds);
  const times = random.fork('times');
  const places = createPlaces(scenario, city, random.fork('places'));
  let index = 0;
  let t = pieces[0]?.start ?? 0;

  const nextTime = (): number | undefined => {
    while (index < pieces.length) {
      const piece = pieces[index]!;
      const ceiling = Math.max(piece.from, piece.to) * perSecond;
      if (!(ceiling > 0)) {
        t = piece.end;
        index++;
        continue;
      }
      t += times.exponential(ceiling);
      // Memoryless: a draw past the piece's end starts afresh at the next piece's rate.
      if (t >= piece.end) {
        t = piece.end;
        index++;
        continue;
      }
      if (times.uniform() * ceiling < valueIn(piece, t) * perSecond) return t;
    }
    return undefined;
  };

  return {
    next: () => {
      const at = nextTime();
      if (at === undefined) return undefined;
      const pickup = places.pickup();
      return { at, pickup, dropoff: places.dropoffFrom(pickup) };
    },
  };
};

/**
 * A trace's rows, replayed: each row inside the window brings floor(scale) arrivals and one more
 * with probability frac(scale) — not a Poisson count, so scale 1 replays the trace exactly and a
 * larger scale keeps its shape with the least added noise. Each arrival gets its own second
 * within the row's minute (its resolution), its pickup from the row and its drop-off from the
 * row or, when the trace has none, near another pickup of the same hour.
 */
const traceArrivals = (
  scenario: Scenario,
  city: City,
  scale: number,
  trace: Trace,
  random: Random,
): Arrivals => {
  const start = startSecondOfDay(scenario);
  const end = start + scenario.durationSeconds;
  const served = withinCity(trace, city).rows;
  const pools = new Map<number, LatLng[]>();
  for (const row of served) {
    const hour = Math.floor(row.at / SECONDS_PER_HOUR);
    const pool = pools.get(hour) ?? [];
    pool.push(row.pickup);
    pools.set(hour, pool);
  }
  const rows = served.filter((row) => row.at >= start && row.at < end);
  const counts = random.fork('counts');
  const places = createPlaces(scenario, city, random.fork('places'));
  const whole = Math.floor(scale);
  const fraction = scale - whole;
  const resolution = trace.resolutionSeconds;
  const bucketOf = (row: TraceRow) =>
    resolution > 0 ? Math.floor(row.at / resolution) * resolution : row.at;

  let index = 0;
  let queue: Arrival[] = [];
  let queued = 0;

  /** The arrivals of the next bucket (a minute of a minute-resolution trace), in time order. */
  const fill = () => {
    while (queued >= queue.length && index < rows.length) {
      const bucket = bucketOf(rows[index]!);
      const width = Math.min(resolution, end - bucket);
      queue = [];
      queued = 0;
      for (; index < rows.length && bucketOf(rows[index]!) === bucket; index++) {
        const row = rows[index]!;
        const n = whole + (counts.uniform() < fraction ? 1 : 0);
        for (let k = 0; k < n; k++) {
          const at = (resolution > 0 ? bucket + counts.uniform() * width : row.at) - start;
          const pool = pools.get(Math.floor(row.at / SECONDS_PER_HOUR)) ?? [];
          const dropoff = row.dropoff ?? places.dropoffNear(row.pickup, pool);
          queue.push({ at, pickup: { ...row.pickup }, dropoff: { ...dropoff } });
        }
      }
      queue.sort((x, y) => x.at - y.at);
    }
  };

  return {
    next: () => {
      fill();
      return queued < queue.length ? queue[queued++] : undefined;
    },
  };
};

/** The scenario's ride requests, in time order over [0, durationSeconds). */
export const createArrivals = (scenario: Scenario, options: ArrivalOptions): Arrivals => {
  const { seed, scale, trace } = options;
  if (!(scale > 0 && Number.isFinite(scale)))
    throw new RangeError(`scale must be a positive number, got ${scale}`);
  const city = cityOf(scenario);
  const random = createRandom(seed).fork('demand');
  if (trace) return traceArrivals(scenario, city, scale * (scenario.demand.trace?.scale ?? 1), trace, random);
  if (scenario.demand.trace)
    throw new Error(
      `scenario ${scenario.name} replays ${scenario.demand.trace.file}: load it with loadTrace and pass it as options.trace`,
    );
  return poissonArrivals(scenario, city, scale, random);
};

/**
 * The expected number of arrivals in [from, to) (simulated seconds, clipped to the scenario): the
 * integral of the rate, or for a trace replay its rows there times the scale — exact for bounds
 * on whole minutes, as each row's arrivals spread over its minute.
 */
export const expectedArrivals = (
  scenario: Scenario,
  scale: number,
  from: number,
  to: number,
  trace?: Trace,
): number => {
  const a = Math.max(0, from);
  const b = Math.min(scenario.durationSeconds, to);
  if (!(b > a)) return 0;
  if (trace) {
    const start = startSecondOfDay(scenario);
    const rows = withinCity(trace, cityOf(scenario)).rows;
    const count = rows.filter((row) => row.at >= start + a && row.at < start + b).length;
    return count * scale * (scenario.demand.trace?.scale ?? 1);
  }
  if (scenario.demand.trace) throw new Error(`scenario ${scenario.name} replays a trace: pass it`);
  const perSecond = (scenario.demand.baseRequestsPerMinute / 60) * scale;
  return perSecond * curveIntegral(piecesOf(scenario.demand.curve, scenario.durationSeconds), a, b);
};
