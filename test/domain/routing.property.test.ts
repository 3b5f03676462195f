import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cities } from '../../src/domain/city.js';
import { distanceMeters, type LatLng } from '../../src/domain/geo.js';
import {
  createEstimatedRouting,
  defineRoadModel,
  estimateSeconds,
  estimateTable,
  type RoadModel,
  roadSpeedKmh,
  speedBoundsKmh,
  utcOffsetMs,
} from '../../src/domain/routing.js';

const HOUR_MS = 3_600_000;

const hourlySpeeds = fc.array(fc.double({ min: 3, max: 130, noNaN: true }), { minLength: 24, maxLength: 24 });
/** Zones with whole-hour, half-hour (Adelaide) and quarter-hour (Kathmandu) offsets, with and without DST. */
const timeZone = fc.constantFrom(
  'Europe/Paris',
  'Europe/London',
  'UTC',
  'America/New_York',
  'Australia/Adelaide',
  'Asia/Kathmandu',
);
const roadModel: fc.Arbitrary<RoadModel> = fc.record({
  detourFactor: fc.double({ min: 1, max: 2, noNaN: true }),
  timeZone,
  speedKmh: fc.record({ weekday: hourlySpeeds, weekend: hourlySpeeds }),
});
const instant = fc.date({
  min: new Date('1971-01-01T00:00:00Z'),
  max: new Date('2099-12-31T23:59:59Z'),
  noInvalidDate: true,
});
const meters = fc.double({ min: 0, max: 500_000, noNaN: true });
const point: fc.Arbitrary<LatLng> = fc.record({
  lat: fc.double({ min: 48.7, max: 49.05, noNaN: true }),
  lng: fc.double({ min: 2.05, max: 2.65, noNaN: true }),
});

/** The largest change between two neighbouring hourly speeds, midnight (either profile) included. */
const steepestStep = (model: RoadModel): number => {
  const { weekday, weekend } = model.speedKmh;
  let steepest = 0;
  for (const [a, b] of [
    [weekday, weekday],
    [weekend, weekend],
    [weekday, weekend],
    [weekend, weekday],
  ] as const) {
    for (let h = 0; h < 24; h++) steepest = Math.max(steepest, Math.abs(b[(h + 1) % 24]! - a[h]!));
  }
  return steepest;
};

const at = (iso: string) => new Date(iso);
const paris = cities.find((city) => city.id === 'paris')!;
const london = cities.find((city) => city.id === 'london')!;

describe('road speed by time of day', () => {
  it("When any model is asked at any instant, then the speed lies within the profile's slowest and fastest hours", () => {
    fc.assert(
      fc.property(roadModel, instant, (model, when) => {
        const speed = roadSpeedKmh(model, when);
        const { min, max } = speedBoundsKmh(model);
        expect(Number.isFinite(speed)).toBe(true);
        expect(speed).toBeGreaterThanOrEqual(min - 1e-9);
        expect(speed).toBeLessThanOrEqual(max + 1e-9);
      }),
    );
  });

  it('When the clock moves by up to a minute and no clock change falls in between, then the speed moves by at most the steepest hourly step times the fraction of an hour', () => {
    fc.assert(
      fc.property(roadModel, instant, fc.integer({ min: 1, max: 60_000 }), (model, when, stepMs) => {
        const later = new Date(when.getTime() + stepMs);
        fc.pre(utcOffsetMs(model.timeZone, when.getTime()) === utcOffsetMs(model.timeZone, later.getTime()));
        const change = Math.abs(roadSpeedKmh(model, later) - roadSpeedKmh(model, when));
        expect(change).toBeLessThanOrEqual(steepestStep(model) * (stepMs / HOUR_MS) + 1e-9);
      }),
    );
  });

  it('When a local hour strikes, then the speed a millisecond before and a millisecond after is the same', () => {
    fc.assert(
      fc.property(roadModel, instant, (model, when) => {
        const offset = utcOffsetMs(model.timeZone, when.getTime());
        const local = when.getTime() + offset;
        const onTheHour = Math.floor(local / HOUR_MS) * HOUR_MS - offset;
        fc.pre(utcOffsetMs(model.timeZone, onTheHour - 1) === utcOffsetMs(model.timeZone, onTheHour + 1));
        const before = roadSpeedKmh(model, new Date(onTheHour - 1));
        const after = roadSpeedKmh(model, new Date(onTheHour + 1));
        expect(Math.abs(after - before)).toBeLessThanOrEqual(steepestStep(model) * (2 / HOUR_MS) + 1e-9);
      }),
    );
  });

  it("When it is half past a local hour, then the speed is exactly that hour's figure, from the weekend profile on Saturdays and Sundays", () => {
    fc.assert(
      fc.property(
        roadModel,
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 23 }),
        (model, dayOfWeek, hour) => {
          // 2024-06-02 is a Sunday (day 0); June has no clock change in any of the zones.
          const wallClockAsUtc = Date.UTC(2024, 5, 2 + dayOfWeek, hour, 30);
          const instant = wallClockAsUtc - utcOffsetMs(model.timeZone, wallClockAsUtc);
          const profile =
            dayOfWeek === 0 || dayOfWeek === 6 ? model.speedKmh.weekend : model.speedKmh.weekday;
          expect(roadSpeedKmh(model, new Date(instant))).toBeCloseTo(profile[hour]!, 9);
        },
      ),
    );
  });

  it('When Friday night turns into Saturday in Paris, then the speed at midnight is halfway between the weekday 23 h and weekend 0 h figures', () => {
    const { weekday, weekend } = paris.road.speedKmh;
    expect(roadSpeedKmh(paris.road, at('2024-06-07T21:30:00Z'))).toBeCloseTo(weekday[23]!, 9); // Fri 23:30
    expect(roadSpeedKmh(paris.road, at('2024-06-07T22:00:00Z'))).toBeCloseTo(
      (weekday[23]! + weekend[0]!) / 2,
      9,
    );
    expect(roadSpeedKmh(paris.road, at('2024-06-07T22:30:00Z'))).toBeCloseTo(weekend[0]!, 9); // Sat 0:30
  });
});

