import type { LatLng } from './geo.js';
import type { Money } from './pricing.js';

export const rideStatuses = [
  'searching',
  'driver_assigned',
  'driver_arrived',
  'in_progress',
  'completed',
  'cancelled',
  'expired',
] as const;
export type RideStatus = (typeof rideStatuses)[number];

/** A driver holding a ride in one of these statuses may not take another one. */
export const driverActiveStatuses = [
  'driver_assigned',
  'driver_arrived',
  'in_progress',
] as const satisfies RideStatus[];
/** A rider holding a ride in one of these statuses may not book another one. */
export const openStatuses = [
  'searching',
  'driver_assigned',
  'driver_arrived',
  'in_progress',
] as const satisfies RideStatus[];
export const finishedStatuses = ['completed', 'cancelled', 'expired'] as const satisfies RideStatus[];

export type RideAction =
  | 'accept'
  | 'expire'
  | 'rider_cancel'
  | 'driver_cancel'
  | 'arrive'
  | 'start'
  | 'complete';

export type CancelledBy = 'rider' | 'driver';

/**
 * The ride lifecycle, the single source for code and for the database trigger that
 * refuses any other status change (see migrations).
 */
const transitions: Record<RideAction, Partial<Record<RideStatus, RideStatus>>> = {
  accept: { searching: 'driver_assigned' },
  expire: { searching: 'expired' },
  rider_cancel: { searching: 'cancelled', driver_assigned: 'cancelled', driver_arrived: 'cancelled' },
  // A driver dropping an assigned ride sends it back to the queue; after arriving it is a no-show.
  driver_cancel: { driver_assigned: 'searching', driver_arrived: 'cancelled' },
  arrive: { driver_assigned: 'driver_arrived' },
  start: { driver_arrived: 'in_progress' },
  complete: { in_progress: 'completed' },
};

export const nextStatus = (from: RideStatus, action: RideAction): RideStatus | undefined =>
  transitions[action][from];

/** Every (from, to) pair the lifecycle allows, whatever the action. */
export const allowedStatusChanges = (): Array<[RideStatus, RideStatus]> =>
  Object.values(transitions).flatMap((byFrom) =>
    Object.entries(byFrom).map(
      ([from, to]) => [from as RideStatus, to as RideStatus] as [RideStatus, RideStatus],
    ),
  );

export const isFinished = (status: RideStatus): boolean =>
  (finishedStatuses as readonly RideStatus[]).includes(status);
export const isDriverActive = (status: RideStatus): boolean =>
  (driverActiveStatuses as readonly RideStatus[]).includes(status);

export interface Cancellation {
  by: CancelledBy;
  reason: string | null;
}

export interface Ride {
  id: string;
  riderId: string;
  driverId: string | null;
  status: RideStatus;
  city: string;
  pickup: LatLng;
  dropoff: LatLng;
  fare: Money;
  surge: number;
  distanceMeters: number;
  durationSeconds: number;
  quoteId: string;
  searchDeadline: Date;
  cancellation: Cancellation | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type ActorRole = 'rider' | 'driver' | 'ops' | 'system';

export interface Actor {
  role: ActorRole;
  id: string;
}

/** Existence of another party's ride is not revealed: callers answer "not found". */
export const canRead = (ride: Ride, actor: Actor): boolean =>
  actor.role === 'ops' ||
  (actor.role === 'rider' && ride.riderId === actor.id) ||
  (actor.role === 'driver' && ride.driverId === actor.id);
