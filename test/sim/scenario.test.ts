import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cities } from '../../src/domain/city.js';
import { isInside } from '../../src/domain/geo.js';
import {
  curveAt,
  listScenarios,
  loadScenario,
  ScenarioFileError,
  ScenarioWindowError,
  scenarioFrom,
  startSecondOfDay,
} from '../../src/sim/scenario.js';
import type { CurvePoint } from '../../src/sim/types.js';

const shipped = ['city-launch', 'flash-peak', 'nyc-2014-04-04', 'steady', 'strike-day'];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peakride-scenario-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (name: string, text: string) => {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
};

/** Intervals (start, end) of whole seconds in [0, duration) where the curve is at least `level`. */
const stretchesAtLeast = (curve: CurvePoint[], duration: number, level: number) => {
  const stretches: Array<{ start: number; end: number }> = [];
  for (let t = 0; t < duration; t++) {
    if (curveAt(curve, t) < level) continue;
    const last = stretches.at(-1);
    if (last && last.end === t) last.end = t + 1;
    else stretches.push({ start: t, end: t + 1 });
  }
  return stretches;
};

const minimal = `
city: paris
durationSeconds: 600
demand:
  baseRequestsPerMinute: 10
  hotspots:
    - { name: Gare du Nord, lat: 48.8809, lng: 2.3553 }
drivers:
  count: 50
`;

describe('shipped scenarios', () => {
  it('When the shipped scenarios are listed, then they are the five of DESIGN.md', async () => {
    expect(await listScenarios()).toEqual(shipped);
  });

  it.each(shipped)('When %s is loaded by name, then it validates and lies inside its city', async (name) => {
    const scenario = await loadScenario(name);
    expect(scenario.name).toBe(name);
    expect(scenario.description).not.toBe('');
    const city = cities.find((c) => c.id === scenario.city)!;
    expect(city).toBeDefined();
    const { area } = scenario.demand;
    expect(isInside(city.area, { lat: area.south, lng: area.west })).toBe(true);
    expect(isInside(city.area, { lat: area.north, lng: area.east })).toBe(true);
    for (const spot of scenario.demand.hotspots) expect(isInside(city.area, spot), spot.name).toBe(true);
    expect(scenario.drivers.acceptanceRate).toBeGreaterThan(0);
    expect(scenario.drivers.responseDelaySeconds.min).toBeGreaterThanOrEqual(2);
    expect(scenario.drivers.responseDelaySeconds.max).toBeLessThanOrEqual(10);
    expect(scenario.riders.maxSurge).toBeGreaterThanOrEqual(1);
  });

  it('When a shipped scenario is loaded by its path, then it is the same as by name', async () => {
    expect(await loadScenario('scenarios/steady.yaml')).toEqual(await loadScenario('steady'));
  });

  it('When strike-day is read, then its rushes run at 3–5x, its flash peaks near 10x for one to two minutes, and 90% of drivers are online in the rushes', async () => {
    const { durationSeconds, demand, drivers, startsAt } = await loadScenario('strike-day');
    expect([durationSeconds, startsAt]).toEqual([86_400, '00:00']);
    expect(demand.hotspots.map((h) => h.name).sort()).toEqual(
      ['Gare de Lyon', 'Gare du Nord', 'La Défense', 'Montparnasse', 'Saint-Lazare'].sort(),
    );
    const hours = (h: number) => h * 3600;
    // Mornings 7–9:30 and evenings 17:30–19:00, away from the peaks.
    for (const t of [hours(7.2), hours(8.2), hours(9.3), hours(17.6), hours(18.5), hours(18.9)]) {
      expect(curveAt(demand.curve, t)).toBeGreaterThanOrEqual(3);
      expect(curveAt(demand.curve, t)).toBeLessThanOrEqual(5);
      expect(curveAt(drivers.online, t)).toBeCloseTo(0.9, 6);
    }
    const peaks = stretchesAtLeast(demand.curve, durationSeconds, 9);
    expect(peaks.length).toBeGreaterThanOrEqual(3);
    for (const { start, end } of peaks) {
      expect(end - start).toBeGreaterThanOrEqual(60);
      expect(end - start).toBeLessThanOrEqual(130);
      const top = Math.max(
        ...Array.from({ length: end - start }, (_, i) => curveAt(demand.curve, start + i)),
      );
      expect(top).toBeGreaterThanOrEqual(9.5);
      expect(top).toBeLessThanOrEqual(11);
    }
    // Rushes are the busiest stretches besides the peaks, and the night is quiet.
    expect(curveAt(demand.curve, hours(3))).toBeLessThan(1);
    expect(curveAt(demand.curve, hours(12))).toBeLessThan(3);
  });

  it('When flash-peak is read, then it reaches 20x within 10 s, holds it 60 s and falls back to 1x', async () => {
    const { durationSeconds, demand } = await loadScenario('flash-peak');
    const { curve } = demand;
    const rise = stretchesAtLeast(curve, durationSeconds, 1.000001)[0]!;
    const top = stretchesAtLeast(curve, durationSeconds, 20)[0]!;
    // The last second at 1x before the rise, to the first at 20x: within 10 s.
    expect(top.start - (rise.start - 1)).toBeLessThanOrEqual(10);
    expect(top.end - top.start).toBe(60);
    expect(stretchesAtLeast(curve, durationSeconds, 20)).toHaveLength(1);
    for (let t = top.end; t < durationSeconds; t++) expect(curveAt(curve, t)).toBe(1);
    for (let t = 0; t < rise.start; t++) expect(curveAt(curve, t)).toBe(1);
  });

  it("When nyc-2014-04-04 is read, then it replays the shipped trace at scale 1 across New York's whole area", async () => {
    const scenario = await loadScenario('nyc-2014-04-04');
    expect(scenario.city).toBe('new-york');
    expect(scenario.demand.trace?.file).toMatch(/data[/\\]uber-nyc-2014-04-04\.csv$/);
    expect(scenario.demand.trace?.scale).toBe(1);
    expect(scenario.demand.area).toEqual(cities.find((c) => c.id === 'new-york')!.area);
  });
});