describe('clock changes', () => {
  it('When Paris springs forward (31 March 2024) and falls back (27 October 2024), then the UTC offset switches at 01:00 UTC', () => {
    for (const day of ['2024-03-31', '2024-10-27']) {
      const change = Date.parse(`${day}T01:00:00Z`);
      const [before, after] = day.endsWith('03-31') ? [1, 2] : [2, 1];
      expect(utcOffsetMs('Europe/Paris', change - 1)).toBe(before * HOUR_MS);
      expect(utcOffsetMs('Europe/Paris', change)).toBe(after * HOUR_MS);
      expect(utcOffsetMs('Europe/London', change - 1)).toBe((before - 1) * HOUR_MS);
      expect(utcOffsetMs('Europe/London', change)).toBe((after - 1) * HOUR_MS);
    }
  });

  it('When every minute of the two clock-change days in Paris and London is asked, then every speed is finite, within bounds, follows the wall clock, and jumps at most one hourly step at the change', () => {
    for (const city of [paris, london]) {
      const { min, max } = speedBoundsKmh(city.road);
      const steepest = steepestStep(city.road);
      for (const day of ['2024-03-31', '2024-10-27']) {
        const start = Date.parse(`${day}T00:00:00Z`) - 2 * HOUR_MS;
        let previous = roadSpeedKmh(city.road, new Date(start));
        for (let t = start + 60_000; t <= start + 26 * HOUR_MS; t += 60_000) {
          const speed = roadSpeedKmh(city.road, new Date(t));
          expect(Number.isFinite(speed)).toBe(true);
          expect(speed).toBeGreaterThanOrEqual(min);
          expect(speed).toBeLessThanOrEqual(max);
          expect(Math.abs(speed - previous)).toBeLessThanOrEqual(steepest + 1e-9);
          previous = speed;
        }
      }
      // Both days are Sundays: the wall clock, not UTC, picks the hour.
      const { weekend } = city.road.speedKmh;
      const summer = city === paris ? 2 : 1;
      const winter = summer - 1;
      expect(
        roadSpeedKmh(city.road, new Date(Date.parse('2024-03-31T03:30:00Z') - summer * HOUR_MS)),
      ).toBeCloseTo(weekend[3]!, 9);
      // 01:30 happens twice in London on 27 October (and 02:30 in Paris): the same speed both times.
      const twiceLocal = city === paris ? 2 : 1;
      const first = Date.parse(`2024-10-27T0${twiceLocal}:30:00Z`) - summer * HOUR_MS;
      const second = Date.parse(`2024-10-27T0${twiceLocal}:30:00Z`) - winter * HOUR_MS;
      expect(second - first).toBe(HOUR_MS);
      expect(roadSpeedKmh(city.road, new Date(first))).toBeCloseTo(weekend[twiceLocal]!, 9);
      expect(roadSpeedKmh(city.road, new Date(second))).toBeCloseTo(weekend[twiceLocal]!, 9);
    }
  });
});

