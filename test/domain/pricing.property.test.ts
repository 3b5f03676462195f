import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cities, cityAt } from '../../src/domain/city.js';
import { distanceMeters, isInside, type LatLng } from '../../src/domain/geo.js';
import { estimateTrip, priceTrip, type Tariff, type TripEstimate } from '../../src/domain/pricing.js';
import { type RoadModel, roadSpeedKmh } from '../../src/domain/routing.js';

const tariff: fc.Arbitrary<Tariff> = fc.record({
  currency: fc.constantFrom('EUR', 'GBP', 'USD'),
  baseMinor: fc.integer({ min: 0, max: 2_000 }),
  perKmMinor: fc.integer({ min: 0, max: 1_000 }),
  perMinuteMinor: fc.integer({ min: 0, max: 500 }),
  minimumMinor: fc.integer({ min: 0, max: 10_000 }),
});
const meters = fc.integer({ min: 0, max: 300_000 });
const seconds = fc.integer({ min: 0, max: 4 * 3600 });
const trip: fc.Arbitrary<TripEstimate> = fc.record({ distanceMeters: meters, durationSeconds: seconds });
/** Surge is 1.0 while supply covers demand and capped at 3.0 (DESIGN.md). */
const surge = fc.double({ min: 1, max: 3, noNaN: true });
const hourlySpeeds = fc.array(fc.double({ min: 5, max: 120, noNaN: true }), { minLength: 24, maxLength: 24 });
const roadModel: fc.Arbitrary<RoadModel> = fc.record({
  detourFactor: fc.double({ min: 1, max: 2, noNaN: true }),
  timeZone: fc.constantFrom('Europe/Paris', 'Europe/London', 'UTC', 'America/New_York', 'Asia/Kathmandu'),
  speedKmh: fc.record({ weekday: hourlySpeeds, weekend: hourlySpeeds }),
});
/** Any instant from 1971 to 2099. */
const instant = fc.date({
  min: new Date('1971-01-01T00:00:00Z'),
  max: new Date('2099-12-31T23:59:59Z'),
  noInvalidDate: true,
});
const point: fc.Arbitrary<LatLng> = fc.record({
  lat: fc.double({ min: -85, max: 85, noNaN: true }),
  lng: fc.double({ min: -180, max: 180, noNaN: true }),
});
/** Points within about `radiusKm` of a centre (0.009° of latitude is about 1 km). */
const near = (centre: LatLng, radiusKm: number): fc.Arbitrary<LatLng> =>
  fc
    .record({
      north: fc.double({ min: -radiusKm, max: radiusKm, noNaN: true }),
      east: fc.double({ min: -radiusKm, max: radiusKm, noNaN: true }),
    })
    .map(({ north, east }) => ({
      lat: centre.lat + north / 111.2,
      lng: centre.lng + east / (111.2 * Math.cos((centre.lat * Math.PI) / 180)),
    }));

const paris = { lat: 48.8566, lng: 2.3522 };
const london = { lat: 51.5072, lng: -0.1276 };
const newYork = { lat: 40.7128, lng: -74.006 };

