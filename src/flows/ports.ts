import type { SupplyIndex } from '../dispatch/supply-index.js';
import type { SurgeModel } from '../dispatch/surge.js';
import type { City } from '../domain/city.js';
import type { LatLng } from '../domain/geo.js';
import type { Money } from '../domain/pricing.js';
import type { ActorRole, Ride, RideStatus } from '../domain/ride.js';
import type { RoutingPort } from '../domain/routing.js';

/** The ports the flows run on. Adapters implement them; the flows never see SQL or HTTP. */

export interface Quote {
  id: string;
  riderId: string;
  city: string;
  pickup: LatLng;
  dropoff: LatLng;
  distanceMeters: number;
  durationSeconds: number;
  fare: Money;
  surge: number;
  pickupEtaSeconds: number | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export type OfferStatus = 'pending' | 'accepted' | 'declined' | 'expired' | 'withdrawn';

export interface Offer {
  id: string;
  rideId: string;
  driverId: string;
  status: OfferStatus;
  createdAt: Date;
  expiresAt: Date;
  answeredAt: Date | null;
}

export interface DriverRecord {
  id: string;
  status: 'online' | 'offline';
  lastPosition: LatLng | null;
}

export interface RideEvent {
  rideId: string;
  seq: number;
  type: string;
  status: RideStatus;
  actor: { role: ActorRole; id: string | null };
  reason: string | null;
  data: Record<string, unknown>;
  at: Date;
}

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

export type IdempotencyClaim =
  | { claimed: true }
  | { claimed: false; requestHash: string; response: StoredResponse | null };

export interface Stores {
  riders: { ensure(riderId: string, now: Date): Promise<void> };
  drivers: {
    get(driverId: string): Promise<DriverRecord | undefined>;
    /** Holds the driver's row until the transaction ends; true when the driver is online. */
    lockOnline(driverId: string): Promise<boolean>;
    setStatus(
      driverId: string,
      status: DriverRecord['status'],
      position: LatLng | null,
      now: Date,
    ): Promise<void>;
  };
  quotes: {
    /** Also records the rider on first contact. */
    insert(quote: Quote): Promise<void>;
    getForUpdate(quoteId: string): Promise<Quote | undefined>;
    markUsed(quoteId: string, now: Date): Promise<boolean>;
  };
  rides: {
    /** False when the rider already holds an open ride (the database refuses a second one). */
    insert(ride: Ride): Promise<boolean>;
    get(rideId: string): Promise<Ride | undefined>;
    getForUpdate(rideId: string): Promise<Ride | undefined>;
    /** Writes the ride if it is still in `expectedStatus`; bumps its version. False when it moved on. */
    update(ride: Ride, expectedStatus: RideStatus): Promise<boolean>;
    activeForDriver(driverId: string): Promise<Ride | undefined>;
    searchingPastDeadline(now: Date, limit: number): Promise<string[]>;
    /** Oldest first; only rides in these cities when given (a dispatcher's leased partitions). */
    searchingWithoutLiveOffer(limit: number, cities?: readonly string[]): Promise<string[]>;
  };
  offers: {
    /** False when the driver or the ride already has a live offer. */
    insert(offer: Offer): Promise<boolean>;
    get(offerId: string): Promise<Offer | undefined>;
    getForUpdate(offerId: string): Promise<Offer | undefined>;
    /** Moves a pending offer to its answer; false when it was no longer pending. */
    answer(offerId: string, status: Exclude<OfferStatus, 'pending'>, now: Date): Promise<boolean>;
    pendingForRide(rideId: string): Promise<Offer | undefined>;
    pendingForDriver(driverId: string): Promise<Offer | undefined>;
    driversOfferedRide(rideId: string): Promise<string[]>;
    pendingPastExpiry(now: Date, limit: number): Promise<Offer[]>;
  };
  events: {
    append(event: RideEvent): Promise<void>;
    /** The ride's history, oldest first. */
    list(rideId: string): Promise<RideEvent[]>;
  };
  leases: {
    /** Records the holder as live; answers how many dispatchers are live, itself included. */
    heartbeat(holder: string, ttlMs: number): Promise<number>;
    /** Extends the holder's unexpired leases among `partitions`; answers those it still holds. */
    renew(holder: string, partitions: readonly string[], ttlMs: number): Promise<string[]>;
    /** Takes the partition when nobody holds a live lease on it; true when taken. */
    claim(holder: string, partition: string, ttlMs: number): Promise<boolean>;
    release(holder: string, partitions: readonly string[]): Promise<void>;
    /** Gives up every lease and leaves the members at once (clean shutdown). */
    leave(holder: string): Promise<void>;
    /** Live leases, for operators and tests. */
    holders(): Promise<Array<{ partition: string; holder: string }>>;
  };
  idempotency: {
    claim(riderId: string, key: string, requestHash: string, now: Date): Promise<IdempotencyClaim>;
    complete(riderId: string, key: string, response: StoredResponse): Promise<void>;
    deleteCreatedBefore(cutoff: Date): Promise<number>;
  };
}

export interface UnitOfWork {
  /** Stores outside a transaction: each call commits on its own. */
  readonly stores: Stores;
  /** Runs the work in one transaction; any throw rolls everything back. */
  transact<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
}

export interface Clock {
  now(): Date;
}

export interface DispatchSettings {
  offerTimeoutMs: number;
  searchWindowMs: number;
  quoteTtlMs: number;
  matchRadiusMeters: number;
  driverStaleAfterMs: number;
  /** How long rides are collected before a batch is matched when drivers are short; 0 never batches. */
  batchWindowMs: number;
}

export interface FlowDeps {
  uow: UnitOfWork;
  supply: SupplyIndex;
  clock: Clock;
  cities: readonly City[];
  routing: RoutingPort;
  surge: SurgeModel;
  settings: DispatchSettings;
}