describe('travel time estimates', () => {
  it('When a distance grows, then the estimate never shrinks; it is zero for zero, positive and finite for any real distance', () => {
    fc.assert(
      fc.property(roadModel, instant, meters, meters, (model, when, a, b) => {
        const [shorter, longer] = a <= b ? [a, b] : [b, a];
        const short = estimateSeconds(shorter, model, when);
        const long = estimateSeconds(longer, model, when);
        expect(long).toBeGreaterThanOrEqual(short);
        expect(Number.isFinite(long)).toBe(true);
        expect(estimateSeconds(0, model, when)).toBe(0);
        // From a millimetre up (below that, a double's subnormal range can round the product to 0).
        if (longer >= 0.001) expect(long).toBeGreaterThan(0);
      }),
    );
  });

  it('When any distance is estimated, then it lies between the times at the fastest and the slowest hour, detour included', () => {
    fc.assert(
      fc.property(roadModel, instant, meters, (model, when, distance) => {
        const { min, max } = speedBoundsKmh(model);
        const road = distance * model.detourFactor;
        const seconds = estimateSeconds(distance, model, when);
        expect(seconds).toBeGreaterThanOrEqual((road * 3.6) / max - 1e-6);
        expect(seconds).toBeLessThanOrEqual((road * 3.6) / min + 1e-6);
      }),
    );
  });

  it('When the estimated router is asked for a table, then each cell is the estimate for that pair, and an invalid point is unroutable', async () => {
    const routing = createEstimatedRouting();
    await fc.assert(
      fc.asyncProperty(
        fc.array(point, { minLength: 1, maxLength: 6 }),
        fc.array(point, { minLength: 1, maxLength: 6 }),
        instant,
        async (sources, destinations, when) => {
          const invalid = { lat: Number.NaN, lng: 2.3 };
          const table = await routing.table({
            model: paris.road,
            sources: [...sources, invalid],
            destinations,
            at: when,
          });
          expect(table.sourceCount).toBe(sources.length + 1);
          expect(table.destinationCount).toBe(destinations.length);
          sources.forEach((source, s) => {
            destinations.forEach((destination, d) => {
              const straight = distanceMeters(source, destination);
              expect(table.seconds(s, d)).toBeCloseTo(estimateSeconds(straight, paris.road, when), 6);
              expect(table.meters(s, d)).toBeCloseTo(straight * paris.road.detourFactor, 6);
            });
          });
          destinations.forEach((_, d) => {
            expect(table.seconds(sources.length, d)).toBeNull();
            expect(table.meters(sources.length, d)).toBeNull();
          });
          expect(() => table.seconds(sources.length + 1, 0)).toThrow(RangeError);
          expect(() => table.seconds(0, -1)).toThrow(RangeError);
        },
      ),
    );
  });

  it('When a table has no sources or no destinations, then it is empty and asks nothing', () => {
    const empty = estimateTable({ model: london.road, sources: [], destinations: [], at: new Date() });
    expect([empty.sourceCount, empty.destinationCount]).toEqual([0, 0]);
  });
});

describe('city road models', () => {
  it("When a city's road model is read, then it follows the city's own time zone", () => {
    for (const city of cities) expect(city.road.timeZone).toBe(city.timeZone);
  });

  it('When it is a weekday rush hour in Paris or London, then the roads are slower than at 3 a.m. and than at midday', () => {
    // Thursday 13 June 2024, local wall-clock times.
    for (const city of [paris, london]) {
      const offsetHours = city === paris ? 2 : 1;
      const local = (hour: number, minute = 30) =>
        new Date(Date.UTC(2024, 5, 13, hour - offsetHours, minute));
      const night = roadSpeedKmh(city.road, local(3));
      const midday = roadSpeedKmh(city.road, local(12));
      for (const rush of [local(8), local(9), local(17), local(18)]) {
        const speed = roadSpeedKmh(city.road, rush);
        expect(speed, `${city.id} ${rush.toISOString()}`).toBeLessThan(midday);
        expect(speed).toBeLessThan(night);
      }
      expect(night).toBe(speedBoundsKmh(city.road).max);
      // Plausible urban speeds, nothing like a motorway.
      const { min, max } = speedBoundsKmh(city.road);
      expect(min).toBeGreaterThanOrEqual(10);
      expect(max).toBeLessThanOrEqual(40);
    }
  });
});

describe('model checks', () => {
  const valid: RoadModel = paris.road;
  it.each([
    ['a detour factor below 1', { ...valid, detourFactor: 0.9 }, /detourFactor/],
    [
      '23 hourly speeds',
      { ...valid, speedKmh: { ...valid.speedKmh, weekday: valid.speedKmh.weekday.slice(1) } },
      /24/,
    ],
    [
      'a zero speed',
      { ...valid, speedKmh: { ...valid.speedKmh, weekend: [0, ...valid.speedKmh.weekend.slice(1)] } },
      /weekend\[0\]/,
    ],
    ['an unknown time zone', { ...valid, timeZone: 'Europe/Atlantis' }, /Atlantis|time zone/i],
  ])(
    'When a road model has %s, then defining it fails with a message that names the field',
    (_case, model, message) => {
      expect(() => defineRoadModel(model)).toThrow(message);
    },
  );
});
