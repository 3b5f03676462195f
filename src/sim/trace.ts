import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { type City, cities } from '../domain/city.js';
import { isInside, isValidLatLng, type LatLng } from '../domain/geo.js';
import { utcOffsetMs } from '../domain/routing.js';

/**
 * A recorded demand trace: a CSV file of timestamped pickups (data/uber-nyc-2014-04-04.csv, or any
 * trace a user brings), read into rows the arrivals replay (arrivals.ts). A row that cannot be
 * used is skipped and reported with its line, never guessed at.
 *
 * The columns are found by their header, in any case and order, with or without separators:
 * - time: `Date/Time`, `datetime`, `timestamp`, `time`, `pickup_datetime`, `tpep_pickup_datetime`…
 *   Written `2014/4/4 00:03:00` (year first) or `4/4/2014 0:03:00` (US order, as the TLC writes
 *   it), or ISO 8601 (`2014-04-04T00:03:00`). A time without a zone is the city's wall clock; one
 *   with a zone (`Z`, `-04:00`) is converted to the city's wall clock when the city is known.
 * - pickup: `Lat`/`Lon` (also `lat`, `latitude`, `lng`, `long`, `longitude`, `pickup_lat`,
 *   `pickup_latitude`, `pickup_lng`, `pickup_lon`, `pickup_longitude`, `start_lat`…).
 * - drop-off, optional: `dropoff_lat`/`dropoff_lng` (also `dropoff_latitude`, `dropoff_lon`,
 *   `dropoff_longitude`, `end_lat`, `end_lng`…).
 * Other columns (`Base`) are ignored.
 *
 * Rows outside the city's service area are skipped as "outside the service area of <city>" —
 * here, by `withinCity`, which `loadTrace` applies when given a city and `createArrivals` always
 * applies, so nothing outside the area is ever replayed and every such row is reported.
 */

export interface TraceRow {
  /** The row's line in the file, for reports. */
  line: number;
  /** Seconds from the trace's first local midnight (wall clock). */
  at: number;
  pickup: LatLng;
  dropoff?: LatLng;
}

export interface SkippedRow {
  line: number;
  reason: string;
}

export interface Trace {
  file: string;
  /** The local date of the first row (`2014-04-04`): `at` counts from its midnight. */
  date: string;
  /**
   * Seconds between the times the trace can tell apart: 60 when every time is on the minute
   * (the replay spreads each row over its minute), 1 when on the second, 0 when finer.
   */
  resolutionSeconds: number;
  /** Usable rows, by time (and by line within a time). */
  rows: TraceRow[];
  /** Unusable rows, by line. */
  skipped: SkippedRow[];
}

/** A problem with the trace file as a whole (unreadable, no usable column or row). */
export class TraceFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TraceFileError';
  }
}

/** Header names, lower-cased and without separators (`pickup_lat` → `pickuplat`). */
const columnNames = {
  time: [
    'datetime',
    'timestamp',
    'time',
    'date',
    'pickupdatetime',
    'pickuptime',
    'tpeppickupdatetime',
    'lpeppickupdatetime',
    'requestedat',
    'starttime',
  ],
  lat: ['lat', 'latitude', 'pickuplat', 'pickuplatitude', 'startlat', 'startlatitude'],
  lng: [
    'lon',
    'lng',
    'long',
    'longitude',
    'pickuplon',
    'pickuplng',
    'pickuplong',
    'pickuplongitude',
    'startlon',
    'startlng',
    'startlongitude',
  ],
  dropoffLat: ['dropofflat', 'dropofflatitude', 'endlat', 'endlatitude'],
  dropoffLng: [
    'dropofflon',
    'dropofflng',
    'dropofflong',
    'dropofflongitude',
    'endlon',
    'endlng',
    'endlongitude',
  ],
} as const;
type Column = keyof typeof columnNames;

const normalise = (header: string) => header.toLowerCase().replace(/[^a-z0-9]/g, '');

