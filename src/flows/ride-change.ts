import { DomainError } from '../domain/errors.js';
import type { Actor, Ride } from '../domain/ride.js';
import type { RideEvent, RideEventAnnouncement, RideSnapshot, Stores } from './ports.js';

export interface RideChange {
  type: string;
  actor: Actor;
  reason?: string | null;
  data?: Record<string, unknown>;
}

export const rideSnapshot = (ride: Ride): RideSnapshot => ({
  ...ride,
  searchDeadline: ride.searchDeadline.toISOString(),
  createdAt: ride.createdAt.toISOString(),
  updatedAt: ride.updatedAt.toISOString(),
});

const announcementOf = (ride: Ride, event: RideEvent): RideEventAnnouncement => ({
  rideId: ride.id,
  seq: event.seq,
  riderId: ride.riderId,
  driverId: ride.driverId,
  event: {
    type: event.type,
    status: event.status,
    actor: event.actor,
    reason: event.reason,
    at: event.at.toISOString(),
  },
  ride: rideSnapshot(ride),
});

/**
 * Appends the entry to the ride's log and, in the same transaction, to the outbox: a committed
 * change is always announced to live subscribers, a rolled-back one never. `ride` is the ride
 * after the change.
 */
export const appendRideEvent = async (stores: Stores, ride: Ride, event: RideEvent): Promise<void> => {
  await stores.events.append(event);
  await stores.outbox.add({ kind: 'ride.event', payload: announcementOf(ride, event) });
};

/**
 * Writes a ride's new state, guarded by the state it was read in, and appends the matching
 * entry to its event log. The event's seq is the ride's new version.
 */
export const commitRideChange = async (
  stores: Stores,
  before: Ride,
  after: Omit<Ride, 'version' | 'updatedAt'>,
  change: RideChange,
  now: Date,
): Promise<Ride> => {
  const next: Ride = { ...after, version: before.version + 1, updatedAt: now };
  if (!(await stores.rides.update(next, before.status))) {
    throw new DomainError(
      'RIDE.INVALID_TRANSITION',
      `Ride ${before.id} changed state meanwhile; nothing was done.`,
    );
  }
  await appendRideEvent(stores, next, {
    rideId: next.id,
    seq: next.version,
    type: change.type,
    status: next.status,
    actor: { role: change.actor.role, id: change.actor.role === 'system' ? null : change.actor.id },
    reason: change.reason ?? null,
    data: change.data ?? {},
    at: now,
  });
  return next;
};

export const systemActor: Actor = { role: 'system', id: 'peakride' };
