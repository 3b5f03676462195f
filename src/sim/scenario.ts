import { access, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { cities } from '../domain/city.js';
import { type BoundingBox, isInside } from '../domain/geo.js';
import { packageRoot } from './package-root.js';
import type { CurvePoint, Hotspot, Scenario } from './types.js';

/**
 * Scenario files (`scenarios/*.yaml`, or any YAML or JSON file a user writes): found, read,
 * validated and completed with their defaults, here and only here. The format is documented at the
 * top of every shipped scenario; the rest of the simulator receives a checked `Scenario`.
 */

/** One problem with a scenario file: the field (`demand.hotspots[2].lat`) and what is wrong. */
export interface ScenarioProblem {
  field: string;
  problem: string;
}

/**
 * A scenario file that cannot be used; the message names the file and every bad field, so a
 * user fixes them all in one go.
 */
export class ScenarioFileError extends Error {
  readonly field: string;
  constructor(
    readonly file: string,
    readonly problems: readonly ScenarioProblem[],
  ) {
    const line = ({ field, problem }: ScenarioProblem) => `${field ? `${field}: ` : ''}${problem}`;
    super(
      problems.length === 1
        ? `${file}: ${line(problems[0]!)}`
        : `${file}: ${problems.length} problems:\n${problems.map((p) => `  ${line(p)}`).join('\n')}`,
    );
    this.name = 'ScenarioFileError';
    this.field = problems[0]?.field ?? '';
  }
}

// Defaults, as documented at the top of the shipped scenarios.
const DEFAULT_STARTS_AT = '00:00';
const DEFAULT_BACKGROUND_SHARE = 0.2;
const DEFAULT_HOTSPOT_WEIGHT = 1;
const DEFAULT_HOTSPOT_RADIUS_METERS = 500;
const DEFAULT_TRACE_SCALE = 1;
const DEFAULT_ACCEPTANCE_RATE = 0.85;
const DEFAULT_RESPONSE_DELAY_SECONDS = { min: 2, max: 8 };
const DEFAULT_MAX_SURGE = 2;
const DEFAULT_PATIENCE_SECONDS = 300;
/** The default area reaches this far beyond each hotspot (plus three of its radii): trips leave it. */
const DEFAULT_AREA_MARGIN_METERS = 5_000;
/** Smaller areas leave no room for trips of at least a kilometre (arrivals.ts). */
const MIN_AREA_SIDE_METERS = 1_000;
const MAX_HOTSPOT_RADIUS_METERS = 20_000;

const METERS_PER_DEGREE_LAT = 111_320;
const namePattern = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const clockPattern = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const durationPattern = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/;

type Fields = Record<string, unknown>;
const isRecord = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown) => JSON.stringify(value) ?? String(value);
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Seconds from a number or a duration such as `90s`, `10m`, `1h30m`; NaN when it is neither. */
export const durationSeconds = (value: unknown): number => {
  if (isNumber(value)) return value;
  if (typeof value !== 'string' || value.trim() === '') return Number.NaN;
  const match = durationPattern.exec(value.trim());
  if (!match || match.slice(1).every((part) => part === undefined)) return Number.NaN;
  const [hours = '0', minutes = '0', seconds = '0'] = match.slice(1).map((part) => part ?? '0');
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
};

// ---------------------------------------------------------------------------------------------
// Curves.

/**
 * A curve's value at `t`: linear between neighbouring points, the first point's value before it
 * and the last one's after it; 1 for an empty curve. Two points at the same time make a step, and
 * at that instant the later point holds.
 */
export const curveAt = (curve: readonly CurvePoint[], t: number): number => {
  if (curve.length === 0) return 1;
  // The last point at or before t (binary search: curves are sorted by `at`).
  let low = 0;
  let high = curve.length - 1;
  if (t < curve[0]!.at) return curve[0]!.value;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (curve[middle]!.at <= t) low = middle;
    else high = middle - 1;
  }
  const before = curve[low]!;
  const after = curve[low + 1];
  if (!after) return before.value;
  return before.value + ((after.value - before.value) * (t - before.at)) / (after.at - before.at);
};

