import { distanceMeters, type LatLng } from './geo.js';

/** Amounts are integers in the currency's minor unit (cents, pence) so sums never drift. */
export interface Money {
  amount: number;
  currency: string;
}

export interface Tariff {
  currency: string;
  baseMinor: number;
  perKmMinor: number;
  perMinuteMinor: number;
  minimumMinor: number;
}

export interface TripEstimate {
  distanceMeters: number;
  durationSeconds: number;
}

export interface TripModel {
  /** Road distance over great-circle distance; about 1.3 in dense European cities. */
  detourFactor: number;
  averageSpeedKmh: number;
}

export const estimateTrip = (from: LatLng, to: LatLng, model: TripModel): TripEstimate => {
  const road = distanceMeters(from, to) * model.detourFactor;
  const metersPerSecond = (model.averageSpeedKmh * 1000) / 3600;
  return { distanceMeters: Math.round(road), durationSeconds: Math.round(road / metersPerSecond) };
};

/** Upfront fare: base + distance + time, never below the minimum, then the surge multiplier. */
export const priceTrip = (tariff: Tariff, trip: TripEstimate, surge = 1): Money => {
  const metered =
    tariff.baseMinor +
    (tariff.perKmMinor * trip.distanceMeters) / 1000 +
    (tariff.perMinuteMinor * trip.durationSeconds) / 60;
  const amount = Math.round(Math.max(metered, tariff.minimumMinor) * surge);
  return { amount, currency: tariff.currency };
};

/** Seconds to cover a straight-line distance on the city's roads. */
export const travelSeconds = (straightLineMeters: number, model: TripModel): number =>
  Math.round((straightLineMeters * model.detourFactor) / ((model.averageSpeedKmh * 1000) / 3600));
