import { randomUUID } from 'node:crypto';
import type { LatLng } from '../../src/domain/geo.js';
import type { Ride } from '../../src/domain/ride.js';
import type { Quote, Stores } from '../../src/flows/ports.js';
import { uniqueId } from './platform.js';

/**
 * A searching ride written straight to the stores, as a booking would leave it (its rider and
 * quote included): for tests of the stores and the dispatcher that need rides but not the API.
 */
export const insertSearchingRide = async (
  stores: Stores,
  {
    city,
    pickup,
    createdAt,
    searchWindowMs = 600_000,
  }: {
    city: string;
    pickup: LatLng;
    createdAt: Date;
    searchWindowMs?: number;
  },
): Promise<Ride> => {
  const quote: Quote = {
    id: randomUUID(),
    riderId: uniqueId('rider'),
    city,
    pickup,
    dropoff: { lat: pickup.lat + 0.01, lng: pickup.lng },
    distanceMeters: 1500,
    durationSeconds: 300,
    fare: { amount: 1200, currency: 'EUR' },
    surge: 1,
    pickupEtaSeconds: null,
    createdAt,
    expiresAt: new Date(createdAt.getTime() + 120_000),
    usedAt: null,
  };
  await stores.quotes.insert(quote);
  const ride: Ride = {
    id: randomUUID(),
    riderId: quote.riderId,
    driverId: null,
    status: 'searching',
    city,
    pickup,
    dropoff: quote.dropoff,
    fare: quote.fare,
    surge: quote.surge,
    distanceMeters: quote.distanceMeters,
    durationSeconds: quote.durationSeconds,
    quoteId: quote.id,
    searchDeadline: new Date(createdAt.getTime() + searchWindowMs),
    cancellation: null,
    version: 1,
    createdAt,
    updatedAt: createdAt,
  };
  if (!(await stores.rides.insert(ride))) throw new Error(`ride ${ride.id} was not inserted`);
  return ride;
};
