import { DomainError } from '../domain/errors.js';
import type { Actor, Ride } from '../domain/ride.js';
import type { FlowDeps, Offer, Stores } from './ports.js';
import { commitRideChange } from './ride-change.js';
import { type RideObserver, unobservedRides } from './ride-observer.js';

export interface OfferHooks {
  onDriverAssigned(driverId: string): void;
  onDriverFreed(driverId: string): void;
  onRideRequested(ride: Ride): void;
}

const refusals: Record<Exclude<Offer['status'], 'pending'>, () => DomainError> = {
  accepted: () => new DomainError('OFFER.ALREADY_TAKEN', 'This offer was already accepted.'),
  declined: () => new DomainError('OFFER.ALREADY_DECLINED', 'This offer was already declined.'),
  expired: () => new DomainError('OFFER.EXPIRED', 'This offer lapsed before it was answered.'),
  withdrawn: () =>
    new DomainError('OFFER.WITHDRAWN', 'The ride was cancelled or expired; the offer is withdrawn.'),
};

/**
 * Locks the ride before the offer — the order every writer uses, so a cancel and an accept
 * racing on the same ride queue up instead of deadlocking — and checks the offer is still live.
 */
const lockLiveOffer = async (stores: Stores, driverId: string, offerId: string, now: Date) => {
  const seen = await stores.offers.get(offerId);
  if (!seen || seen.driverId !== driverId)
    throw new DomainError('OFFER.NOT_FOUND', `No offer ${offerId} for you.`);
  const ride = await stores.rides.getForUpdate(seen.rideId);
  const offer = await stores.offers.getForUpdate(offerId);
  if (!ride || !offer) throw new DomainError('OFFER.NOT_FOUND', `No offer ${offerId} for you.`);
  if (offer.status !== 'pending') throw refusals[offer.status]();
  if (offer.expiresAt <= now) throw refusals.expired();
  return { ride, offer };
};

export const createOfferFlows = (
  { uow, clock }: FlowDeps,
  hooks: OfferHooks,
  observer: RideObserver = unobservedRides,
) => ({
  /** Of many concurrent accepts of one offer, the row lock lets exactly one through. */
  async acceptOffer(driverId: string, offerId: string): Promise<Ride> {
    const now = clock.now();
    const actor: Actor = { role: 'driver', id: driverId };
    const { searching, assigned } = await uow.transact(async (stores) => {
      const { ride, offer } = await lockLiveOffer(stores, driverId, offerId, now);
      if (ride.status !== 'searching') throw refusals.withdrawn();
      if (await stores.rides.activeForDriver(driverId)) {
        throw new DomainError('DRIVER.HAS_ACTIVE_RIDE', 'Finish your current ride before accepting another.');
      }
      await stores.offers.answer(offer.id, 'accepted', now);
      const assigned = await commitRideChange(
        stores,
        ride,
        { ...ride, status: 'driver_assigned', driverId },
        { type: 'ride.driver_assigned', actor, data: { offerId } },
        now,
      );
      return { searching: ride, assigned };
    });
    hooks.onDriverAssigned(driverId);
    observer.offerAnswered('accepted');
    // A searching ride is written only when it starts searching, so its updatedAt is that moment.
    observer.rideMatched(assigned, (clock.now().getTime() - searching.updatedAt.getTime()) / 1000);
    return assigned;
  },

  async declineOffer(driverId: string, offerId: string): Promise<Offer> {
    const now = clock.now();
    const { offer, ride } = await uow.transact(async (stores) => {
      const { ride, offer } = await lockLiveOffer(stores, driverId, offerId, now);
      await stores.offers.answer(offer.id, 'declined', now);
      return { offer: { ...offer, status: 'declined' as const, answeredAt: now }, ride };
    });
    observer.offerAnswered('declined');
    hooks.onDriverFreed(driverId);
    hooks.onRideRequested(ride);
    return offer;
  },

  /** The driver's live offers with what they need to decide: where, where to, for how much. */
  async listOffers(driverId: string): Promise<Array<{ offer: Offer; ride: Ride }>> {
    const now = clock.now();
    const offer = await uow.stores.offers.pendingForDriver(driverId);
    if (!offer || offer.expiresAt <= now) return [];
    const ride = await uow.stores.rides.get(offer.rideId);
    return ride ? [{ offer, ride }] : [];
  },
});
