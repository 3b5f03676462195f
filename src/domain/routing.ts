import { distanceMeters, isValidLatLng, type LatLng } from './geo.js';

/**
 * Travel times on a city's roads, and the routing port that answers them.
 *
 * The default answer is an estimate: great-circle distance × a detour factor, driven at the
 * average road speed of the local time of day. An OSRM adapter (adapters/routing/osrm.ts) is the
 * production option; both implement `RoutingPort`, so dispatch and quotes never know which.
 */

/** Average road speed in km/h for each local hour, 0 to 23: entry `h` is the mean over `h:00–h:59`. */
export type HourlySpeeds = readonly number[];

export interface RoadModel {
  /** Road distance over great-circle distance; about 1.3 in dense European cities. */
  readonly detourFactor: number;
  /** IANA time zone whose wall clock the speed profile follows (`Europe/Paris`). */
  readonly timeZone: string;
  /**
   * Average speeds per local hour. Weekends have no commuter rush, so they get their own
   * profile; public holidays are not modelled (they count as the weekday they fall on).
   */
  readonly speedKmh: { readonly weekday: HourlySpeeds; readonly weekend: HourlySpeeds };
}

const HOURS_PER_DAY = 24;
const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;

/** Checks a model once, where it is defined, so the hot path need not. */
export const defineRoadModel = (model: RoadModel): RoadModel => {
  if (!(Number.isFinite(model.detourFactor) && model.detourFactor >= 1)) {
    throw new RangeError(`detourFactor must be a finite number >= 1, got ${model.detourFactor}`);
  }
  // Throws a RangeError naming the zone when it is unknown to this runtime.
  zoneOf(model.timeZone);
  for (const day of ['weekday', 'weekend'] as const) {
    const speeds = model.speedKmh[day];
    if (speeds.length !== HOURS_PER_DAY) {
      throw new RangeError(`speedKmh.${day} must have 24 hourly speeds, got ${speeds.length}`);
    }
    speeds.forEach((speed, hour) => {
      if (!(Number.isFinite(speed) && speed > 0)) {
        throw new RangeError(`speedKmh.${day}[${hour}] must be a positive number, got ${speed}`);
      }
    });
  }
  return model;
};

/** The slowest and fastest hourly speeds of a model; every `roadSpeedKmh` lies between them. */
export const speedBoundsKmh = (model: RoadModel): { min: number; max: number } => {
  const all = [...model.speedKmh.weekday, ...model.speedKmh.weekend];
  return { min: Math.min(...all), max: Math.max(...all) };
};

// ---------------------------------------------------------------------------------------------
// Local time, cheaply. Intl formatting costs microseconds, so it runs once per zone and quarter
// hour: the UTC offset found for a quarter hour is reused for every instant in it. Clocks change
// on whole (or, in a few zones, half or quarter) UTC hours; a quarter hour whose two ends show
// different offsets is not cached, so even historical odd-second offsets stay exact.

const OFFSET_BUCKET_MS = 15 * MS_PER_MINUTE;
const MAX_CACHED_BUCKETS = 512;

interface Zone {
  format: Intl.DateTimeFormat;
  offsets: Map<number, number>;
}

const zones = new Map<string, Zone>();

const zoneOf = (timeZone: string): Zone => {
  let zone = zones.get(timeZone);
  if (!zone) {
    zone = {
      format: new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      }),
      offsets: new Map(),
    };
    zones.set(timeZone, zone);
  }
  return zone;
};

/** Wall clock minus UTC at an instant, in whole seconds (as ms), found by formatting it. */
const formattedOffsetMs = (format: Intl.DateTimeFormat, epochMs: number): number => {
  const wholeSecondMs = Math.floor(epochMs / 1000) * 1000;
  const field: Record<string, number> = {};
  for (const part of format.formatToParts(wholeSecondMs)) {
    if (part.type !== 'literal') field[part.type] = Number(part.value);
  }
  const wall = Date.UTC(field.year!, field.month! - 1, field.day!, field.hour!, field.minute!, field.second!);
  // Date.UTC maps years 0–99 to 1900–1999; correct it for the rare far-past instant.
  const fixed = field.year! < 100 ? new Date(wall).setUTCFullYear(field.year!) : wall;
  return fixed - wholeSecondMs;
};

/** UTC offset of `timeZone` at `epochMs`, in ms. */
export const utcOffsetMs = (timeZone: string, epochMs: number): number => {
  const zone = zoneOf(timeZone);
  const bucket = Math.floor(epochMs / OFFSET_BUCKET_MS);
  const cached = zone.offsets.get(bucket);
  if (cached !== undefined) return cached;
  const start = bucket * OFFSET_BUCKET_MS;
  const atStart = formattedOffsetMs(zone.format, start);
  const atEnd = formattedOffsetMs(zone.format, start + OFFSET_BUCKET_MS - 1000);
  if (atStart !== atEnd) return formattedOffsetMs(zone.format, epochMs);
  if (zone.offsets.size >= MAX_CACHED_BUCKETS) zone.offsets.clear();
  zone.offsets.set(bucket, atStart);
  return atStart;
};

// ---------------------------------------------------------------------------------------------

