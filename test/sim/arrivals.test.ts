import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cities } from '../../src/domain/city.js';
import { distanceMeters, isInside, type LatLng } from '../../src/domain/geo.js';
import { createArrivals, expectedArrivals } from '../../src/sim/arrivals.js';
import { loadScenario } from '../../src/sim/scenario.js';
import type { Arrival, Scenario } from '../../src/sim/types.js';

const all = (scenario: Scenario, seed: number, scale = 1): Arrival[] => {
  const arrivals = createArrivals(scenario, { seed, scale });
  const out: Arrival[] = [];
  for (let next = arrivals.next(); next; next = arrivals.next()) out.push(next);
  return out;
};

/**
 * A Poisson count strays more than four standard deviations from its mean about once in 16,000
 * windows; the seeds are fixed, so a pass is a pass for good, and a bug that shifts the rate by a
 * few percent over a few thousand arrivals still fails.
 */
const expectPoissonCount = (observed: number, expected: number, label: string) => {
  expect(
    Math.abs(observed - expected),
    `${label}: ${observed} arrivals, ${expected.toFixed(1)} expected`,
  ).toBeLessThanOrEqual(4 * Math.sqrt(expected) + 1);
};

const countIn = (arrivals: Arrival[], from: number, to: number) =>
  arrivals.filter((a) => a.at >= from && a.at < to).length;

let flash: Scenario;
let strike: Scenario;
let launch: Scenario;

beforeAll(async () => {
  [flash, strike, launch] = await Promise.all([
    loadScenario('flash-peak'),
    loadScenario('strike-day'),
    loadScenario('city-launch'),
  ]);
});