describe('fare pricing', () => {
  it('When any trip is priced with any tariff and surge, then the fare is at least the minimum fare', () => {
    fc.assert(
      fc.property(tariff, trip, surge, (t, estimate, multiplier) => {
        expect(priceTrip(t, estimate, multiplier).amount).toBeGreaterThanOrEqual(t.minimumMinor);
      }),
    );
  });

  it("When any trip is priced, then the fare is a non-negative integer of minor units in the tariff's currency", () => {
    fc.assert(
      fc.property(tariff, trip, surge, (t, estimate, multiplier) => {
        const fare = priceTrip(t, estimate, multiplier);
        expect(Number.isSafeInteger(fare.amount)).toBe(true);
        expect(fare.amount).toBeGreaterThanOrEqual(0);
        expect(fare.currency).toBe(t.currency);
      }),
    );
  });

  it('When a trip gets longer, everything else equal, then the fare never goes down', () => {
    fc.assert(
      fc.property(tariff, meters, meters, seconds, surge, (t, a, b, duration, multiplier) => {
        const [shorter, longer] = a <= b ? [a, b] : [b, a];
        const fare = (distance: number) =>
          priceTrip(t, { distanceMeters: distance, durationSeconds: duration }, multiplier).amount;
        expect(fare(longer)).toBeGreaterThanOrEqual(fare(shorter));
      }),
    );
  });

  it('When a trip takes longer, everything else equal, then the fare never goes down', () => {
    fc.assert(
      fc.property(tariff, meters, seconds, seconds, surge, (t, distance, a, b, multiplier) => {
        const [quicker, slower] = a <= b ? [a, b] : [b, a];
        const fare = (duration: number) =>
          priceTrip(t, { distanceMeters: distance, durationSeconds: duration }, multiplier).amount;
        expect(fare(slower)).toBeGreaterThanOrEqual(fare(quicker));
      }),
    );
  });

  it('When the per-km rate is positive and the trip is a km longer, then the fare goes up', () => {
    fc.assert(
      fc.property(tariff, meters, seconds, (t, distance, duration) => {
        fc.pre(t.perKmMinor > 0);
        const fare = (d: number) =>
          priceTrip({ ...t, minimumMinor: 0 }, { distanceMeters: d, durationSeconds: duration });
        expect(fare(distance + 1000).amount).toBeGreaterThan(fare(distance).amount);
      }),
    );
  });

  it('When the surge rises, then the fare never goes down and scales with the multiplier', () => {
    fc.assert(
      fc.property(tariff, trip, surge, surge, (t, estimate, a, b) => {
        const [lower, higher] = a <= b ? [a, b] : [b, a];
        const base = priceTrip(t, estimate, 1).amount;
        expect(priceTrip(t, estimate).amount).toBe(base);
        expect(priceTrip(t, estimate, higher).amount).toBeGreaterThanOrEqual(
          priceTrip(t, estimate, lower).amount,
        );
        // The unrounded fare is within half a unit of `base`; after surging, that half unit is surged too.
        const surged = priceTrip(t, estimate, higher).amount;
        expect(Math.abs(surged - base * higher)).toBeLessThanOrEqual(0.5 + 0.5 * higher + 1e-9);
      }),
    );
  });

  it('When the surge is 2, then the fare of a trip below the minimum is twice the minimum', () => {
    fc.assert(
      fc.property(tariff, (t) => {
        const nothing = { distanceMeters: 0, durationSeconds: 0 };
        fc.pre(t.baseMinor <= t.minimumMinor);
        expect(priceTrip(t, nothing, 2).amount).toBe(2 * t.minimumMinor);
      }),
    );
  });
});

