import type { City } from '../../domain/city.js';
import { distanceMeters, isInside, type LatLng } from '../../domain/geo.js';
import { estimateSeconds, utcOffsetMs } from '../../domain/routing.js';
import type { ApiClient } from '../api-client.js';
import type { Random } from '../random.js';
import { startSecondOfDay } from '../scenario.js';
import type { Scheduler } from '../scheduler.js';
import type { Recorder, Scenario, SimSeconds } from '../types.js';

/** What every agent shares: the clock, the API, the run's randomness and its books. */
export interface World {
  scenario: Scenario;
  city: City;
  scheduler: Scheduler;
  api: ApiClient;
  recorder: Recorder;
  random: Random;
  /** How drivers learn of offers: the WebSocket (polling when it drops), or polling only. */
  offers: 'websocket' | 'polling';
  /** Every ride a booking created, for the end-of-run audit. */
  rides: Map<string, BookedRide>;
  /** Set when the run winds down: agents finish what they hold and start nothing new. */
  stopping: boolean;
  /** Every open WebSocket, closed at the end of the run. */
  live: Set<{ close(): void }>;
  /** Moves the count of drivers online by `delta` and returns it. */
  onlineDrivers(delta: number): number;
}

export interface BookedRide {
  id: string;
  riderToken: string;
  /** Whether a driver was ever assigned (the audit reads those rides' histories). */
  matched: boolean;
  /** Still waiting for its first driver: the run settles until no ride is. */
  searching: boolean;
}

/** The scenario's local date and time at simulated time `at`, for the road speed of the hour. */
export const scenarioDate = (world: Pick<World, 'scenario' | 'city'>, at: SimSeconds): Date => {
  const today = new Date();
  const localMidnightUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const startLocal = localMidnightUtc + startSecondOfDay(world.scenario) * 1000;
  const startUtc = startLocal - utcOffsetMs(world.city.timeZone, startLocal);
  return new Date(startUtc + at * 1000);
};

/** A straight leg driven at the city's road speed of the hour (with its detour factor). */
export interface Leg {
  from: LatLng;
  to: LatLng;
  startsAt: SimSeconds;
  endsAt: SimSeconds;
}

export const legTo = (world: World, from: LatLng, to: LatLng, startsAt: SimSeconds): Leg => {
  const seconds = estimateSeconds(distanceMeters(from, to), world.city.road, scenarioDate(world, startsAt));
  return { from, to, startsAt, endsAt: startsAt + Math.max(1, seconds) };
};

/** Where a driver on `leg` is at `at`: along the straight line, in proportion to the time. */
export const positionOn = (leg: Leg, at: SimSeconds): LatLng => {
  const share = Math.min(1, Math.max(0, (at - leg.startsAt) / (leg.endsAt - leg.startsAt)));
  return {
    lat: leg.from.lat + (leg.to.lat - leg.from.lat) * share,
    lng: leg.from.lng + (leg.to.lng - leg.from.lng) * share,
  };
};

/** Compass heading of a leg, degrees clockwise from north (a flat approximation is enough here). */
export const headingOf = (leg: Leg): number => {
  const dLat = leg.to.lat - leg.from.lat;
  const dLng = (leg.to.lng - leg.from.lng) * Math.cos((leg.from.lat * Math.PI) / 180);
  const degrees = (Math.atan2(dLng, dLat) * 180) / Math.PI;
  return Math.round((degrees + 360) % 360);
};

/** A point `meters` away from `centre` in a random direction, normally spread, kept inside the area. */
export const near = (world: World, centre: LatLng, meters: number): LatLng => {
  const { area } = world.scenario.demand;
  for (let attempt = 0; attempt < 20; attempt++) {
    const point = {
      lat: centre.lat + world.random.normal(0, meters) / 111_320,
      lng: centre.lng + world.random.normal(0, meters) / (111_320 * Math.cos((centre.lat * Math.PI) / 180)),
    };
    if (isInside(area, point)) return point;
  }
  return centre;
};