describe('scenario files', () => {
  it('When a scenario leaves fields out, then the documented defaults apply', async () => {
    const scenario = await loadScenario(await write('minimal.yaml', minimal));
    expect(scenario).toMatchObject({
      name: 'minimal',
      description: '',
      startsAt: '00:00',
      durationSeconds: 600,
      demand: { curve: [], backgroundShare: 0.2 },
      drivers: { online: [], acceptanceRate: 0.85, responseDelaySeconds: { min: 2, max: 8 } },
      riders: { maxSurge: 2, patienceSeconds: 300 },
    });
    expect(scenario.demand.hotspots).toEqual([
      { name: 'Gare du Nord', lat: 48.8809, lng: 2.3553, weight: 1, radiusMeters: 500 },
    ]);
    // A box around the hotspot, some kilometres each way, inside Paris.
    const { area } = scenario.demand;
    expect(area.north - 48.8809).toBeGreaterThan(0.04);
    expect(48.8809 - area.south).toBeGreaterThan(0.04);
    expect(area.east - 2.3553).toBeGreaterThan(0.06);
    expect(area.west).toBeGreaterThanOrEqual(cities[0]!.area.west);
  });

  it('When a scenario is written in JSON, then it loads like YAML', async () => {
    const file = await write(
      'json-one.json',
      JSON.stringify({
        city: 'london',
        durationSeconds: '1h',
        demand: { baseRequestsPerMinute: 5, backgroundShare: 1 },
        drivers: { count: 10, online: [{ at: '30m', value: 0.5 }] },
      }),
    );
    const scenario = await loadScenario(file);
    expect(scenario.durationSeconds).toBe(3600);
    expect(scenario.drivers.online).toEqual([{ at: 1800, value: 0.5 }]);
    expect(scenario.demand.area).toEqual(cities.find((c) => c.id === 'london')!.area);
  });

  it('When a scenario file has several mistakes, then one error names the file and every bad field', async () => {
    const file = await write(
      'broken.yaml',
      `
city: paris
durationSeconds: -5
startsAt: "8am"
surprise: true
demand:
  baseRequestsPerMinute: fast
  curve:
    - { at: 10, value: 2 }
    - { at: 5, value: -1 }
  hotspots:
    - { name: Nowhere, lat: 40.7, lng: -74 }
    - { name: Gare du Nord, lng: 2.3553 }
  area: { south: 48.9, west: 2.3, north: 48.8, east: 2.4 }
drivers:
  count: 10.5
  acceptanceRate: 1.5
  responseDelaySeconds: { min: 8, max: 2 }
riders:
  maxSurge: 0.5
`,
    );
    const error = await loadScenario(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScenarioFileError);
    const failure = error as ScenarioFileError;
    expect(failure.message).toContain(file);
    const fields = failure.problems.map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'durationSeconds',
        'startsAt',
        'surprise',
        'demand.baseRequestsPerMinute',
        'demand.curve[1].at',
        'demand.curve[1].value',
        'demand.hotspots[0] (Nowhere)',
        'demand.hotspots[1] (Gare du Nord).lat',
        'demand.area',
        'drivers.count',
        'drivers.acceptanceRate',
        'drivers.responseDelaySeconds',
        'riders.maxSurge',
      ]),
    );
    for (const field of fields) expect(failure.message).toContain(field);
    expect(failure.message).toMatch(/outside the service area of Paris/);
  });

  it('When the city is not served, then the error lists the served cities', async () => {
    const file = await write('tokyo.yaml', minimal.replace('city: paris', 'city: tokyo'));
    await expect(loadScenario(file)).rejects.toThrow(
      /city: must be a served city \(one of: paris, london, new-york\)/,
    );
  });

  it('When a scenario file is not YAML, or not a mapping, then the error names the file', async () => {
    const bad = await write('bad.yaml', 'city: [paris\n');
    await expect(loadScenario(bad)).rejects.toThrow(
      new RegExp(`${bad.replace(/[.\\]/g, '\\$&')}: not valid YAML`),
    );
    const list = await write('list.yaml', '- 1\n- 2\n');
    await expect(loadScenario(list)).rejects.toThrow(/expected a mapping/);
  });

  it('When a bare name is not a shipped scenario, then the error lists the shipped ones', async () => {
    await expect(loadScenario('no-such-day')).rejects.toThrow(
      /no shipped scenario named "no-such-day" \(shipped: city-launch, flash-peak/,
    );
  });

  it("When a scenario replays a trace by a relative path, then it resolves against the scenario's directory", async () => {
    await write('pickups.csv', 'Date/Time,Lat,Lon\n2014/4/4 00:03:00,40.75,-73.98\n');
    const scenario = await loadScenario(
      await write(
        'replay.yaml',
        'city: new-york\ndurationSeconds: 1h\ndemand:\n  trace: { file: pickups.csv }\ndrivers:\n  count: 5\n',
      ),
    );
    expect(scenario.demand.trace).toEqual({ file: join(dir, 'pickups.csv'), scale: 1 });
    const missing = await write(
      'missing.yaml',
      'city: new-york\ndurationSeconds: 1h\ndemand:\n  trace: { file: nope.csv }\n  curve: []\ndrivers:\n  count: 5\n',
    );
    const error = (await loadScenario(missing).catch((e: unknown) => e)) as ScenarioFileError;
    expect(error.problems.map((p) => p.field).sort()).toEqual(['demand.curve', 'demand.trace.file']);
    expect(error.message).toContain(join(dir, 'nope.csv'));
  });
});

