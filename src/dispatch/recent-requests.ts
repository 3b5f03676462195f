import { distanceMeters, type LatLng } from '../domain/geo.js';

interface Sighting {
  atMs: number;
  point: LatLng;
}

/**
 * The rides that asked for a driver in the last `windowMs`, one entry per ride however often it
 * asks: the demand side of "do requests outnumber the free drivers near this pickup?". The
 * window is the batching window, so it holds at most a few seconds of requests and a scan is
 * cheaper than an index.
 */
export const createRecentRequests = (windowMs: number) => {
  const sightings = new Map<string, Sighting>();

  const forgetOlderThan = (cutoffMs: number) => {
    // A Map iterates in insertion order and `record` re-inserts, so the oldest come first.
    for (const [rideId, sighting] of sightings) {
      if (sighting.atMs > cutoffMs) break;
      sightings.delete(rideId);
    }
  };

  return {
    record(rideId: string, point: LatLng, nowMs: number): void {
      sightings.delete(rideId);
      sightings.set(rideId, { atMs: nowMs, point });
      forgetOlderThan(nowMs - windowMs);
    },

    /** Rides seen within the window whose pickup lies within `radiusMeters` of the point. */
    countNear(point: LatLng, radiusMeters: number, nowMs: number): number {
      forgetOlderThan(nowMs - windowMs);
      let count = 0;
      for (const sighting of sightings.values()) {
        if (distanceMeters(point, sighting.point) <= radiusMeters) count++;
      }
      return count;
    },

    get size(): number {
      return sightings.size;
    },
  };
};

export type RecentRequests = ReturnType<typeof createRecentRequests>;
