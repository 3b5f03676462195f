import type { WebSocket } from 'undici';
import type { LatLng } from '../../domain/geo.js';
import type { Offer, Ride } from '../api-client.js';
import { headingOf, type Leg, legTo, near, positionOn, type World } from './world.js';

type DriverState = 'offline' | 'goingOnline' | 'idle' | 'toPickup' | 'boarding' | 'onTrip';

/** Drivers report where they are every 4 s of simulated time, the rate the big platforms use... */
const REPORT_EVERY_SIM_SECONDS = 4;
/** ...but at most once a wall second each: compressing time must not multiply the location load. */
const MIN_REPORT_WALL_SECONDS = 1;
/** Offers are polled this often (wall seconds) when the WebSocket is off or down. */
const POLL_WALL_SECONDS = 2;
/** A failed lifecycle call is retried this often, this many times, as a driver's app would. */
const RETRY_WALL_SECONDS = 1;
const RETRIES = 5;

/**
 * A driver, through the public API only: goes online, drifts around while free and reports its
 * position, learns of offers on the WebSocket (polling when it is down), answers after a human
 * delay, drives to the pickup and to the drop-off and goes through arrive, start and complete.
 */
export const createDriver = (world: World, subject: string, home: LatLng) => {
  const { scheduler, api, scenario } = world;
  let token: string | undefined;
  let state: DriverState = 'offline';
  let leg: Leg = { from: home, to: home, startsAt: 0, endsAt: 1 };
  let rideId: string | undefined;
  let socket: WebSocket | undefined;
  let leaveAfterRide = false;
  /** Bumped on every online session, so the tasks of an earlier one stop by themselves. */
  let session = 0;
  const answering = new Set<string>();

  const position = () => positionOn(leg, scheduler.now());
  const driveTo = (to: LatLng) => {
    const now = scheduler.now();
    leg = legTo(world, positionOn(leg, now), to, now);
    return leg;
  };

  const goOnline = async (scheduledMs: number) => {
    if (state !== 'offline' || world.stopping) return;
    state = 'goingOnline';
    token ??= await api.token('driver', subject);
    const answer = await api.call('online', 'POST', '/v1/drivers/me/online', {
      token,
      body: position(),
      scheduledMs,
    });
    if (answer.status !== 200) {
      state = 'offline';
      scheduler.afterWall(2, goOnline);
      return;
    }
    state = 'idle';
    leaveAfterRide = false;
    const current = ++session;
    world.recorder.gauge('onlineDrivers', world.onlineDrivers(1), scheduler.now());
    const interval = Math.max(REPORT_EVERY_SIM_SECONDS / scheduler.speed, MIN_REPORT_WALL_SECONDS);
    // Spread the fleet's reports over the interval instead of sending them in one wave.
    scheduler.afterWall(world.random.uniform() * interval, (due) => void report(current, interval, due));
    if (world.offers === 'websocket') listen(current);
    else scheduler.afterWall(POLL_WALL_SECONDS, (due) => void poll(current, due));
  };

  const goOffline = async (scheduledMs: number) => {
    if (state !== 'idle' || !token) {
      leaveAfterRide = state !== 'offline';
      return;
    }
    const answer = await api.call('online', 'POST', '/v1/drivers/me/offline', { token, scheduledMs });
    if (answer.status === 200) leaveSession();
    else leaveAfterRide = true;
  };

  const leaveSession = () => {
    if (state === 'offline') return;
    state = 'offline';
    session++;
    socket?.close();
    socket = undefined;
    world.recorder.gauge('onlineDrivers', world.onlineDrivers(-1), scheduler.now());
  };

  const report = async (current: number, interval: number, scheduledMs: number) => {
    if (current !== session || !token) return;
    scheduler.afterWall(interval, (due) => void report(current, interval, due));
    // A free driver cruises: a new short leg each time the last one is done.
    if (state === 'idle' && scheduler.now() >= leg.endsAt) driveTo(near(world, position(), 1500));
    const answer = await api.call('location', 'POST', '/v1/drivers/me/location', {
      token,
      body: { ...position(), heading: headingOf(leg) },
      scheduledMs,
    });
    // The platform forgot this driver (restart, staleness): come back online as an app would.
    if (answer.status === 409 && current === session && state === 'idle') {
      leaveSession();
      void goOnline(performance.now());
    }
  };

  const listen = (current: number) => {
    if (!token) return;
    const connection = api.realtime(token);
    if (!connection) {
      scheduler.afterWall(POLL_WALL_SECONDS, (due) => void poll(current, due));
      return;
    }
    socket = connection;
    world.live.add(connection);
    connection.addEventListener('message', (message) => {
      const data = JSON.parse(String(message.data)) as { type: string } & Partial<Offer> & {
          offerId?: string;
          status?: string;
        };
      if (data.type === 'offer' && data.status === 'pending' && data.offerId) consider(data.offerId);
    });
    // A connection lost while online falls back to polling for the rest of the session.
    connection.addEventListener('close', () => {
      world.live.delete(connection);
      if (current === session && socket === connection) {
        socket = undefined;
        scheduler.afterWall(POLL_WALL_SECONDS, (due) => void poll(current, due));
      }
    });
  };

  const poll = async (current: number, scheduledMs: number) => {
    if (current !== session || !token || world.stopping) return;
    const answer = await api.call<Offer[]>('offer', 'GET', '/v1/drivers/me/offers', { token, scheduledMs });
    for (const offer of answer.body && answer.status === 200 ? answer.body : []) consider(offer.id);
    scheduler.afterWall(POLL_WALL_SECONDS, (due) => void poll(current, due));
  };

  /** A human looks at the offer for a moment, then takes it or not. */
  const consider = (offerId: string) => {
    if (answering.has(offerId) || state !== 'idle') return;
    answering.add(offerId);
    const { min, max } = scenario.drivers.responseDelaySeconds;
    const accepts = world.random.uniform() < scenario.drivers.acceptanceRate;
    scheduler.afterWall(world.random.between(min, max), (due) => void answer(offerId, accepts, due));
  };

  const answer = async (offerId: string, accepts: boolean, scheduledMs: number) => {
    if (!token) return;
    const path = `/v1/offers/${offerId}/${accepts ? 'accept' : 'decline'}`;
    const reply = await api.call<Ride>('offer', 'POST', path, { token, scheduledMs });
    answering.delete(offerId);
    if (!accepts || reply.status !== 200 || !reply.body || state !== 'idle') return;
    state = 'toPickup';
    rideId = reply.body.id;
    scheduler.at(driveTo(reply.body.pickup).endsAt, (due) => void step('arrive', reply.body as Ride, due));
  };

  const step = async (
    action: 'arrive' | 'start' | 'complete',
    ride: Ride,
    scheduledMs: number,
    attempt = 0,
  ): Promise<void> => {
    if (!token || rideId !== ride.id) return;
    const reply = await api.call<Ride>('lifecycle', 'POST', `/v1/rides/${ride.id}/${action}`, {
      token,
      scheduledMs,
    });
    if (reply.status === 0 || reply.status >= 500) {
      if (attempt < RETRIES) {
        scheduler.afterWall(RETRY_WALL_SECONDS, (due) => void step(action, ride, due, attempt + 1));
        return;
      }
    }
    if (reply.status !== 200) return endRide();
    if (action === 'arrive') {
      state = 'boarding';
      // The rider walks up and gets in: half a minute to a minute and a half.
      scheduler.at(scheduler.now() + world.random.between(30, 90), (due) => void step('start', ride, due));
    } else if (action === 'start') {
      state = 'onTrip';
      scheduler.at(driveTo(ride.dropoff).endsAt, (due) => void step('complete', ride, due));
    } else {
      endRide();
    }
  };

  const endRide = () => {
    rideId = undefined;
    state = 'idle';
    if (leaveAfterRide || world.stopping) void goOffline(performance.now());
  };

  return {
    subject,
    goOnline,
    goOffline,
    /** Online in the platform's eyes (from going online until going offline). */
    isOnline: () => state !== 'offline' && state !== 'goingOnline',
    isFree: () => state === 'idle',
    token: () => token,
  };
};

export type Driver = ReturnType<typeof createDriver>;