// ---------------------------------------------------------------------------------------------
// Finding scenario files.

const scenarioDirectory = async () => join(packageRoot(), 'scenarios');
const scenarioExtensions = ['.yaml', '.yml', '.json'];

/** The names of the shipped scenarios (`scenarios/<name>.yaml`), sorted. */
export const listScenarios = async (): Promise<string[]> => {
  const files = await readdir(await scenarioDirectory());
  return files
    .filter((file) => scenarioExtensions.includes(extname(file)))
    .map((file) => basename(file, extname(file)))
    .sort();
};

/** A bare name (`strike-day`) is a shipped scenario; anything with a slash or an extension is a path. */
const locate = async (nameOrPath: string): Promise<string> => {
  if (/[/\\]/.test(nameOrPath) || extname(nameOrPath) !== '') return resolve(nameOrPath);
  const file = join(await scenarioDirectory(), `${nameOrPath}.yaml`);
  try {
    await access(file);
  } catch {
    const shipped = await listScenarios().catch(() => []);
    throw new ScenarioFileError(file, [
      {
        field: '',
        problem: `there is no shipped scenario named ${show(nameOrPath)} (shipped: ${shipped.join(', ') || 'none'}); give a path to use your own file`,
      },
    ]);
  }
  return file;
};

// ---------------------------------------------------------------------------------------------
// Validation.

const metersNorth = (meters: number) => meters / METERS_PER_DEGREE_LAT;
const metersEast = (meters: number, lat: number) =>
  meters / (METERS_PER_DEGREE_LAT * Math.cos((lat * Math.PI) / 180));

/** Every hotspot with its margin, as one box, cut down to the city. */
const areaAround = (hotspots: readonly Hotspot[], city: BoundingBox): BoundingBox => {
  if (hotspots.length === 0) return { ...city };
  const reach = (spot: Hotspot) => DEFAULT_AREA_MARGIN_METERS + 3 * spot.radiusMeters;
  return {
    south: Math.max(city.south, Math.min(...hotspots.map((s) => s.lat - metersNorth(reach(s))))),
    north: Math.min(city.north, Math.max(...hotspots.map((s) => s.lat + metersNorth(reach(s))))),
    west: Math.max(city.west, Math.min(...hotspots.map((s) => s.lng - metersEast(reach(s), s.lat)))),
    east: Math.min(city.east, Math.max(...hotspots.map((s) => s.lng + metersEast(reach(s), s.lat)))),
  };
};

/**
 * Checks a parsed scenario document and fills in its defaults. Collects every problem before
 * failing; `file` names the file in errors and anchors a relative trace path.
 */
