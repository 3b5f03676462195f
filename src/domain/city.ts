import { type BoundingBox, isInside, type LatLng } from './geo.js';
import type { Tariff, TripModel } from './pricing.js';

export interface City {
  id: string;
  name: string;
  timeZone: string;
  area: BoundingBox;
  tariff: Tariff;
  trip: TripModel;
}

/** Areas are generous boxes around each metropolitan area, airports included. */
export const cities: readonly City[] = [
  {
    id: 'paris',
    name: 'Paris',
    timeZone: 'Europe/Paris',
    area: { south: 48.7, west: 2.05, north: 49.05, east: 2.65 },
    tariff: { currency: 'EUR', baseMinor: 300, perKmMinor: 120, perMinuteMinor: 35, minimumMinor: 800 },
    trip: { detourFactor: 1.3, averageSpeedKmh: 22 },
  },
  {
    id: 'london',
    name: 'London',
    timeZone: 'Europe/London',
    area: { south: 51.28, west: -0.51, north: 51.7, east: 0.33 },
    tariff: { currency: 'GBP', baseMinor: 250, perKmMinor: 125, perMinuteMinor: 30, minimumMinor: 700 },
    trip: { detourFactor: 1.35, averageSpeedKmh: 20 },
  },
];

export const cityAt = (point: LatLng, served: readonly City[] = cities): City | undefined =>
  served.find((city) => isInside(city.area, point));