/** Speed of local hour-slot `slot` (hours since the local epoch, may be negative). */
const hourlySpeed = (model: RoadModel, slot: number): number => {
  const day = Math.floor(slot / HOURS_PER_DAY);
  const hour = slot - day * HOURS_PER_DAY;
  // 1 January 1970 was a Thursday: day 0 is weekday 4 (0 = Sunday).
  const weekday = (((day + 4) % 7) + 7) % 7;
  const profile = weekday === 0 || weekday === 6 ? model.speedKmh.weekend : model.speedKmh.weekday;
  return profile[hour]!;
};

/**
 * Average road speed (km/h) at an instant, by the city's wall clock. Each hourly figure is the
 * speed at the middle of its hour (8:30 for hour 8); between two middles the speed moves linearly,
 * across midnight too (Friday 23:30 to Saturday 0:30 goes from the weekday to the weekend
 * profile), so it never jumps on the hour. The only jump is when the clocks change, by at most
 * the difference between two neighbouring hours (at night, when those are close).
 */
export const roadSpeedKmh = (model: RoadModel, at: Date): number => {
  const epochMs = at.getTime();
  // Whole milliseconds since the half hour past the local epoch's first hour: exact integers.
  const sinceFirstMiddle = epochMs + utcOffsetMs(model.timeZone, epochMs) - MS_PER_HOUR / 2;
  const slot = Math.floor(sinceFirstMiddle / MS_PER_HOUR);
  const fraction = (sinceFirstMiddle - slot * MS_PER_HOUR) / MS_PER_HOUR;
  const before = hourlySpeed(model, slot);
  const after = hourlySpeed(model, slot + 1);
  return before + (after - before) * fraction;
};

/** Seconds to drive a straight-line distance on the city's roads at that time (unrounded). */
export const estimateSeconds = (straightLineMeters: number, model: RoadModel, at: Date): number =>
  (straightLineMeters * model.detourFactor * 3.6) / roadSpeedKmh(model, at);

// ---------------------------------------------------------------------------------------------
// The port.

export interface TravelRequest {
  model: RoadModel;
  sources: readonly LatLng[];
  destinations: readonly LatLng[];
  /** When the trips start: sets the time-of-day speed. */
  at: Date;
}

/** Travel from every source to every destination. */
export interface TravelTable {
  readonly sourceCount: number;
  readonly destinationCount: number;
  /** Seconds from `sources[source]` to `destinations[destination]`; null when unroutable. */
  seconds(source: number, destination: number): number | null;
  /** Road metres, same pairs; null when unroutable or when the router gives no distances. */
  meters(source: number, destination: number): number | null;
}

export interface RoutingPort {
  table(request: TravelRequest): Promise<TravelTable>;
}

/**
 * A table over two flat row-major arrays (`[source * destinationCount + destination]`), NaN
 * marking "no answer". The arrays are used as given, not copied.
 */
export const createTravelTable = (
  sourceCount: number,
  destinationCount: number,
  seconds: Float64Array,
  meters: Float64Array,
): TravelTable => {
  const size = sourceCount * destinationCount;
  if (seconds.length !== size || meters.length !== size) {
    throw new RangeError(`a ${sourceCount}×${destinationCount} table needs ${size} entries per array`);
  }
  const at = (values: Float64Array, source: number, destination: number): number | null => {
    if (
      !(Number.isInteger(source) && source >= 0 && source < sourceCount) ||
      !(Number.isInteger(destination) && destination >= 0 && destination < destinationCount)
    ) {
      throw new RangeError(
        `pair (${source}, ${destination}) is outside a ${sourceCount}×${destinationCount} table`,
      );
    }
    const value = values[source * destinationCount + destination]!;
    return Number.isNaN(value) ? null : value;
  };
  return {
    sourceCount,
    destinationCount,
    seconds: (source, destination) => at(seconds, source, destination),
    meters: (source, destination) => at(meters, source, destination),
  };
};

/**
 * The estimated table, synchronously: great-circle distance × detour factor at the profile's
 * speed at `at` (one speed for the whole table; pickups last minutes, not hours). A point that is
 * not a valid coordinate is unroutable.
 */
export const estimateTable = ({ model, sources, destinations, at }: TravelRequest): TravelTable => {
  const secondsPerStraightMeter = (model.detourFactor * 3.6) / roadSpeedKmh(model, at);
  const seconds = new Float64Array(sources.length * destinations.length).fill(Number.NaN);
  const meters = new Float64Array(seconds.length).fill(Number.NaN);
  const validDestinations = destinations.map(isValidLatLng);
  sources.forEach((source, s) => {
    if (!isValidLatLng(source)) return;
    const row = s * destinations.length;
    destinations.forEach((destination, d) => {
      if (!validDestinations[d]) return;
      const straight = distanceMeters(source, destination);
      seconds[row + d] = straight * secondsPerStraightMeter;
      meters[row + d] = straight * model.detourFactor;
    });
  });
  return createTravelTable(sources.length, destinations.length, seconds, meters);
};

/** The default routing port: estimates only, no I/O, never fails. */
export const createEstimatedRouting = (): RoutingPort => ({
  table: async (request) => estimateTable(request),
});
