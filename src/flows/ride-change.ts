import { DomainError } from '../domain/errors.js';
import type { Actor, Ride } from '../domain/ride.js';
import type { Stores } from './ports.js';

export interface RideChange {
  type: string;
  actor: Actor;
  reason?: string | null;
  data?: Record<string, unknown>;
}

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
  await stores.events.append({
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