describe('arrivals of a Poisson scenario', () => {
  it('When flash-peak is generated, then the counts before, during and after the peak match the integral of its rate', () => {
    const windows: Array<[number, number]> = [
      [0, 120],
      [120, 130],
      [130, 160],
      [160, 190],
      [190, 300],
      [300, 600],
    ];
    for (const seed of [1, 2, 3]) {
      for (const scale of [1, 4]) {
        const arrivals = all(flash, seed, scale);
        for (const [from, to] of windows)
          expectPoissonCount(
            countIn(arrivals, from, to),
            expectedArrivals(flash, scale, from, to),
            `seed ${seed} ×${scale} [${from}, ${to})`,
          );
      }
    }
    // 30 a minute at 1x: 2 min + 10 s rising from 1x to 20x + 60 s at 20x + 410 s at 1x.
    expect(expectedArrivals(flash, 1, 0, 600)).toBeCloseTo(0.5 * (120 + 105 + 1200 + 410), 9);
  });

  it('When strike-day is generated, then every hour and every flash peak has the count its curve integrates to', () => {
    const arrivals = all(strike, 11);
    for (let hour = 0; hour < 24; hour++)
      expectPoissonCount(
        countIn(arrivals, hour * 3600, (hour + 1) * 3600),
        expectedArrivals(strike, 1, hour * 3600, (hour + 1) * 3600),
        `hour ${hour}`,
      );
    // The peaks' own minutes: 10x is 300 a minute against 120 on the evening plateau's 4x… 5x.
    for (const [from, to] of [
      [7 * 3600 + 50 * 60, 7 * 3600 + 51 * 60 + 30],
      [18 * 3600, 18 * 3600 + 120],
      [13 * 3600, 13 * 3600 + 60],
    ] as const) {
      const expected = expectedArrivals(strike, 1, from, to);
      expect(expected / ((to - from) / 60)).toBeCloseTo(300, 0);
      expectPoissonCount(countIn(arrivals, from, to), expected, `peak at ${from} s`);
    }
    expectPoissonCount(arrivals.length, expectedArrivals(strike, 1, 0, 86_400), 'the whole day');
  });

  it('When the same seed is used twice, then the arrivals are identical; another seed gives others', () => {
    expect(all(flash, 5)).toEqual(all(flash, 5));
    const other = all(flash, 6);
    expect(other).not.toEqual(all(flash, 5));
    expect(other[0]).not.toEqual(all(flash, 5)[0]);
  });

  it('When any seed and scale is used, then arrivals come in time order within the scenario, inside the city, and no trip ends where it starts', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.constantFrom(0.3, 1, 2.5),
        fc.constantFrom('flash', 'launch'),
        (seed, scale, which) => {
          const scenario = which === 'flash' ? flash : launch;
          const city = cities.find((c) => c.id === scenario.city)!;
          // Plain checks, one assertion: tens of thousands of expect() calls would dominate the run.
          let previous = 0;
          const wrong = all(scenario, seed, scale).filter(({ at, pickup, dropoff }) => {
            const bad =
              at < previous ||
              at >= scenario.durationSeconds ||
              !isInside(city.area, pickup) ||
              !isInside(scenario.demand.area, dropoff) ||
              !isInside(city.area, dropoff) ||
              distanceMeters(pickup, dropoff) <= 50;
            previous = at;
            return bad;
          });
          expect(wrong).toEqual([]);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('When trips are drawn, then their lengths sit between 1 and 20 km around a median of a few kilometres', () => {
    const lengths = all(strike, 3)
      .slice(0, 20_000)
      .map((a) => distanceMeters(a.pickup, a.dropoff))
      .sort((a, b) => a - b);
    expect(lengths[0]).toBeGreaterThanOrEqual(990);
    expect(lengths.at(-1)).toBeLessThanOrEqual(20_010);
    const median = lengths[Math.floor(lengths.length / 2)]!;
    // 4 km is the drawn median; trips that would leave the area are redrawn, trimming the long ones.
    expect(median).toBeGreaterThan(3_000);
    expect(median).toBeLessThan(4_500);
  });

  it('When strike-day is generated, then the share of pickups at the stations matches 1 − backgroundShare', () => {
    const arrivals = all(strike, 9).slice(0, 30_000);
    const { hotspots, area, backgroundShare } = strike.demand;
    // Within four radii of a station: nearly every hotspot pickup (1 − e^-8), and the background
    // pickups that happen to fall there, in proportion to that part of the area.
    const nearStation = (p: LatLng) => hotspots.some((h) => distanceMeters(p, h) <= 4 * h.radiusMeters);
    const grid = 300;
    let near = 0;
    for (let i = 0; i < grid; i++)
      for (let j = 0; j < grid; j++)
        if (
          nearStation({
            lat: area.south + ((i + 0.5) / grid) * (area.north - area.south),
            lng: area.west + ((j + 0.5) / grid) * (area.east - area.west),
          })
        )
          near++;
    const p = (1 - backgroundShare) * (1 - Math.exp(-8)) + backgroundShare * (near / grid ** 2);
    const observed = arrivals.filter((a) => nearStation(a.pickup)).length;
    const n = arrivals.length;
    expect(Math.abs(observed - n * p)).toBeLessThanOrEqual(4 * Math.sqrt(n * p * (1 - p)));
    // And each station's share follows its weight.
    const total = hotspots.reduce((sum, h) => sum + h.weight, 0);
    for (const spot of hotspots) {
      const own = arrivals.filter((a) => distanceMeters(a.pickup, spot) <= 2 * spot.radiusMeters).length / n;
      // Within two radii: 1 − e^-2 of the station's own pickups, plus a little from the background.
      expect(own, spot.name).toBeGreaterThan(
        (1 - backgroundShare) * (spot.weight / total) * (1 - Math.exp(-2)) * 0.9,
      );
      expect(own, spot.name).toBeLessThan((1 - backgroundShare) * (spot.weight / total) + 0.02);
    }
  });

  it('When a scenario replays a trace and none is given, then creating its arrivals says so', async () => {
    const nyc = await loadScenario('nyc-2014-04-04');
    expect(() => createArrivals(nyc, { seed: 1, scale: 1 })).toThrow(/loadTrace/);
    expect(() => createArrivals(flash, { seed: 1, scale: 0 })).toThrow(/scale/);
  });

  it('When the curve has a step, then the rate jumps there and the integral counts each side', () => {
    // city-launch: 0.1x until 10 min, then 1x at once; 30 a minute at 1x.
    expect(expectedArrivals(launch, 1, 0, 600)).toBeCloseTo(30, 9);
    expect(expectedArrivals(launch, 1, 600, 1200)).toBeCloseTo(300, 9);
    const arrivals = all(launch, 4);
    expectPoissonCount(countIn(arrivals, 0, 600), 30, 'before the launch');
    expectPoissonCount(countIn(arrivals, 600, 1200), 300, 'after the launch');
  });
});