describe('curves', () => {
  const curve = fc
    .array(
      fc.record({
        at: fc.integer({ min: 0, max: 10_000 }),
        value: fc.double({ min: 0, max: 50, noNaN: true }),
      }),
      {
        minLength: 1,
        maxLength: 12,
      },
    )
    .map((points) => points.sort((a, b) => a.at - b.at));

  it('When a curve is evaluated anywhere, then the value lies between its lowest and highest points, and is flat beyond its ends', () => {
    fc.assert(
      fc.property(curve, fc.double({ min: -1000, max: 12_000, noNaN: true }), (points, t) => {
        const values = points.map((p) => p.value);
        const value = curveAt(points, t);
        expect(value).toBeGreaterThanOrEqual(Math.min(...values) - 1e-9);
        expect(value).toBeLessThanOrEqual(Math.max(...values) + 1e-9);
        if (t < points[0]!.at) expect(value).toBe(points[0]!.value);
        if (t >= points.at(-1)!.at) expect(value).toBe(points.at(-1)!.value);
      }),
    );
  });

  it('When a curve is evaluated at a point of its own, then it gives that point (the later one at a step)', () => {
    fc.assert(
      fc.property(curve, (points) => {
        points.forEach((point, i) => {
          if (points[i + 1]?.at === point.at) return;
          expect(curveAt(points, point.at)).toBe(point.value);
        });
      }),
    );
  });

  it('When a curve is empty, then it is a constant 1; between two points it is linear', () => {
    expect(curveAt([], 123)).toBe(1);
    const line = [
      { at: 10, value: 2 },
      { at: 20, value: 4 },
    ];
    expect(curveAt(line, 15)).toBe(3);
    expect(curveAt(line, 17.5)).toBe(3.5);
  });
});

describe('a window of a scenario (--from)', () => {
  it("When strike-day is cut from 17:50, then the window starts at 17:50, lasts the rest of the day and its curves are the day's from there on", async () => {
    const day = await loadScenario('strike-day');
    const from = 17 * 3600 + 50 * 60;
    const evening = scenarioFrom(day, from);
    expect(evening.startsAt).toBe('17:50');
    expect(startSecondOfDay(evening)).toBe(startSecondOfDay(day) + from);
    expect(evening.durationSeconds).toBe(day.durationSeconds - from);
    fc.assert(
      fc.property(fc.double({ min: 0, max: evening.durationSeconds, noNaN: true }), (t) => {
        expect(curveAt(evening.demand.curve, t)).toBeCloseTo(curveAt(day.demand.curve, from + t), 9);
        expect(curveAt(evening.drivers.online, t)).toBeCloseTo(curveAt(day.drivers.online, from + t), 9);
      }),
    );
    // The 18:00 flash peak is ten minutes in.
    expect(curveAt(evening.demand.curve, 10 * 60 + 30)).toBe(10);
  });

  it("When a window starts on a step of the curve, then it starts on the step's later value", async () => {
    const day = await loadScenario('strike-day');
    // 7h50m is where the morning's first flash peak has fully risen.
    expect(curveAt(scenarioFrom(day, 7 * 3600 + 50 * 60).demand.curve, 0)).toBe(10);
    expect(scenarioFrom(day, 0)).toBe(day);
  });

  it('When a window is not whole minutes or not before the end, then it is refused with the reason', async () => {
    const day = await loadScenario('strike-day');
    expect(() => scenarioFrom(day, 90)).toThrow(ScenarioWindowError);
    expect(() => scenarioFrom(day, 90)).toThrow(/whole number of minutes/);
    expect(() => scenarioFrom(day, day.durationSeconds)).toThrow(/not before the end/);
    expect(() => scenarioFrom(day, -60)).toThrow(ScenarioWindowError);
  });
});