const SECONDS_PER_DAY = 86_400;
const yearFirst = /^(\d{4})\/(\d{1,2})\/(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const monthFirst = /^(\d{1,2})\/(\d{1,2})\/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const iso = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

interface WallClock {
  /** Milliseconds of the wall clock read as if it were UTC: day arithmetic without zones. */
  wallMs: number;
}

/** The wall-clock time of a timestamp, or the reason it is not one. */
const parseTime = (text: string, timeZone: string | undefined): WallClock | string => {
  let parts: number[];
  let fraction = 0;
  let zone: string | undefined;
  const a = yearFirst.exec(text);
  const b = a ? null : monthFirst.exec(text);
  const c = a || b ? null : iso.exec(text);
  if (a) parts = [a[1], a[2], a[3], a[4], a[5], a[6]].map((part) => Number(part ?? 0));
  else if (b) parts = [b[3], b[1], b[2], b[4], b[5], b[6]].map((part) => Number(part ?? 0));
  else if (c) {
    parts = [c[1], c[2], c[3], c[4], c[5], c[6]].map((part) => Number(part ?? 0));
    fraction = c[7] ? Number(c[7]) : 0;
    zone = c[8];
  } else {
    return `bad time ${JSON.stringify(text)} (expected 2014/4/4 00:03:00, 4/4/2014 0:03:00 or ISO 8601)`;
  }
  const [year, month, day, hour, minute, second] = parts as [number, number, number, number, number, number];
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second) + Math.round(fraction * 1000);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return `bad time ${JSON.stringify(text)} (no such date or time of day)`;
  if (zone === undefined) return { wallMs };
  // The written digits are the wall clock of the written zone; convert to the city's.
  const [, sign = '+', hh = '0', mm = '0'] = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone) ?? [];
  const writtenOffsetMs =
    zone.toUpperCase() === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm)) * 60_000;
  if (timeZone === undefined) return { wallMs };
  const epochMs = wallMs - writtenOffsetMs;
  return { wallMs: epochMs + utcOffsetMs(timeZone, epochMs) };
};

const coordinate = (text: string | undefined, column: string, limit: number): number | string => {
  if (text === undefined || text === '') return `missing ${column}`;
  const value = Number(text);
  if (!Number.isFinite(value)) return `bad number ${JSON.stringify(text)} in ${column}`;
  if (Math.abs(value) > limit) return `${column} ${value} is out of range (±${limit})`;
  return value;
};

const cityById = (id: string): City => {
  const city = cities.find((candidate) => candidate.id === id);
  if (!city)
    throw new RangeError(
      `unknown city ${JSON.stringify(id)} (served: ${cities.map((c) => c.id).join(', ')})`,
    );
  return city;
};

/**
 * The trace without its rows outside the city's service area (pickup or given drop-off), which
 * join the skipped rows as "outside the service area of <city>". Idempotent.
 */
export const withinCity = (trace: Trace, city: City | string): Trace => {
  const { id, area } = typeof city === 'string' ? cityById(city) : city;
  const rows: TraceRow[] = [];
  const outside: SkippedRow[] = [];
  for (const row of trace.rows) {
    if (!isInside(area, row.pickup))
      outside.push({ line: row.line, reason: `outside the service area of ${id}` });
    else if (row.dropoff && !isInside(area, row.dropoff))
      outside.push({ line: row.line, reason: `drop-off outside the service area of ${id}` });
    else rows.push(row);
  }
  if (outside.length === 0) return trace;
  return { ...trace, rows, skipped: [...trace.skipped, ...outside].sort((x, y) => x.line - y.line) };
};

/**
 * Reads a trace. With `city` (an id), times with a zone are converted to its wall clock and rows
 * outside its service area are skipped (`withinCity`).
 */
