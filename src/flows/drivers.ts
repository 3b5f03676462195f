import type { SupplyState } from '../dispatch/supply-index.js';
import { DomainError } from '../domain/errors.js';
import type { LatLng } from '../domain/geo.js';
import type { Ride } from '../domain/ride.js';
import type { FlowDeps } from './ports.js';
import { type RideObserver, unobservedRides } from './ride-observer.js';

export interface LocationReport extends LatLng {
  heading?: number | undefined;
  at?: Date | undefined;
}

export interface DriverHooks {
  onRideRequested(ride: Ride): void;
}

/** Reports stamped further ahead than this are refused: the device clock is wrong. */
const MAX_CLOCK_AHEAD_MS = 30_000;

export const createDriverFlows = (
  { uow, supply, clock, settings }: FlowDeps,
  hooks: DriverHooks,
  observer: RideObserver = unobservedRides,
) => {
  /** What the database says the driver is doing, for a driver the index does not know yet. */
  const currentState = async (driverId: string): Promise<SupplyState> => {
    if (await uow.stores.rides.activeForDriver(driverId)) return 'on_ride';
    if (await uow.stores.offers.pendingForDriver(driverId)) return 'offered';
    return 'available';
  };

  return {
    async goOnline(driverId: string, position: LatLng) {
      const now = clock.now();
      await uow.stores.drivers.setStatus(driverId, 'online', position, now);
      const state = await currentState(driverId);
      supply.upsert(driverId, { ...position, heading: null, seenAtMs: now.getTime() }, state);
      return { driverId, status: 'online' as const, state };
    },

    async goOffline(driverId: string) {
      const now = clock.now();
      if (await uow.stores.rides.activeForDriver(driverId)) {
        throw new DomainError('DRIVER.ON_RIDE', 'Finish or cancel your current ride before going offline.');
      }
      // Leaving while holding an offer counts as declining it: the ride moves on to someone else.
      // The status is written first: it takes the driver's row lock, which the dispatcher holds
      // while placing an offer, so an offer placed meanwhile is committed and seen here.
      const declined = await uow.transact(async (stores) => {
        await stores.drivers.setStatus(driverId, 'offline', null, now);
        const offer = await stores.offers.pendingForDriver(driverId);
        if (offer) await stores.offers.answer(offer.id, 'declined', now);
        return offer && (await stores.rides.get(offer.rideId));
      });
      supply.remove(driverId);
      if (declined) {
        observer.offerAnswered('declined');
        hooks.onRideRequested(declined);
      }
      return { driverId, status: 'offline' as const };
    },

    /** The hot path: one map write when the driver is known, a database read only after a restart. */
    async reportLocation(driverId: string, report: LocationReport): Promise<void> {
      const now = clock.now();
      if (report.at && report.at.getTime() - now.getTime() > MAX_CLOCK_AHEAD_MS) {
        throw new DomainError('REQUEST.INVALID', `"at" is ${report.at.toISOString()}, ahead of server time.`);
      }
      // A fix this old would leave the driver stale at once: it cannot be where they are now.
      if (report.at && now.getTime() - report.at.getTime() > settings.driverStaleAfterMs) {
        throw new DomainError(
          'REQUEST.INVALID',
          `"at" is ${report.at.toISOString()}, older than the ${settings.driverStaleAfterMs / 1000} s after which a position is stale.`,
        );
      }
      const seenAtMs = Math.min(report.at?.getTime() ?? now.getTime(), now.getTime());
      const position = { lat: report.lat, lng: report.lng, heading: report.heading ?? null, seenAtMs };
      if (supply.has(driverId)) {
        supply.upsert(driverId, position);
        return;
      }
      const driver = await uow.stores.drivers.get(driverId);
      if (driver?.status !== 'online') {
        throw new DomainError('DRIVER.OFFLINE', 'Go online before reporting your position.');
      }
      supply.upsert(driverId, position, await currentState(driverId));
    },
  };
};
