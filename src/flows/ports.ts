import type {
  AreaQuery,
  AreasQuery,
  Candidate,
  DriverPosition,
  DriverSnapshot,
  NearestQuery,
  SupplyState,
} from '../dispatch/supply-index.js';
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
    /**
     * What each of these drivers is doing, per the database, for those online: on a ride,
     * holding an offer, or available. Offline drivers are left out.
     */
    onlineStates(driverIds: readonly string[]): Promise<Map<string, SupplyState>>;
  };
  quotes: {
    /** Also records the rider on first contact. */
    insert(quote: Quote): Promise<void>;
    getForUpdate(quoteId: string): Promise<Quote | undefined>;
    markUsed(quoteId: string, now: Date): Promise<boolean>;
    /** Removes up to `limit` quotes never booked that expired before `cutoff`; returns how many. */
    deleteUnusedExpiredBefore(cutoff: Date, limit: number): Promise<number>;
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
    searchingWithoutLiveOffer(limit: number, cities?: readonly string[]): Promise<Ride[]>;
    /** Rides searching now, per city; cities with none are left out. */
    searchingCountByCity(): Promise<Record<string, number>>;
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
  /** Announcements to publish, written in the transaction of the change they announce. */
  outbox: {
    add(message: OutboxMessage): Promise<void>;
    /**
     * Removes and returns up to `limit` of the oldest messages, oldest first, skipping those
     * another relay holds. Inside a transaction, a rollback puts them back.
     */
    claim(limit: number): Promise<OutboxMessage[]>;
  };
}

/** A ride as JSON carries it: the same fields, dates as RFC 3339 strings. */
export type RideSnapshot = Omit<Ride, 'searchDeadline' | 'createdAt' | 'updatedAt'> & {
  searchDeadline: string;
  createdAt: string;
  updatedAt: string;
};

/** One entry of a ride's event log, as published: enough for a subscriber to act without a read. */
export interface RideEventAnnouncement {
  rideId: string;
  seq: number;
  /** Who may follow the ride after this change. */
  riderId: string;
  driverId: string | null;
  event: {
    type: string;
    status: RideStatus;
    actor: RideEvent['actor'];
    reason: string | null;
    at: string;
  };
  /** The ride after this change. */
  ride: RideSnapshot;
}

/** An offer's new status, as published (written by the database for every status change). */
export interface OfferAnnouncement {
  offerId: string;
  rideId: string;
  driverId: string;
  status: OfferStatus;
  expiresAt: string;
  pickup: LatLng;
  dropoff: LatLng;
  fare: Money;
  /** The ride's version when the offer changed. */
  seq: number;
}

/** Plain JSON both ways: what a relay reads from the outbox is what every subscriber receives. */
export type OutboxMessage =
  | { kind: 'ride.event'; payload: RideEventAnnouncement }
  | { kind: 'offer'; payload: OfferAnnouncement };

/**
 * Fan-out of outbox messages to every process that serves live updates (or dispatches).
 * Delivery is at least once and in publish order per publisher, but two relays may interleave:
 * subscribers order ride events by `seq` and drop what they have seen.
 */
export interface EventBus {
  /** Resolves once the messages are handed to the bus; rejects when they may not have been. */
  publish(messages: readonly OutboxMessage[]): Promise<void>;
  /**
   * `onMessage` runs for each message, in order; it must not throw or block (start async work
   * and return). `onResync` runs when the bus may have lost messages (a reconnection): the
   * subscriber should re-read what it follows from the database.
   */
  subscribe(onMessage: (message: OutboxMessage) => void, onResync?: () => void): () => void;
  close(): Promise<void>;
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

/**
 * Where online drivers are and whether they can take a ride: what the flows use of the supply
 * index. The in-memory index is one adapter (`createSupplyIndex()`); the Redis-fed replica
 * (adapters/redis/supply.ts) is the other. Reads are synchronous and local in both; a write is
 * visible to the next read of the process that made it.
 */
export interface SupplyPort {
  /**
   * Adds or refreshes a driver; a new driver starts available. An older report than the one held
   * is ignored, state included. Throws, changing nothing, on a corrupt position.
   */
  upsert(driverId: string, position: DriverPosition, state?: SupplyState): void;
  /** A no-op for a driver the index does not hold. */
  setState(driverId: string, state: SupplyState): void;
  remove(driverId: string): void;
  has(driverId: string): boolean;
  get(driverId: string): DriverSnapshot | undefined;
  /** Available, fresh drivers within the radius, nearest first (ties by driver id). */
  nearestAvailable(query: NearestQuery): Candidate[];
  /** How many available, fresh drivers are within the radius. */
  countAvailable(query: AreaQuery): number;
  /** How many available, fresh drivers are inside each area, in order (one pass: for metrics). */
  countAvailableWithin(query: AreasQuery): number[];
}

export interface FlowDeps {
  uow: UnitOfWork;
  supply: SupplyPort;
  clock: Clock;
  cities: readonly City[];
  routing: RoutingPort;
  surge: SurgeModel;
  settings: DispatchSettings;
}
