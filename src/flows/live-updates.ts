import type { ErrorCode } from '../domain/errors.js';
import { type Actor, canRead, isFinished, type Ride } from '../domain/ride.js';
import { onAnnouncements } from './announcements.js';
import type { Logger } from './dispatch.js';
import type {
  Clock,
  EventBus,
  OfferAnnouncement,
  OfferStatus,
  RideEvent,
  RideEventAnnouncement,
  RideSnapshot,
  UnitOfWork,
} from './ports.js';
import { rideSnapshot } from './ride-change.js';

/** One entry of a ride's log as a live client sees it (the same fields as GET /v1/rides/:id/events). */
export interface LiveRideEvent {
  seq: number;
  type: string;
  status: RideEvent['status'];
  actor: RideEvent['actor'];
  reason: string | null;
  at: string;
}

export type UnsubscribeReason = 'requested' | 'finished' | 'access_lost';

/** What a live connection is sent; the HTTP layer writes each as one WebSocket text frame. */
export type LiveMessage =
  | { type: 'subscribed'; rideId: string; seq: number }
  | { type: 'unsubscribed'; rideId: string; reason: UnsubscribeReason }
  | { type: 'ride.event'; rideId: string; seq: number; event: LiveRideEvent; ride?: RideSnapshot }
  | ({ type: 'offer' } & Omit<OfferAnnouncement, 'driverId'>)
  | { type: 'error'; code: ErrorCode; detail: string; rideId?: string };

export interface LiveSink {
  send(message: LiveMessage): void;
}

export interface LiveConnection {
  /** Follows the ride: its events after `since` (from the log), then live ones, in seq order. */
  subscribe(rideId: string, since?: number): Promise<void>;
  unsubscribe(rideId: string): void;
  close(): void;
}

export interface LiveUpdatesOptions {
  /** Bounds what one connection holds: each subscription is a few numbers and two map entries. */
  maxSubscriptions: number;
}

/** After a failed database read, the gap is filled again after this long. */
const RETRY_MS = 1000;
/** Gap fills chase events committed while they read; this bounds the chase. */
const MAX_FILL_ROUNDS = 5;
/** Offers a connection remembers to drop duplicates: a duplicate follows its original closely. */
const REMEMBERED_OFFERS = 16;

interface Connection {
  actor: Actor;
  sink: LiveSink;
  subs: Map<string, Subscription>;
  /** The last status sent per offer, oldest offer first. */
  offers: Map<string, OfferStatus>;
  closed: boolean;
}

interface Subscription {
  conn: Connection;
  rideId: string;
  /** The last seq sent: the next one to send is last + 1. */
  last: number;
  /** The highest seq announced while the log was being read: read again if it is past `last`. */
  maxSeen: number;
  filling: boolean;
  ended: boolean;
  retry?: NodeJS.Timeout;
}

const addTo = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
};
const removeFrom = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
};

const isActor = (actor: Actor, who: RideEvent['actor']) => who.role === actor.role && who.id === actor.id;

/** Who may see a change: the ride's parties after it, ops, and a driver the change took it from. */
const mayFollow = (actor: Actor, announcement: RideEventAnnouncement) =>
  actor.role === 'ops' ||
  (actor.role === 'rider' && announcement.riderId === actor.id) ||
  (actor.role === 'driver' && announcement.driverId === actor.id);

/**
 * A driver's view of a ride's history starts when they took it: what happened before (another
 * driver taking and dropping it) is not theirs to read.
 */
const visibleFrom = (actor: Actor, events: RideEvent[]): number => {
  if (actor.role !== 'driver') return 0;
  let from = Number.POSITIVE_INFINITY;
  for (const event of events)
    if (event.type === 'ride.driver_assigned' && isActor(actor, event.actor)) from = event.seq;
  return from;
};

const liveEvent = (event: RideEvent): LiveRideEvent => ({
  seq: event.seq,
  type: event.type,
  status: event.status,
  actor: event.actor,
  reason: event.reason,
  at: event.at.toISOString(),
});

/**
 * Live updates for the connections of this process, fed by the event bus. Per connection and
 * ride, the last seq sent is remembered: an announcement past the next one means some were
 * missed or are late (another relay, a lost bus message), so the gap is read from the ride's
 * event log first; one at or below it is a duplicate and dropped. The log is the truth, the bus
 * only says when to look, so nothing is lost and nothing is sent twice.
 */
