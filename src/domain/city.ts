import { type BoundingBox, isInside, type LatLng } from './geo.js';
import type { Tariff } from './pricing.js';
import { defineRoadModel, type RoadModel } from './routing.js';

export interface City {
  id: string;
  name: string;
  timeZone: string;
  area: BoundingBox;
  tariff: Tariff;
  /** Detour factor and time-of-day speeds, for trip estimates and pickup ETAs. */
  road: RoadModel;
  /**
   * How this city's surge departs from the default policy (dispatch/surge.ts documents each
   * setting: cap, threshold, minDemand, sensitivity, halfLifeMs, resolution…).
   */
  surge?: Readonly<Record<string, number>>;
}

/*
 * Speed profiles, km/h per local hour 0–23. They are rounded, hand-drawn curves fitted to
 * published floating-car figures (TomTom Traffic Index 2022–2024, and TomTom's figures for
 * Paris reported in the French press), not measurements of ours:
 *
 * - Paris: a 10 km trip in the city-centre area takes about 26 min on average (≈ 23 km/h), about
 *   35 min in the worst weekday hours, 8–9 h and 17–19 h (≈ 17 km/h); inside the ring road alone it
 *   is slower by day (≈ 13 km/h on weekdays 8–20 h) and about 20 km/h at night. Our service area
 *   also holds the inner suburbs and the ring road, so the night figure is set near 30 km/h.
 * - London: the city centre averages about 17–18 km/h over the year, about 14 km/h in the rush
 *   hours (13 km/h on Thursdays around 17 h) and about 25 km/h at the quietest ("optimal") hours.
 * - New York: NYC DOT's Mobility Reports (taxi and for-hire GPS speeds) put Manhattan's central
 *   business district at about 7–9 mph (11–15 km/h) on weekdays in 2014–2019, and the rest of the
 *   city well above that; TomTom's index puts 10 km trips city-wide at roughly 20–25 km/h, slower
 *   in the evening rush, which in New York runs later and longer (16–19 h) than the morning one.
 *   Our area takes in the outer boroughs, the expressways and the three airports, so the nights
 *   are set near 30 km/h and the rush hours near 15 km/h.
 *
 * Weekends have no commuter peak: fast early mornings, a slow, flat afternoon of shopping and
 * leisure traffic, and busier nights than weekdays. The daily means (Paris ≈ 23, London ≈ 19,
 * New York ≈ 22 km/h) are the single averages these profiles replace. Refit from trip data once
 * there is some.
 */
const parisRoad = defineRoadModel({
  detourFactor: 1.3,
  timeZone: 'Europe/Paris',
  speedKmh: {
    weekday: [29, 30, 30, 30, 30, 27, 23, 19, 16, 17, 20, 21, 21, 21, 20, 19, 18, 17, 17, 19, 22, 24, 26, 28],
    weekend: [27, 28, 29, 30, 30, 30, 29, 28, 26, 24, 22, 21, 21, 21, 20, 20, 19, 19, 19, 20, 22, 24, 25, 26],
  },
});

const londonRoad = defineRoadModel({
  detourFactor: 1.35,
  timeZone: 'Europe/London',
  speedKmh: {
    weekday: [25, 25, 25, 25, 25, 23, 20, 16, 14, 15, 17, 17, 17, 17, 16, 15, 14, 13, 14, 16, 19, 21, 23, 24],
    weekend: [22, 23, 24, 25, 25, 25, 24, 23, 21, 19, 17, 16, 16, 16, 16, 16, 16, 16, 17, 18, 19, 20, 21, 22],
  },
});

// Manhattan's grid makes trips about 4/π ≈ 1.27 times the straight line on average; the rivers
// and their few crossings add to that outside it.
const newYorkRoad = defineRoadModel({
  detourFactor: 1.3,
  timeZone: 'America/New_York',
  speedKmh: {
    weekday: [30, 31, 32, 32, 31, 28, 23, 18, 16, 17, 18, 18, 18, 18, 17, 16, 15, 15, 16, 18, 21, 24, 26, 28],
    weekend: [27, 28, 29, 30, 31, 31, 30, 28, 26, 23, 21, 19, 18, 18, 18, 18, 18, 18, 19, 20, 21, 23, 24, 25],
  },
});

/** Areas are generous boxes around each metropolitan area, airports included. */
export const cities: readonly City[] = [
  {
    id: 'paris',
    name: 'Paris',
    timeZone: parisRoad.timeZone,
    area: { south: 48.7, west: 2.05, north: 49.05, east: 2.65 },
    tariff: { currency: 'EUR', baseMinor: 300, perKmMinor: 120, perMinuteMinor: 35, minimumMinor: 800 },
    road: parisRoad,
  },
  {
    id: 'london',
    name: 'London',
    timeZone: londonRoad.timeZone,
    area: { south: 51.28, west: -0.51, north: 51.7, east: 0.33 },
    tariff: { currency: 'GBP', baseMinor: 250, perKmMinor: 125, perMinuteMinor: 30, minimumMinor: 700 },
    road: londonRoad,
    // A lower ceiling than the default 3.0, as a city regulator may demand.
    surge: { cap: 2.5 },
  },
  {
    id: 'new-york',
    name: 'New York',
    timeZone: newYorkRoad.timeZone,
    // The five boroughs with JFK and LaGuardia, and Newark airport across the Hudson (which takes
    // in Jersey City and Hoboken too).
    area: { south: 40.49, west: -74.27, north: 40.92, east: -73.68 },
    // About UberX's published New York rates of spring 2014 ($3 base, $2.15 a mile, $0.40 a
    // minute, $8 minimum), for the replay of that year's trace (data/README.md).
    tariff: { currency: 'USD', baseMinor: 300, perKmMinor: 134, perMinuteMinor: 40, minimumMinor: 800 },
    road: newYorkRoad,
  },
];

export const cityAt = (point: LatLng, served: readonly City[] = cities): City | undefined =>
  served.find((city) => isInside(city.area, point));