export const parseScenario = async (document: unknown, file: string): Promise<Scenario> => {
  const problems: ScenarioProblem[] = [];
  const fail = (field: string, problem: string) => {
    problems.push({ field, problem });
  };
  const onlyKeys = (value: Fields, field: string, allowed: readonly string[]) => {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        fail(field ? `${field}.${key}` : key, `unknown field (expected one of: ${allowed.join(', ')})`);
    }
  };
  /** A mapping, or an empty one (after reporting) so the checks below it can still run. */
  const mapping = (value: unknown, field: string, optional = false): Fields => {
    if (value === undefined && optional) return {};
    if (isRecord(value)) return value;
    fail(field, value === undefined ? 'missing' : `must be a mapping; got ${show(value)}`);
    return {};
  };
  const number = (
    value: unknown,
    field: string,
    rule: { min?: number; max?: number; above?: number; integer?: boolean; fallback?: number },
    describe: string,
  ): number => {
    if (value === undefined && rule.fallback !== undefined) return rule.fallback;
    const ok =
      isNumber(value) &&
      (rule.min === undefined || value >= rule.min) &&
      (rule.max === undefined || value <= rule.max) &&
      (rule.above === undefined || value > rule.above) &&
      (!rule.integer || Number.isInteger(value));
    if (!ok)
      fail(field, value === undefined ? `missing (${describe})` : `must be ${describe}; got ${show(value)}`);
    return ok ? value : Number.NaN;
  };

  if (!isRecord(document)) {
    throw new ScenarioFileError(file, [
      { field: '', problem: 'expected a mapping with city, durationSeconds, demand, drivers and riders' },
    ]);
  }
  onlyKeys(document, '', [
    'name',
    'description',
    'city',
    'durationSeconds',
    'speed',
    'startsAt',
    'demand',
    'drivers',
    'riders',
  ]);

  const name = document.name ?? basename(file, extname(file));
  if (typeof name !== 'string' || !namePattern.test(name))
    fail('name', `must be lower-case words and digits joined by "-", such as strike-day; got ${show(name)}`);
  const description = document.description ?? '';
  if (typeof description !== 'string') fail('description', `must be text; got ${show(description)}`);

  const city = cities.find((candidate) => candidate.id === document.city);
  const served = cities.map((candidate) => candidate.id).join(', ');
  if (!city)
    fail(
      'city',
      document.city === undefined
        ? `missing (one of: ${served})`
        : `must be a served city (one of: ${served}); got ${show(document.city)}`,
    );
  const inCity = (point: { lat: number; lng: number }) => !city || isInside(city.area, point);
  const cityName = city ? `${city.name} (${city.id})` : '';

  const duration = durationSeconds(document.durationSeconds);
  if (!(duration > 0))
    fail(
      'durationSeconds',
      document.durationSeconds === undefined
        ? 'missing (seconds, or a duration such as 1h or 90m)'
        : `must be a positive number of seconds or a duration such as 1h30m; got ${show(document.durationSeconds)}`,
    );

  const speed =
    document.speed === undefined
      ? undefined
      : number(
          document.speed,
          'speed',
          { above: 0 },
          'a positive number of simulated seconds per wall second',
        );
  const startsAt = document.startsAt ?? DEFAULT_STARTS_AT;
  if (typeof startsAt !== 'string' || !clockPattern.test(startsAt))
    fail(
      'startsAt',
      `must be a local time of day as "HH:MM" (quoted), such as "07:30"; got ${show(startsAt)}`,
    );

  const curve = (value: unknown, field: string, max: number | undefined, describe: string): CurvePoint[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      fail(field, `must be a list of { at, value } points; got ${show(value)}`);
      return [];
    }
    const points = value.map((entry: unknown, index): CurvePoint => {
      const at = `${field}[${index}]`;
      const point = mapping(entry, at);
      onlyKeys(point, at, ['at', 'value']);
      const seconds = durationSeconds(point.at);
      if (!(seconds >= 0) || (duration > 0 && seconds > duration))
        fail(
          `${at}.at`,
          point.at === undefined
            ? 'missing (seconds from the start, or a duration such as 8h30m)'
            : `must be a time from the start within the scenario (0 to ${Number.isFinite(duration) ? duration : 'durationSeconds'} s), in seconds or as a duration such as 8h30m; got ${show(point.at)}`,
        );
      const level = number(
        point.value,
        `${at}.value`,
        { min: 0, ...(max === undefined ? {} : { max }) },
        describe,
      );
      return { at: seconds, value: level };
    });
    points.forEach((point, index) => {
      const previous = points[index - 1];
      if (!previous || Number.isNaN(point.at) || Number.isNaN(previous.at)) return;
      if (point.at < previous.at) fail(`${field}[${index}].at`, 'must not come before the point above it');
      else if (point.at === previous.at && points[index - 2]?.at === point.at)
        fail(`${field}[${index}].at`, 'a step takes two points at the same time, not three');
    });
    return points;
  };

  // Demand.
  const demand = mapping(document.demand, 'demand');
  onlyKeys(demand, 'demand', [
    'baseRequestsPerMinute',
    'curve',
    'hotspots',
    'backgroundShare',
    'area',
    'trace',
  ]);
  const replaysTrace = demand.trace !== undefined;
  if (replaysTrace) {
    for (const key of ['baseRequestsPerMinute', 'curve', 'hotspots', 'backgroundShare'])
      if (demand[key] !== undefined)
        fail(`demand.${key}`, 'does not apply to a trace replay: the trace gives the times and places');
  }
  const baseRequestsPerMinute = replaysTrace
    ? 0
    : number(
        demand.baseRequestsPerMinute,
        'demand.baseRequestsPerMinute',
        { min: 0 },
        'ride requests per minute, >= 0',
      );
  const demandCurve = curve(demand.curve, 'demand.curve', undefined, 'a multiplier of the base rate, >= 0');

  const hotspots: Hotspot[] = [];
  if (demand.hotspots !== undefined && !Array.isArray(demand.hotspots))
    fail('demand.hotspots', `must be a list of hotspots; got ${show(demand.hotspots)}`);
  const names = new Set<string>();
  (Array.isArray(demand.hotspots) ? (demand.hotspots as unknown[]) : []).forEach((entry, index) => {
    const at = `demand.hotspots[${index}]`;
    const spot = mapping(entry, at);
    onlyKeys(spot, at, ['name', 'lat', 'lng', 'weight', 'radiusMeters']);
    if (typeof spot.name !== 'string' || spot.name.trim() === '')
      fail(
        `${at}.name`,
        spot.name === undefined ? 'missing' : `must be non-empty text; got ${show(spot.name)}`,
      );
    else if (names.has(spot.name)) fail(`${at}.name`, `${show(spot.name)} is used by an earlier hotspot`);
    else names.add(spot.name);
    const where = typeof spot.name === 'string' && spot.name ? `${at} (${spot.name})` : at;
    const lat = number(spot.lat, `${where}.lat`, { min: -90, max: 90 }, 'a latitude in degrees');
    const lng = number(spot.lng, `${where}.lng`, { min: -180, max: 180 }, 'a longitude in degrees');
    if (!Number.isNaN(lat) && !Number.isNaN(lng) && !inCity({ lat, lng }))
      fail(where, `lies outside the service area of ${cityName} (${show(city?.area)})`);
    hotspots.push({
      name: typeof spot.name === 'string' ? spot.name : '',
      lat,
      lng,
      weight: number(
        spot.weight,
        `${where}.weight`,
        { above: 0, fallback: DEFAULT_HOTSPOT_WEIGHT },
        'a positive weight',
      ),
      radiusMeters: number(
        spot.radiusMeters,
        `${where}.radiusMeters`,
        { above: 0, max: MAX_HOTSPOT_RADIUS_METERS, fallback: DEFAULT_HOTSPOT_RADIUS_METERS },
        `a spread in metres, above 0 and at most ${MAX_HOTSPOT_RADIUS_METERS}`,
      ),
    });
  });

  const backgroundShare = replaysTrace
    ? 0
    : number(
        demand.backgroundShare,
        'demand.backgroundShare',
        { min: 0, max: 1, fallback: hotspots.length > 0 ? DEFAULT_BACKGROUND_SHARE : 1 },
        'a share between 0 and 1',
      );
  if (!replaysTrace && hotspots.length === 0 && backgroundShare < 1)
    fail('demand.hotspots', 'needed when backgroundShare is below 1 (or set backgroundShare: 1)');

  let area: BoundingBox = city
    ? areaAround(
        hotspots.filter((s) => !Number.isNaN(s.lat + s.lng)),
        city.area,
      )
    : { south: 0, west: 0, north: 0, east: 0 };
  if (demand.area !== undefined) {
    const box = mapping(demand.area, 'demand.area');
    onlyKeys(box, 'demand.area', ['south', 'west', 'north', 'east']);
    const given = {
      south: number(box.south, 'demand.area.south', { min: -90, max: 90 }, 'a latitude in degrees'),
      west: number(box.west, 'demand.area.west', { min: -180, max: 180 }, 'a longitude in degrees'),
      north: number(box.north, 'demand.area.north', { min: -90, max: 90 }, 'a latitude in degrees'),
      east: number(box.east, 'demand.area.east', { min: -180, max: 180 }, 'a longitude in degrees'),
    };
    if (Object.values(given).every((value) => !Number.isNaN(value))) {
      const { south, west, north, east } = given;
      if (!(south < north && west < east))
        fail('demand.area', 'must have south below north and west below east');
      else if (
        metersNorth(MIN_AREA_SIDE_METERS) > north - south ||
        metersEast(MIN_AREA_SIDE_METERS, (south + north) / 2) > east - west
      )
        fail(
          'demand.area',
          `must be at least ${MIN_AREA_SIDE_METERS} m on each side, to leave room for trips`,
        );
      else if (!inCity({ lat: south, lng: west }) || !inCity({ lat: north, lng: east }))
        fail('demand.area', `must lie inside the service area of ${cityName} (${show(city?.area)})`);
    }
    area = given;
  }

  let trace: Scenario['demand']['trace'];
  if (replaysTrace) {
    const given = mapping(demand.trace, 'demand.trace');
    onlyKeys(given, 'demand.trace', ['file', 'scale']);
    const scale = number(
      given.scale,
      'demand.trace.scale',
      { above: 0, fallback: DEFAULT_TRACE_SCALE },
      'a positive multiplier',
    );
    if (typeof given.file !== 'string' || given.file.trim() === '') {
      fail(
        'demand.trace.file',
        given.file === undefined
          ? 'missing (a CSV file of pickups)'
          : `must be a path; got ${show(given.file)}`,
      );
    } else {
      // Relative to the scenario, so a scenario and its trace move together.
      const traceFile = resolve(dirname(file), given.file);
      try {
        await access(traceFile);
        trace = { file: traceFile, scale };
      } catch (error) {
        fail(
          'demand.trace.file',
          `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): ${traceFile}`,
        );
      }
    }
  }

  // Drivers.
  const drivers = mapping(document.drivers, 'drivers');
  onlyKeys(drivers, 'drivers', ['count', 'online', 'acceptanceRate', 'responseDelaySeconds']);
  const count = number(
    drivers.count,
    'drivers.count',
    { min: 0, integer: true },
    'a whole number of drivers, >= 0',
  );
  const online = curve(drivers.online, 'drivers.online', 1, 'a share of drivers.count between 0 and 1');
  const acceptanceRate = number(
    drivers.acceptanceRate,
    'drivers.acceptanceRate',
    { min: 0, max: 1, fallback: DEFAULT_ACCEPTANCE_RATE },
    'a probability between 0 and 1',
  );
  const delay = mapping(drivers.responseDelaySeconds, 'drivers.responseDelaySeconds', true);
  onlyKeys(delay, 'drivers.responseDelaySeconds', ['min', 'max']);
  const responseDelaySeconds = {
    min: number(
      delay.min,
      'drivers.responseDelaySeconds.min',
      { min: 0, fallback: DEFAULT_RESPONSE_DELAY_SECONDS.min },
      'seconds, >= 0',
    ),
    max: number(
      delay.max,
      'drivers.responseDelaySeconds.max',
      { min: 0, fallback: DEFAULT_RESPONSE_DELAY_SECONDS.max },
      'seconds, >= 0',
    ),
  };
  if (responseDelaySeconds.max < responseDelaySeconds.min)
    fail(
      'drivers.responseDelaySeconds',
      `max (${responseDelaySeconds.max}) must not be below min (${responseDelaySeconds.min})`,
    );

  // Riders.
  const riders = mapping(document.riders, 'riders', true);
  onlyKeys(riders, 'riders', ['maxSurge', 'patienceSeconds']);
  const maxSurge = number(
    riders.maxSurge,
    'riders.maxSurge',
    { min: 1, fallback: DEFAULT_MAX_SURGE },
    'a surge multiplier, >= 1',
  );
  const patienceSeconds = number(
    riders.patienceSeconds,
    'riders.patienceSeconds',
    { above: 0, fallback: DEFAULT_PATIENCE_SECONDS },
    'a positive number of seconds',
  );

  if (problems.length > 0) throw new ScenarioFileError(file, problems);
  return {
    name: name as string,
    description: (description as string).trim(),
    city: city!.id,
    durationSeconds: duration,
    ...(speed !== undefined ? { speed } : {}),
    startsAt: startsAt as string,
    demand: {
      baseRequestsPerMinute,
      curve: demandCurve,
      hotspots,
      backgroundShare,
      area,
      ...(trace ? { trace } : {}),
    },
    drivers: { count, online, acceptanceRate, responseDelaySeconds },
    riders: { maxSurge, patienceSeconds },
  };
};

