import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cities } from '../../src/domain/city.js';
import { distanceMeters, isInside } from '../../src/domain/geo.js';
import { createArrivals, expectedArrivals } from '../../src/sim/arrivals.js';
import { loadScenario } from '../../src/sim/scenario.js';
import { loadTrace, type Trace, TraceFileError } from '../../src/sim/trace.js';
import type { Arrival, Scenario } from '../../src/sim/types.js';

const shippedTrace = fileURLToPath(new URL('../../data/uber-nyc-2014-04-04.csv', import.meta.url));
const newYork = cities.find((c) => c.id === 'new-york')!;
let dir: string;
let nyc: Scenario;
let raw: Trace;
let served: Trace;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peakride-trace-'));
  [nyc, raw, served] = await Promise.all([
    loadScenario('nyc-2014-04-04'),
    loadTrace(shippedTrace),
    loadTrace(shippedTrace, { city: 'new-york' }),
  ]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (name: string, text: string) => {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
};

const replay = (scenario: Scenario, trace: Trace, seed: number, scale: number): Arrival[] => {
  const arrivals = createArrivals(scenario, { seed, scale, trace });
  const out: Arrival[] = [];
  for (let next = arrivals.next(); next; next = arrivals.next()) out.push(next);
  return out;
};

const perHour = (times: number[]) => {
  const counts = new Array<number>(24).fill(0);
  for (const t of times) counts[Math.floor(t / 3600)]!++;
  return counts;
};

describe('the shipped New York trace', () => {
  it('When it is loaded, then all 8,978 pickups are read, in time order, from the midnight of 4 April 2014', () => {
    expect(raw.rows).toHaveLength(8_978);
    expect(raw.skipped).toEqual([]);
    expect(raw.date).toBe('2014-04-04');
    expect(raw.resolutionSeconds).toBe(60);
    // The file holds one base after the other; the rows come out by time.
    expect(raw.rows[0]!.at).toBe(0);
    expect(raw.rows.find((r) => r.line === 2)).toEqual({
      line: 2,
      at: 180,
      pickup: { lat: 40.7528, lng: -73.9858 },
    });
    expect(raw.rows.filter((row, i) => i > 0 && row.at < raw.rows[i - 1]!.at)).toEqual([]);
    // The hourly figures of data/README.md.
    const hours = perHour(raw.rows.map((r) => r.at));
    expect([hours[2], hours[7], hours[8], hours[17], hours[18], hours[21]]).toEqual([
      39, 382, 322, 785, 822, 655,
    ]);
  });

  it('When it is loaded for New York, then the 27 pickups outside the service area are skipped with their lines and why', () => {
    expect(served.rows).toHaveLength(8_951);
    expect(served.skipped).toHaveLength(27);
    for (const { line, reason } of served.skipped) {
      expect(reason).toBe('outside the service area of new-york');
      expect(line).toBeGreaterThanOrEqual(2);
      expect(line).toBeLessThanOrEqual(8_979);
    }
    expect(served.rows.filter((row) => !isInside(newYork.area, row.pickup))).toEqual([]);
    // 13:17, 40.5277,-74.3991 is in New Jersey, west of Staten Island.
    const line = raw.rows.find((r) => r.pickup.lat === 40.5277 && r.pickup.lng === -74.3991)!.line;
    expect(served.skipped.map((s) => s.line)).toContain(line);
  });

  it('When it is replayed at scale 1, then every hour brings exactly its pickups, at the same places', () => {
    const arrivals = replay(nyc, served, 1, 1);
    expect(perHour(arrivals.map((a) => a.at))).toEqual(perHour(served.rows.map((r) => r.at)));
    expect(arrivals).toHaveLength(8_951);
    expect(expectedArrivals(nyc, 1, 0, 86_400, served)).toBe(8_951);
    const replayed = new Set(arrivals.map((a) => `${a.pickup.lat},${a.pickup.lng}`));
    expect(served.rows.filter((row) => !replayed.has(`${row.pickup.lat},${row.pickup.lng}`))).toEqual([]);
    // Each arrival stays within its row's minute: the minute counts match too.
    const minutes = (times: number[]) => {
      const counts = new Map<number, number>();
      for (const t of times) counts.set(Math.floor(t / 60), (counts.get(Math.floor(t / 60)) ?? 0) + 1);
      return counts;
    };
    expect(minutes(arrivals.map((a) => a.at))).toEqual(minutes(served.rows.map((r) => r.at)));
  });

  it('When it is replayed at scale 3, then every hour brings three times its pickups; at 2.5, two and a half within bounds', () => {
    const hours = perHour(served.rows.map((r) => r.at));
    expect(perHour(replay(nyc, served, 2, 3).map((a) => a.at))).toEqual(hours.map((n) => 3 * n));
    const half = perHour(replay(nyc, served, 3, 2.5).map((a) => a.at));
    hours.forEach((n, hour) => {
      // Each row adds a third arrival with probability 0.5: a variance of n / 4 an hour.
      expect(Math.abs(half[hour]! - 2.5 * n), `hour ${hour}`).toBeLessThanOrEqual(4 * Math.sqrt(n / 4) + 1);
    });
  });

  it('When it is replayed, then arrivals come in time order within the day and every drawn drop-off lies inside New York, away from its pickup', () => {
    const arrivals = replay(nyc, served, 4, 1.5);
    let previous = 0;
    const wrong = arrivals.filter(({ at, pickup, dropoff }) => {
      const bad =
        at < previous ||
        at >= 86_400 ||
        !isInside(newYork.area, pickup) ||
        !isInside(newYork.area, dropoff) ||
        distanceMeters(pickup, dropoff) < 500;
      previous = at;
      return bad;
    });
    expect(wrong).toEqual([]);
    expect(replay(nyc, served, 4, 1.5)).toEqual(arrivals);
  });

  it('When a trace loaded without a city is replayed, then the pickups outside the city are still left out', () => {
    expect(replay(nyc, raw, 1, 1)).toHaveLength(8_951);
  });

  it('When the scenario covers only part of the day, then only the rows inside its window are replayed, from its start', () => {
    const evening: Scenario = { ...nyc, startsAt: '17:00', durationSeconds: 2 * 3600 };
    const arrivals = replay(evening, served, 5, 1);
    const hours = perHour(served.rows.map((r) => r.at));
    expect(arrivals).toHaveLength(hours[17]! + hours[18]!);
    expect(arrivals.every((a) => a.at >= 0 && a.at < 7200)).toBe(true);
    expect(countBelow(arrivals, 3600)).toBe(hours[17]);
    expect(expectedArrivals(evening, 2, 0, 3600, served)).toBe(2 * hours[17]!);
  });
});

const countBelow = (arrivals: Arrival[], t: number) => arrivals.filter((a) => a.at < t).length;

describe('trace files', () => {
  it('When rows are malformed, then each is skipped and reported with its line number and the reason', async () => {
    const file = await write(
      'malformed.csv',
      [
        '\ufeffDate/Time,Lat,Lon,Base', // 1 (with a byte-order mark)
        '2014/4/4 00:03:00,40.7528,-73.9858,B02512', // 2 good
        '2014/4/4 00:04:00,forty,-73.99,B02512', // 3 bad number
        '2014/4/4 00:05:00,95.1,-73.99,B02512', // 4 latitude out of range
        '2014/13/4 00:06:00,40.75,-73.99,B02512', // 5 no such month
        '', // 6 empty: not a row
        '2014/4/4 00:07:00,40.75', // 7 missing column
        'yesterday,40.75,-73.99,B02512', // 8 bad time
        '2014/4/4 00:09:00,40.75,-200,B02512', // 9 longitude out of range
        '2014/4/4 25:10:00,40.75,-73.99,B02512', // 10 no such hour
        '4/4/2014 0:11:00,40.76,-73.97,B02598', // 11 good, US order
      ].join('\r\n'),
    );
    const trace = await loadTrace(file);
    expect(trace.rows.map((r) => [r.line, r.at])).toEqual([
      [2, 180],
      [11, 660],
    ]);
    expect(trace.skipped.map((s) => s.line)).toEqual([3, 4, 5, 7, 8, 9, 10]);
    const reason = (line: number) => trace.skipped.find((s) => s.line === line)!.reason;
    expect(reason(3)).toMatch(/bad number "forty" in Lat/);
    expect(reason(4)).toMatch(/Lat 95.1 is out of range/);
    expect(reason(5)).toMatch(/bad time/);
    expect(reason(7)).toMatch(/missing Lon/);
    expect(reason(8)).toMatch(/bad time "yesterday"/);
    expect(reason(9)).toMatch(/Lon -200 is out of range/);
    expect(reason(10)).toMatch(/bad time/);
  });

  it('When a CSV has no usable row, then loading it fails with an error naming the file', async () => {
    const file = await write('useless.csv', 'Date/Time,Lat,Lon\nsoon,1,2\n2014/4/4 00:03:00,x,y\n');
    const error = await loadTrace(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFileError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/no usable row \(line 2: bad time/);
    const empty = await write('empty.csv', '');
    await expect(loadTrace(empty)).rejects.toThrow(/empty\.csv: is empty/);
    const far = await write('far.csv', 'Date/Time,Lat,Lon\n2014/4/4 00:03:00,48.85,2.35\n');
    await expect(loadTrace(far, { city: 'new-york' })).rejects.toThrow(
      /outside the service area of new-york/,
    );
  });

  it('When the header lacks a needed column, then the error names it and the accepted names', async () => {
    const file = await write('nolon.csv', 'when,Lat,Base\n2014/4/4 00:03:00,40.7,B1\n');
    await expect(loadTrace(file)).rejects.toThrow(
      /has no time, lng column in its header \(when, Lat, Base\)/,
    );
    await expect(loadTrace(join(dir, 'nothing-here.csv'))).rejects.toThrow(/cannot be read: ENOENT/);
  });

  it('When a trace has ISO times, other column names and drop-offs, then they are read and the drop-offs replayed as given', async () => {
    const file = await write(
      'iso.csv',
      [
        'pickup_datetime,pickup_latitude,pickup_longitude,dropoff_latitude,dropoff_longitude',
        '2014-04-04T08:00:30Z,40.75,-73.99,40.64,-73.78', // 04:00:30 in New York (EDT)
        '2014-04-04T04:00:10,40.76,-73.98,,', // a local time; no drop-off
        '2014-04-04T04:00:20,40.77,-73.97,40.77,-73.97', // the drop-off is the pickup
        '2014-04-04T04:00:40,40.78,-73.96,50.1,-73.9', // the drop-off is out of New York
      ].join('\n'),
    );
    const trace = await loadTrace(file, { city: 'new-york' });
    expect(trace.resolutionSeconds).toBe(1);
    expect(trace.rows.map((r) => [r.line, r.at, r.dropoff])).toEqual([
      [3, 4 * 3600 + 10, undefined],
      [2, 4 * 3600 + 30, { lat: 40.64, lng: -73.78 }],
    ]);
    expect(trace.skipped).toEqual([
      { line: 4, reason: 'the drop-off is the pickup' },
      { line: 5, reason: 'drop-off outside the service area of new-york' },
    ]);
    const scenario: Scenario = { ...nyc, startsAt: '04:00', durationSeconds: 60 };
    const arrivals = replay(scenario, trace, 1, 1);
    // Second resolution: each arrival within its own second.
    expect(arrivals.map((a) => Math.floor(a.at))).toEqual([10, 30]);
    expect(arrivals[1]!.dropoff).toEqual({ lat: 40.64, lng: -73.78 });
    expect(isInside(newYork.area, arrivals[0]!.dropoff)).toBe(true);
    expect(distanceMeters(arrivals[0]!.pickup, arrivals[0]!.dropoff)).toBeGreaterThanOrEqual(500);
  });
});