describe('trip estimates', () => {
  it('When any two points are estimated with a detour factor of at least 1, then the trip is never shorter than the great-circle distance', () => {
    fc.assert(
      fc.property(point, point, roadModel, instant, (from, to, model, at) => {
        const straight = distanceMeters(from, to);
        // Whole metres: rounding may only drop the fraction of the straight-line distance.
        expect(estimateTrip(from, to, model, at).distanceMeters).toBeGreaterThanOrEqual(Math.floor(straight));
      }),
    );
  });

  it("When a trip inside a served city is estimated with that city's model, then it is longer than the great-circle distance and its duration matches the road speed at its start time", () => {
    for (const city of cities) {
      const centre = city.id === 'paris' ? paris : london;
      fc.assert(
        fc.property(near(centre, 15), near(centre, 15), instant, (from, to, at) => {
          const straight = distanceMeters(from, to);
          fc.pre(straight > 100);
          const estimate = estimateTrip(from, to, city.road, at);
          expect(estimate.distanceMeters).toBeGreaterThan(straight);
          const expectedSeconds = estimate.distanceMeters / (roadSpeedKmh(city.road, at) / 3.6);
          expect(Math.abs(estimate.durationSeconds - expectedSeconds)).toBeLessThanOrEqual(1);
        }),
      );
    }
  });

  it('When the same trip is estimated in the evening rush and in the middle of the night, then the rush-hour trip takes longer and costs at least as much', () => {
    const rush = new Date('2024-06-13T16:30:00Z'); // a Thursday, 18:30 in Paris, 17:30 in London
    const night = new Date('2024-06-13T01:30:00Z');
    for (const city of cities) {
      const centre = city.id === 'paris' ? paris : london;
      fc.assert(
        fc.property(near(centre, 10), near(centre, 10), (from, to) => {
          fc.pre(distanceMeters(from, to) > 1000);
          const slow = estimateTrip(from, to, city.road, rush);
          const fast = estimateTrip(from, to, city.road, night);
          expect(slow.distanceMeters).toBe(fast.distanceMeters);
          expect(slow.durationSeconds).toBeGreaterThan(fast.durationSeconds);
          expect(priceTrip(city.tariff, slow).amount).toBeGreaterThanOrEqual(
            priceTrip(city.tariff, fast).amount,
          );
        }),
      );
    }
  });

  it('When the two ends of a trip are the same point, then the trip is zero metres and zero seconds', () => {
    fc.assert(
      fc.property(point, roadModel, instant, (here, model, at) => {
        expect(estimateTrip(here, here, model, at)).toEqual({ distanceMeters: 0, durationSeconds: 0 });
      }),
    );
  });

  it("When any trip within a served city is quoted at the city's tariff, then the fare is at least the city's minimum", () => {
    for (const city of cities) {
      const centre = city.id === 'paris' ? paris : london;
      fc.assert(
        fc.property(near(centre, 20), near(centre, 20), instant, surge, (from, to, at, multiplier) => {
          const fare = priceTrip(city.tariff, estimateTrip(from, to, city.road, at), multiplier);
          expect(fare.amount).toBeGreaterThanOrEqual(city.tariff.minimumMinor);
          expect(Number.isInteger(fare.amount)).toBe(true);
        }),
      );
    }
  });
});

describe('service area', () => {
  it('When a point lies within 15 km of central Paris, then cityAt picks Paris', () => {
    fc.assert(
      fc.property(near(paris, 15), (here) => {
        expect(cityAt(here)?.id).toBe('paris');
      }),
    );
  });

  it('When a point lies within 15 km of central London, then cityAt picks London', () => {
    fc.assert(
      fc.property(near(london, 15), (here) => {
        expect(cityAt(here)?.id).toBe('london');
      }),
    );
  });

  it("When a point is at a named station or airport, then cityAt picks that station's city", () => {
    const named: Array<[LatLng, string]> = [
      [{ lat: 48.8809, lng: 2.3553 }, 'paris'], // Gare du Nord
      [{ lat: 48.8918, lng: 2.238 }, 'paris'], // La Défense
      [{ lat: 49.0097, lng: 2.5479 }, 'paris'], // Charles de Gaulle airport
      [{ lat: 48.7262, lng: 2.3652 }, 'paris'], // Orly airport
      [{ lat: 51.5308, lng: -0.1238 }, 'london'], // King's Cross
      [{ lat: 51.5054, lng: -0.0235 }, 'london'], // Canary Wharf
      [{ lat: 51.47, lng: -0.4543 }, 'london'], // Heathrow airport
    ];
    for (const [here, city] of named) expect(cityAt(here)?.id, JSON.stringify(here)).toBe(city);
  });

  it('When a point is in New York, then cityAt picks New York; anywhere else in the Americas, no city', () => {
    expect(cityAt(newYork)?.id).toBe('new-york');
    const newYorkArea = cities.find((city) => city.id === 'new-york')!.area;
    fc.assert(
      fc.property(
        fc.record({
          lat: fc.double({ min: -56, max: 72, noNaN: true }),
          lng: fc.double({ min: -170, max: -35, noNaN: true }),
        }),
        (here) => {
          fc.pre(!isInside(newYorkArea, here));
          expect(cityAt(here)).toBeUndefined();
        },
      ),
    );
  });

  it('When a point is more than 100 km from both Paris and London, then cityAt finds no city', () => {
    fc.assert(
      fc.property(point, (here) => {
        fc.pre(distanceMeters(here, paris) > 100_000 && distanceMeters(here, london) > 100_000);
        expect(cityAt(here)).toBeUndefined();
      }),
    );
  });
});