export const loadTrace = async (file: string, options: { city?: string } = {}): Promise<Trace> => {
  const city = options.city === undefined ? undefined : cityById(options.city);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TraceFileError(
      file,
      `cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  const skipped: SkippedRow[] = [];
  // With `info`, each record comes as { record, info }; csv-parse's sync typings do not say so.
  const records = parse(text, {
    info: true,
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    skip_records_with_error: true,
    on_skip: (error) => {
      // The error carries the line it was found on, untyped.
      const line = typeof error?.lines === 'number' ? error.lines : 0;
      skipped.push({ line, reason: `not valid CSV: ${error?.message ?? 'unknown error'}` });
      return undefined;
    },
  }) as unknown as Array<{ record: string[]; info: { lines: number } }>;

  const [header, ...body] = records;
  if (!header) throw new TraceFileError(file, 'is empty (expected a header and rows of timestamped pickups)');
  const names = header.record.map(normalise);
  const index = Object.fromEntries(
    (Object.keys(columnNames) as Column[]).map((column) => [
      column,
      names.findIndex((name) => (columnNames[column] as readonly string[]).includes(name)),
    ]),
  ) as Record<Column, number>;
  const missing = (['time', 'lat', 'lng'] as const).filter((column) => index[column] < 0);
  if (missing.length > 0)
    throw new TraceFileError(
      file,
      `has no ${missing.join(', ')} column in its header (${header.record.join(', ')}); expected a time column (Date/Time, timestamp…), Lat and Lon`,
    );
  const hasDropoff = index.dropoffLat >= 0 && index.dropoffLng >= 0;

  const parsed: Array<{ line: number; wallMs: number; pickup: LatLng; dropoff?: LatLng }> = [];
  for (const { record, info } of body) {
    const line = info.lines;
    const cell = (column: Column) => record[index[column]];
    const time = cell('time');
    if (time === undefined || time === '') {
      skipped.push({ line, reason: `missing ${header.record[index.time]}` });
      continue;
    }
    const wall = parseTime(time, city?.timeZone);
    const lat = coordinate(cell('lat'), header.record[index.lat]!, 90);
    const lng = coordinate(cell('lng'), header.record[index.lng]!, 180);
    const problem = [wall, lat, lng].find((value) => typeof value === 'string');
    if (problem !== undefined) {
      skipped.push({ line, reason: problem as string });
      continue;
    }
    const row = {
      line,
      wallMs: (wall as WallClock).wallMs,
      pickup: { lat: lat as number, lng: lng as number },
    };
    // An empty drop-off is no drop-off (the replay draws one); a bad one makes the row unusable.
    const dLatText = hasDropoff ? cell('dropoffLat') : undefined;
    const dLngText = hasDropoff ? cell('dropoffLng') : undefined;
    if (!dLatText && !dLngText) {
      parsed.push(row);
      continue;
    }
    const dLat = coordinate(dLatText, header.record[index.dropoffLat]!, 90);
    const dLng = coordinate(dLngText, header.record[index.dropoffLng]!, 180);
    if (typeof dLat === 'string' || typeof dLng === 'string') {
      skipped.push({ line, reason: (typeof dLat === 'string' ? dLat : dLng) as string });
      continue;
    }
    const dropoff = { lat: dLat, lng: dLng };
    if (!isValidLatLng(dropoff) || (dropoff.lat === row.pickup.lat && dropoff.lng === row.pickup.lng)) {
      skipped.push({ line, reason: 'the drop-off is the pickup' });
      continue;
    }
    parsed.push({ ...row, dropoff });
  }

  if (parsed.length === 0) {
    const why = skipped
      .slice(0, 3)
      .map((s) => `line ${s.line}: ${s.reason}`)
      .join('; ');
    throw new TraceFileError(
      file,
      `has no usable row${why ? ` (${why}${skipped.length > 3 ? '; …' : ''})` : ''}`,
    );
  }

  // A loop, not Math.min(...rows): a long trace would overflow the call stack's arguments.
  let firstMs = Number.POSITIVE_INFINITY;
  for (const row of parsed) firstMs = Math.min(firstMs, row.wallMs);
  const dayMs = SECONDS_PER_DAY * 1000;
  const firstMidnightMs = Math.floor(firstMs / dayMs) * dayMs;
  const rows: TraceRow[] = parsed
    .map(({ line, wallMs, pickup, dropoff }) => ({
      line,
      at: (wallMs - firstMidnightMs) / 1000,
      pickup,
      ...(dropoff ? { dropoff } : {}),
    }))
    .sort((x, y) => x.at - y.at || x.line - y.line);
  const resolutionSeconds = rows.every((row) => row.at % 60 === 0)
    ? 60
    : rows.every((row) => Number.isInteger(row.at))
      ? 1
      : 0;
  const trace: Trace = {
    file,
    date: new Date(firstMidnightMs).toISOString().slice(0, 10),
    resolutionSeconds,
    rows,
    skipped: skipped.sort((x, y) => x.line - y.line),
  };
  if (!city) return trace;
  const served = withinCity(trace, city);
  if (served.rows.length === 0)
    throw new TraceFileError(
      file,
      `has no usable row: every pickup lies outside the service area of ${city.id}`,
    );
  return served;
};
