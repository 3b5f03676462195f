import { distanceMeters, type LatLng } from './geo.js';
import { estimateSeconds, type RoadModel } from './routing.js';

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

/** Whole metres and seconds of a trip on the city's roads, starting at `at` (time-of-day speed). */
export const estimateTrip = (from: LatLng, to: LatLng, model: RoadModel, at: Date): TripEstimate => {
  const straight = distanceMeters(from, to);
  return {
    distanceMeters: Math.round(straight * model.detourFactor),
    durationSeconds: Math.round(estimateSeconds(straight, model, at)),
  };
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