/**
 * Reads, checks and completes a scenario: a shipped one by name (`strike-day`), or a YAML or JSON
 * file by path.
 */
export const loadScenario = async (nameOrPath: string): Promise<Scenario> => {
  const file = await locate(nameOrPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioFileError(file, [
      { field: '', problem: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` },
    ]);
  }
  let document: unknown;
  try {
    // JSON is YAML too, so one parser reads both.
    document = parse(text);
  } catch (error) {
    throw new ScenarioFileError(file, [
      {
        field: '',
        problem: `not valid YAML or JSON: ${error instanceof Error ? error.message : String(error)}`,
      },
    ]);
  }
  return parseScenario(document, file);
};

/** A `--from` that does not cut the scenario: the message says why. */
export class ScenarioWindowError extends Error {}

const clockOf = (secondOfDay: number) => {
  const minutes = Math.floor((secondOfDay % 86_400) / 60);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
};

/**
 * The scenario from `fromSeconds` on, as a scenario of its own: its clock starts at that time of
 * day and its curves are shifted to match, so one stretch of a long day (its evening peak) can be
 * rehearsed in real time. Whole minutes only, as a scenario starts at a time of day to the minute.
 */
export const scenarioFrom = (scenario: Scenario, fromSeconds: number): Scenario => {
  if (fromSeconds === 0) return scenario;
  if (!(fromSeconds > 0) || fromSeconds % 60 !== 0) {
    throw new ScenarioWindowError(`--from must be a whole number of minutes, got ${fromSeconds} s`);
  }
  if (fromSeconds >= scenario.durationSeconds) {
    throw new ScenarioWindowError(
      `--from ${fromSeconds} s is not before the end of ${scenario.name} (${scenario.durationSeconds} s)`,
    );
  }
  const shifted = (curve: readonly CurvePoint[]): CurvePoint[] =>
    curve.length === 0
      ? []
      : [
          { at: 0, value: curveAt(curve, fromSeconds) },
          ...curve
            .filter((point) => point.at > fromSeconds)
            .map((point) => ({ ...point, at: point.at - fromSeconds })),
        ];
  return {
    ...scenario,
    durationSeconds: scenario.durationSeconds - fromSeconds,
    startsAt: clockOf(startSecondOfDay(scenario) + fromSeconds),
    demand: { ...scenario.demand, curve: shifted(scenario.demand.curve) },
    drivers: { ...scenario.drivers, online: shifted(scenario.drivers.online) },
  };
};

/** Seconds after local midnight at which the scenario starts. */
export const startSecondOfDay = (scenario: Pick<Scenario, 'startsAt'>): number => {
  const match = clockPattern.exec(scenario.startsAt);
  if (!match) throw new RangeError(`startsAt must be "HH:MM", got ${show(scenario.startsAt)}`);
  return Number(match[1]) * 3600 + Number(match[2]) * 60;
};