export const createLiveUpdates = (
  { uow, clock }: { uow: UnitOfWork; clock: Clock },
  bus: EventBus,
  logger: Logger,
  options: LiveUpdatesOptions,
) => {
  const connections = new Set<Connection>();
  const byRide = new Map<string, Set<Subscription>>();
  const byDriver = new Map<string, Set<Connection>>();

  const send = (conn: Connection, message: LiveMessage) => {
    if (!conn.closed) conn.sink.send(message);
  };

  const end = (sub: Subscription, reason?: UnsubscribeReason) => {
    if (sub.ended) return;
    sub.ended = true;
    clearTimeout(sub.retry);
    removeFrom(byRide, sub.rideId, sub);
    if (sub.conn.subs.get(sub.rideId) === sub) sub.conn.subs.delete(sub.rideId);
    if (reason) send(sub.conn, { type: 'unsubscribed', rideId: sub.rideId, reason });
  };

  /** Sends what the log holds after `last`, again while newer events were announced meanwhile. */
  const fill = async (sub: Subscription): Promise<void> => {
    if (sub.filling || sub.ended) return;
    sub.filling = true;
    const { actor } = sub.conn;
    try {
      for (let round = 0; round < MAX_FILL_ROUNDS; round++) {
        // The log first, then the ride: access checked on the newer read covers every event read.
        const events = await uow.stores.events.list(sub.rideId);
        const ride = await uow.stores.rides.get(sub.rideId);
        if (sub.ended) return;
        if (!ride || !canRead(ride, actor)) return end(sub, 'access_lost');
        const from = visibleFrom(actor, events);
        for (const event of events) {
          if (event.seq <= sub.last) continue;
          if (event.seq >= from) {
            const snapshot = event.seq === ride.version ? { ride: rideSnapshot(ride) } : {};
            const message = { type: 'ride.event' as const, rideId: ride.id, seq: event.seq };
            send(sub.conn, { ...message, event: liveEvent(event), ...snapshot });
          }
          sub.last = event.seq;
        }
        if (isFinished(ride.status) && sub.last >= ride.version) return end(sub, 'finished');
        // Newer events were committed while the log was read: announced, or visible on the ride.
        if (sub.maxSeen <= sub.last && ride.version <= sub.last) return;
      }
    } catch (error) {
      logger.warn({ err: error, rideId: sub.rideId }, 'live updates: reading a ride log failed; retrying');
      clearTimeout(sub.retry);
      sub.retry = setTimeout(() => void fill(sub), RETRY_MS);
      sub.retry.unref();
    } finally {
      sub.filling = false;
    }
  };

  const deliverLive = (sub: Subscription, announcement: RideEventAnnouncement) => {
    const { actor } = sub.conn;
    const allowed = mayFollow(actor, announcement);
    if (!allowed && !isActor(actor, announcement.event.actor)) return end(sub, 'access_lost');
    send(sub.conn, {
      type: 'ride.event',
      rideId: announcement.rideId,
      seq: announcement.seq,
      event: { seq: announcement.seq, ...announcement.event },
      ride: announcement.ride,
    });
    sub.last = announcement.seq;
    // A driver who dropped the ride sees that change, and no more.
    if (!allowed) end(sub, 'access_lost');
    else if (isFinished(announcement.event.status)) end(sub, 'finished');
  };

  const onRideEvent = (announcement: RideEventAnnouncement) => {
    const subs = byRide.get(announcement.rideId);
    if (!subs) return;
    for (const sub of [...subs]) {
      if (sub.filling) {
        sub.maxSeen = Math.max(sub.maxSeen, announcement.seq);
      } else if (announcement.seq === sub.last + 1) {
        deliverLive(sub, announcement);
      } else if (announcement.seq > sub.last + 1) {
        sub.maxSeen = announcement.seq;
        void fill(sub);
      }
    }
  };

  const deliverOffer = (conn: Connection, offer: OfferAnnouncement) => {
    const previous = conn.offers.get(offer.offerId);
    // An offer goes from pending to one final status: anything else is a duplicate or late.
    if (previous !== undefined && (previous !== 'pending' || offer.status === 'pending')) return;
    conn.offers.delete(offer.offerId);
    conn.offers.set(offer.offerId, offer.status);
    if (conn.offers.size > REMEMBERED_OFFERS) conn.offers.delete(conn.offers.keys().next().value as string);
    // Rebuilt field by field: the recipient is implied, and the database's JSON has its own key order.
    send(conn, {
      type: 'offer',
      offerId: offer.offerId,
      rideId: offer.rideId,
      status: offer.status,
      expiresAt: offer.expiresAt,
      pickup: offer.pickup,
      dropoff: offer.dropoff,
      fare: offer.fare,
      seq: offer.seq,
    });
  };

  const onOffer = (announcement: OfferAnnouncement) => {
    for (const conn of byDriver.get(announcement.driverId) ?? []) deliverOffer(conn, announcement);
  };

  /** A driver who connects (or whose bus reconnected) is sent the offer they hold, if any. */
  const sendLiveOffer = async (conn: Connection) => {
    try {
      const offer = await uow.stores.offers.pendingForDriver(conn.actor.id);
      if (!offer || offer.expiresAt <= clock.now()) return;
      const ride = await uow.stores.rides.get(offer.rideId);
      if (!ride || conn.closed) return;
      deliverOffer(conn, {
        offerId: offer.id,
        rideId: ride.id,
        driverId: offer.driverId,
        status: offer.status,
        expiresAt: offer.expiresAt.toISOString(),
        pickup: ride.pickup,
        dropoff: ride.dropoff,
        fare: ride.fare,
        seq: ride.version,
      });
    } catch (error) {
      logger.warn({ err: error, driverId: conn.actor.id }, 'live updates: reading the live offer failed');
    }
  };

  /** The bus may have dropped messages: every subscription re-reads its log, one at a time. */
  const resync = async () => {
    for (const conn of [...connections]) {
      if (conn.actor.role === 'driver') await sendLiveOffer(conn);
      for (const sub of [...conn.subs.values()]) await fill(sub);
    }
  };

  const subscribe = async (conn: Connection, rideId: string, since?: number): Promise<void> => {
    const existing = conn.subs.get(rideId);
    if (existing) end(existing);
    if (conn.subs.size >= options.maxSubscriptions) {
      return send(conn, {
        type: 'error',
        code: 'REALTIME.TOO_MANY_SUBSCRIPTIONS',
        detail: `At most ${options.maxSubscriptions} rides per connection; unsubscribe from one first.`,
        rideId,
      });
    }
    // Registered before the first read, so whatever is announced meanwhile is not missed.
    const sub: Subscription = { conn, rideId, last: 0, maxSeen: 0, filling: true, ended: false };
    conn.subs.set(rideId, sub);
    addTo(byRide, rideId, sub);
    let ride: Ride | undefined;
    try {
      ride = await uow.stores.rides.get(rideId);
    } catch (error) {
      logger.warn({ err: error, rideId }, 'live updates: reading a ride failed');
      end(sub);
      const detail = 'The ride could not be read; subscribe again shortly.';
      return send(conn, { type: 'error', code: 'SERVICE.UNAVAILABLE', detail, rideId });
    }
    if (sub.ended) return;
    if (!ride || !canRead(ride, conn.actor)) {
      end(sub);
      return send(conn, {
        type: 'error',
        code: 'RIDE.NOT_FOUND',
        detail: `No ride ${rideId} visible to you.`,
        rideId,
      });
    }
    sub.last = since === undefined ? ride.version : Math.min(since, ride.version);
    send(conn, { type: 'subscribed', rideId, seq: ride.version });
    sub.filling = false;
    if (sub.last < ride.version || sub.maxSeen > sub.last) await fill(sub);
    else if (isFinished(ride.status)) end(sub, 'finished');
  };

  const stopListening = onAnnouncements(bus, {
    rideEvent: onRideEvent,
    offer: onOffer,
    resync: () => {
      resync().catch((error) => logger.warn({ err: error }, 'live updates: resync failed'));
    },
  });

  return {
    connect(actor: Actor, sink: LiveSink): LiveConnection {
      const conn: Connection = { actor, sink, subs: new Map(), offers: new Map(), closed: false };
      connections.add(conn);
      if (actor.role === 'driver') {
        addTo(byDriver, actor.id, conn);
        void sendLiveOffer(conn);
      }
      return {
        subscribe: (rideId, since) => subscribe(conn, rideId, since),
        unsubscribe(rideId) {
          const sub = conn.subs.get(rideId);
          if (sub) end(sub, 'requested');
          else send(conn, { type: 'unsubscribed', rideId, reason: 'requested' });
        },
        close() {
          conn.closed = true;
          for (const sub of [...conn.subs.values()]) end(sub);
          removeFrom(byDriver, actor.id, conn);
          connections.delete(conn);
        },
      };
    },
    /** Connections served, for metrics and tests. */
    get connections(): number {
      return connections.size;
    },
    close(): void {
      stopListening();
      for (const conn of connections) for (const sub of [...conn.subs.values()]) end(sub);
    },
  };
};

export type LiveUpdates = ReturnType<typeof createLiveUpdates>;
