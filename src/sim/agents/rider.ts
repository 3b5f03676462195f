import type { Quote, Ride, RideEvent } from '../api-client.js';
import type { Arrival } from '../types.js';
import type { BookedRide, World } from './world.js';

/** A rider's app tries a shed quote again after Retry-After, this many times, then gives up. */
const QUOTE_ATTEMPTS = 3;
/** A booking that got no answer is sent again with the same Idempotency-Key, as an app would. */
const BOOKING_ATTEMPTS = 3;
/** The ride is read this often (wall seconds) when the WebSocket is down. */
const POLL_WALL_SECONDS = 3;

type LiveMessage =
  | { type: 'hello' }
  | { type: 'ride.event'; rideId: string; event: RideEvent; ride?: Ride }
  | { type: 'unsubscribed'; rideId: string; reason: string }
  | { type: string };

/**
 * A rider, through the public API only: takes a quote, walks away when the surge is too high,
 * books, follows the ride on the WebSocket (reading it when the connection is down) and cancels
 * when no driver comes within their patience.
 */
export const startRider = async (world: World, subject: string, trip: Arrival, scheduledMs: number) => {
  const { api, scheduler, recorder, scenario } = world;
  const at = () => scheduler.now();
  recorder.outcome('requested', at());
  const token = await api.token('rider', subject);

  let quote: Quote | undefined;
  let due = scheduledMs;
  for (let attempt = 1; attempt <= QUOTE_ATTEMPTS && !quote; attempt++) {
    const answer = await api.call<Quote>('quote', 'POST', '/v1/quotes', {
      token,
      body: { pickup: trip.pickup, dropoff: trip.dropoff },
      scheduledMs: due,
    });
    if (answer.status === 201) quote = answer.body;
    else if (!answer.shed || attempt === QUOTE_ATTEMPTS) {
      return recorder.outcome(answer.shed ? 'walkedAway' : 'failed', at());
    } else {
      const wait = answer.retryAfterSeconds ?? 2;
      await new Promise<void>((resolve) => scheduler.afterWall(wait, () => resolve()));
      due = performance.now();
    }
  }
  if (!quote) return recorder.outcome('failed', at());
  recorder.gauge('surge', quote.surge, at());
  if (quote.surge > scenario.riders.maxSurge) return recorder.outcome('walkedAway', at());

  const idempotencyKey = api.newIdempotencyKey();
  let ride: Ride | undefined;
  due = performance.now();
  for (let attempt = 1; attempt <= BOOKING_ATTEMPTS && !ride; attempt++) {
    const answer = await api.call<Ride>('booking', 'POST', '/v1/rides', {
      token,
      body: { quoteId: quote.quoteId },
      scheduledMs: due,
      idempotencyKey,
    });
    if (answer.status === 201 || answer.status === 200) ride = answer.body;
    else if (answer.status !== 0 && answer.status < 500) return recorder.outcome('failed', at());
    else due = performance.now();
  }
  if (!ride) return recorder.outcome('failed', at());
  recorder.outcome('created', at());
  const booked = { id: ride.id, riderToken: token, matched: false, searching: true };
  world.rides.set(ride.id, booked);
  follow(world, token, booked, Date.parse(ride.createdAt));
};

/** Waits for the ride's outcome, from its events; cancels once the rider's patience runs out. */
const follow = (world: World, token: string, booked: BookedRide, createdAtMs: number) => {
  const { api, scheduler, recorder, scenario } = world;
  let settled = false;
  let lastStatus = 'searching';
  let polling = false;

  const observe = (status: string, atIso: string | undefined) => {
    if (status === lastStatus && status !== 'driver_assigned') return;
    lastStatus = status;
    if (status === 'driver_assigned' && !booked.matched) {
      booked.matched = true;
      booked.searching = false;
      recorder.outcome('matched', scheduler.now());
      const assignedAtMs = atIso ? Date.parse(atIso) : Date.now();
      recorder.timeToMatch(Math.max(0, assignedAtMs - createdAtMs) / 1000, scheduler.now());
    }
    if (status === 'expired' || status === 'cancelled' || status === 'completed') {
      if (!settled) recorder.outcome(status, scheduler.now());
      settled = true;
      booked.searching = false;
      socket?.close();
    }
  };

  const pollFromNowOn = () => {
    if (settled || polling) return;
    polling = true;
    scheduler.afterWall(POLL_WALL_SECONDS, poll);
  };
  let socket = api.realtime(token);
  if (socket) {
    const connection = socket;
    world.live.add(connection);
    connection.addEventListener('message', (message) => {
      const data = JSON.parse(String(message.data)) as LiveMessage;
      if (data.type === 'hello')
        connection.send(JSON.stringify({ type: 'subscribe', rideId: booked.id, since: 0 }));
      else if (data.type === 'ride.event' && 'event' in data) observe(data.event.status, data.event.at);
    });
    connection.addEventListener('close', () => {
      world.live.delete(connection);
      socket = undefined;
      pollFromNowOn();
    });
  }

  const poll = async (scheduledMs: number) => {
    if (settled || world.stopping) return;
    const answer = await api.call<Ride>('read', 'GET', `/v1/rides/${booked.id}`, { token, scheduledMs });
    if (answer.status === 200 && answer.body) observe(answer.body.status, answer.body.updatedAt);
    if (!settled) scheduler.afterWall(POLL_WALL_SECONDS, poll);
  };
  if (!socket) pollFromNowOn();

  // Patience is the rider's, and matching runs on the platform's clock: wall seconds.
  scheduler.afterWall(scenario.riders.patienceSeconds, async (scheduledMs) => {
    if (settled || lastStatus !== 'searching' || world.stopping) return;
    const answer = await api.call<Ride>('cancel', 'POST', `/v1/rides/${booked.id}/cancel`, {
      token,
      body: { reason: 'waited too long' },
      scheduledMs,
    });
    if (answer.status === 200) observe('cancelled', undefined);
  });
};
