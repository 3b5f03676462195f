import { randomUUID } from 'node:crypto';
import { DomainError, isDomainError } from '../domain/errors.js';
import type { Ride } from '../domain/ride.js';
import type { FlowDeps, StoredResponse, Stores } from './ports.js';
import { appendRideEvent } from './ride-change.js';
import { type RideObserver, unobservedRides } from './ride-observer.js';

export interface BookingCommand {
  riderId: string;
  quoteId: string;
  idempotencyKey: string;
  /** Fingerprint of the request body: the same key with another body is refused. */
  requestHash: string;
}

export type RenderBooking = (outcome: Ride | DomainError) => StoredResponse;

export interface BookingResult extends StoredResponse {
  replayed: boolean;
}

export const createBookingFlows = (
  { uow, clock, settings }: FlowDeps,
  onRideRequested: (ride: Ride) => void,
  observer: RideObserver = unobservedRides,
) => {
  const createRide = async (stores: Stores, command: BookingCommand, now: Date): Promise<Ride> => {
    const quote = await stores.quotes.getForUpdate(command.quoteId);
    if (!quote || quote.riderId !== command.riderId) {
      throw new DomainError('QUOTE.NOT_FOUND', `No quote ${command.quoteId} for this rider.`);
    }
    if (quote.usedAt)
      throw new DomainError('QUOTE.ALREADY_USED', 'This quote was already used for a booking.');
    if (quote.expiresAt <= now) {
      throw new DomainError(
        'QUOTE.EXPIRED',
        `The quote expired at ${quote.expiresAt.toISOString()}; ask for a new one.`,
      );
    }
    const ride: Ride = {
      id: randomUUID(),
      riderId: command.riderId,
      driverId: null,
      status: 'searching',
      city: quote.city,
      pickup: quote.pickup,
      dropoff: quote.dropoff,
      fare: quote.fare,
      surge: quote.surge,
      distanceMeters: quote.distanceMeters,
      durationSeconds: quote.durationSeconds,
      quoteId: quote.id,
      searchDeadline: new Date(now.getTime() + settings.searchWindowMs),
      cancellation: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await stores.rides.insert(ride))) {
      throw new DomainError(
        'RIDE.RIDER_HAS_ACTIVE_RIDE',
        'Finish or cancel your current ride before booking another.',
      );
    }
    await stores.quotes.markUsed(quote.id, now);
    await appendRideEvent(stores, ride, {
      rideId: ride.id,
      seq: ride.version,
      type: 'ride.requested',
      status: ride.status,
      actor: { role: 'rider', id: ride.riderId },
      reason: null,
      data: { quoteId: quote.id },
      at: now,
    });
    return ride;
  };

  return {
    /**
     * Books the quoted ride once per idempotency key. The key, the ride and the answer commit
     * together, so a replay — even a concurrent one — returns the first answer unchanged.
     */
    async bookRide(command: BookingCommand, render: RenderBooking): Promise<BookingResult> {
      const now = clock.now();
      const { result, ride } = await uow.transact(async (stores) => {
        await stores.riders.ensure(command.riderId, now);
        const claim = await stores.idempotency.claim(
          command.riderId,
          command.idempotencyKey,
          command.requestHash,
          now,
        );
        if (!claim.claimed) {
          if (claim.requestHash !== command.requestHash) {
            throw new DomainError(
              'IDEMPOTENCY.KEY_REUSED',
              'This Idempotency-Key was used with a different request body; use a new key for a new request.',
            );
          }
          if (!claim.response) throw new Error('idempotency key claimed but never completed');
          return { result: { ...claim.response, replayed: true }, ride: undefined };
        }
        let outcome: Ride | DomainError;
        try {
          outcome = await createRide(stores, command, now);
        } catch (error) {
          if (!isDomainError(error)) throw error;
          outcome = error;
        }
        const response = render(outcome);
        await stores.idempotency.complete(command.riderId, command.idempotencyKey, response);
        return {
          result: { ...response, replayed: false },
          ride: isDomainError(outcome) ? undefined : outcome,
        };
      });
      if (ride) {
        observer.rideRequested(ride);
        onRideRequested(ride);
      }
      return result;
    },
  };
};
