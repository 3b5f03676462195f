import { DomainError } from '../domain/errors.js';
import { type Actor, canRead, nextStatus, type Ride, type RideAction } from '../domain/ride.js';
import type { DispatchSettings, FlowDeps, Offer, RideEvent, Stores } from './ports.js';
import { commitRideChange } from './ride-change.js';
import { type RideObserver, unobservedRides } from './ride-observer.js';

export interface RideLifecycleHooks {
  /** The driver is free again (ride finished or dropped, offer withdrawn). */
  onDriverFreed(driverId: string): void;
  /** The ride is back in the queue and needs a driver. */
  onRideRequested(ride: Ride): void;
}

const notFound = (rideId: string) => new DomainError('RIDE.NOT_FOUND', `No ride ${rideId} visible to you.`);

/** Who may ask for each change: the ride's own rider, or the driver assigned to it. */
const mayAct = (ride: Ride, actor: Actor, action: RideAction): boolean =>
  action === 'rider_cancel'
    ? actor.role === 'rider' && ride.riderId === actor.id
    : actor.role === 'driver' && ride.driverId === actor.id;

const eventTypes: Record<RideAction, string> = {
  accept: 'ride.driver_assigned',
  expire: 'ride.expired',
  rider_cancel: 'ride.cancelled',
  driver_cancel: 'ride.cancelled',
  arrive: 'ride.driver_arrived',
  start: 'ride.started',
  complete: 'ride.completed',
};

/** The ride after `action`, before it is written: the status plus what that status implies. */
const applyAction = (
  ride: Ride,
  action: RideAction,
  reason: string | null,
  now: Date,
  settings: DispatchSettings,
): Omit<Ride, 'version' | 'updatedAt'> => {
  const to = nextStatus(ride.status, action);
  if (!to) {
    throw new DomainError(
      'RIDE.INVALID_TRANSITION',
      `Cannot ${action.replace('_', ' ')} a ride that is ${ride.status}; nothing was changed.`,
    );
  }
  if (action === 'rider_cancel') return { ...ride, status: to, cancellation: { by: 'rider', reason } };
  if (action === 'driver_cancel' && to === 'searching') {
    // Back in the queue with a fresh window; the offers table remembers this driver had it.
    return {
      ...ride,
      status: to,
      driverId: null,
      searchDeadline: new Date(now.getTime() + settings.searchWindowMs),
    };
  }
  if (action === 'driver_cancel') {
    return { ...ride, status: to, cancellation: { by: 'driver', reason: reason ?? 'rider_no_show' } };
  }
  return { ...ride, status: to };
};

export const createRideLifecycleFlows = (
  { uow, clock, settings }: FlowDeps,
  hooks: RideLifecycleHooks,
  observer: RideObserver = unobservedRides,
) => {
  const withdrawLiveOffer = async (stores: Stores, rideId: string, now: Date): Promise<Offer | undefined> => {
    const offer = await stores.offers.pendingForRide(rideId);
    if (offer) await stores.offers.answer(offer.id, 'withdrawn', now);
    return offer;
  };

  const changeRide = async (
    actor: Actor,
    rideId: string,
    action: RideAction,
    reason: string | null = null,
  ) => {
    const now = clock.now();
    const { before, after, withdrawn } = await uow.transact(async (stores) => {
      const ride = await stores.rides.getForUpdate(rideId);
      if (!ride || !mayAct(ride, actor, action)) throw notFound(rideId);
      const changed = applyAction(ride, action, reason, now, settings);
      // A ride cancelled while offered takes its offer back in the same transaction.
      const withdrawn =
        ride.status === 'searching' ? await withdrawLiveOffer(stores, ride.id, now) : undefined;
      const after = await commitRideChange(
        stores,
        ride,
        changed,
        { type: eventTypes[action], actor, reason },
        now,
      );
      return { before: ride, after, withdrawn };
    });
    if (withdrawn) hooks.onDriverFreed(withdrawn.driverId);
    if (before.driverId && after.status !== 'driver_arrived' && after.status !== 'in_progress') {
      hooks.onDriverFreed(before.driverId);
    }
    if (after.status === 'searching') hooks.onRideRequested(after);
    if (after.status === 'cancelled') observer.rideCancelled(after, after.cancellation?.by ?? 'system');
    if (after.status === 'completed') observer.rideCompleted(after);
    return after;
  };

  return {
    async getRide(actor: Actor, rideId: string): Promise<Ride> {
      const ride = await uow.stores.rides.get(rideId);
      if (!ride || !canRead(ride, actor)) throw notFound(rideId);
      return ride;
    },

    /** Ops only: every change of the ride, who made it and why (driver cancellations included). */
    async rideHistory(actor: Actor, rideId: string): Promise<RideEvent[]> {
      const ride = actor.role === 'ops' ? await uow.stores.rides.get(rideId) : undefined;
      if (!ride) throw notFound(rideId);
      return uow.stores.events.list(rideId);
    },

    cancelRide(actor: Actor, rideId: string, reason: string | null): Promise<Ride> {
      return changeRide(actor, rideId, actor.role === 'driver' ? 'driver_cancel' : 'rider_cancel', reason);
    },

    arrive: (actor: Actor, rideId: string) => changeRide(actor, rideId, 'arrive'),
    startRide: (actor: Actor, rideId: string) => changeRide(actor, rideId, 'start'),
    completeRide: (actor: Actor, rideId: string) => changeRide(actor, rideId, 'complete'),
  };
};
