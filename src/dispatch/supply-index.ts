import { distanceMeters, type LatLng } from '../domain/geo.js';

export type SupplyState = 'available' | 'offered' | 'on_ride';

export interface DriverPosition extends LatLng {
  heading: number | null;
  seenAtMs: number;
}

export interface Candidate {
  driverId: string;
  distanceMeters: number;
}

export interface NearestQuery {
  point: LatLng;
  radiusMeters: number;
  limit: number;
  nowMs: number;
  /** Drivers silent for longer than this are not offered anything. */
  staleAfterMs: number;
  exclude?: ReadonlySet<string>;
}

interface Entry extends DriverPosition {
  state: SupplyState;
}

/**
 * Where every online driver is and whether they can take a ride.
 *
 * This first version scans every driver on each query: correct and simple, linear in the
 * number of online drivers. The dispatch engine replaces it with a cell index.
 */
export const createSupplyIndex = () => {
  const drivers = new Map<string, Entry>();

  return {
    /** Adds or refreshes a driver; a new driver starts available. */
    upsert(driverId: string, position: DriverPosition, state?: SupplyState): void {
      const entry = drivers.get(driverId);
      if (entry) {
        // Reports can arrive out of order over mobile networks: an older fix never overwrites a newer one.
        if (position.seenAtMs < entry.seenAtMs) return;
        entry.lat = position.lat;
        entry.lng = position.lng;
        entry.heading = position.heading;
        entry.seenAtMs = position.seenAtMs;
        if (state) entry.state = state;
        return;
      }
      drivers.set(driverId, { ...position, state: state ?? 'available' });
    },

    setState(driverId: string, state: SupplyState): void {
      const entry = drivers.get(driverId);
      if (entry) entry.state = state;
    },

    remove(driverId: string): void {
      drivers.delete(driverId);
    },

    has(driverId: string): boolean {
      return drivers.has(driverId);
    },

    /** Available, fresh drivers within the radius, nearest first. */
    nearestAvailable(query: NearestQuery): Candidate[] {
      const found: Candidate[] = [];
      for (const [driverId, entry] of drivers) {
        if (entry.state !== 'available') continue;
        if (query.nowMs - entry.seenAtMs > query.staleAfterMs) continue;
        if (query.exclude?.has(driverId)) continue;
        const distance = distanceMeters(query.point, entry);
        if (distance <= query.radiusMeters) found.push({ driverId, distanceMeters: distance });
      }
      found.sort((a, b) => a.distanceMeters - b.distanceMeters);
      return found.slice(0, query.limit);
    },

    get size(): number {
      return drivers.size;
    },
  };
};

export type SupplyIndex = ReturnType<typeof createSupplyIndex>;
