import type { Ride } from '../domain/ride.js';
import type { Offer, Quote, RideEvent } from '../flows/ports.js';
import type { RideJson } from './schemas.js';

export const rideJson = (ride: Ride): RideJson => ({
  id: ride.id,
  status: ride.status,
  riderId: ride.riderId,
  driverId: ride.driverId,
  city: ride.city,
  pickup: ride.pickup,
  dropoff: ride.dropoff,
  fare: ride.fare,
  surge: ride.surge,
  distanceMeters: ride.distanceMeters,
  durationSeconds: ride.durationSeconds,
  quoteId: ride.quoteId,
  searchDeadline: ride.searchDeadline.toISOString(),
  cancellation: ride.cancellation,
  version: ride.version,
  createdAt: ride.createdAt.toISOString(),
  updatedAt: ride.updatedAt.toISOString(),
});

export const quoteJson = (quote: Quote) => ({
  quoteId: quote.id,
  fare: quote.fare,
  surge: quote.surge,
  city: quote.city,
  distanceMeters: quote.distanceMeters,
  durationSeconds: quote.durationSeconds,
  pickupEtaSeconds: quote.pickupEtaSeconds,
  expiresAt: quote.expiresAt.toISOString(),
});

export const offerJson = ({ offer, ride }: { offer: Offer; ride: Ride }) => ({
  id: offer.id,
  rideId: ride.id,
  pickup: ride.pickup,
  dropoff: ride.dropoff,
  fare: ride.fare,
  expiresAt: offer.expiresAt.toISOString(),
});

export const rideEventJson = (event: RideEvent) => ({
  seq: event.seq,
  type: event.type,
  status: event.status,
  actor: event.actor,
  reason: event.reason,
  at: event.at.toISOString(),
});
