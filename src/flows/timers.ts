import type { Logger } from './dispatch.js';
import type { FlowDeps, Offer } from './ports.js';
import { repeat } from './repeat.js';
import { commitRideChange, systemActor } from './ride-change.js';

/** Bounds the work of one pass so a backlog is worked through over several. */
const BATCH = 200;

/**
 * Offer timeouts and search windows, enforced from the database: every pass lapses the offers
 * past their expiry and expires the rides past their search window. Each change is guarded by
 * the ride's row lock and its current status, so several workers can run at once and a crash
 * loses nothing: the next pass, here or elsewhere, finds the same rows.
 */
export const createTimers = ({ uow, supply, clock }: FlowDeps, logger: Logger) => {
  /** A driver whose offer ended can be offered the next ride (a no-op once offline). */
  const freeDriver = (driverId: string) => supply.setState(driverId, 'available');

  const lapseOffer = async (offer: Offer) => {
    const now = clock.now();
    const lapsed = await uow.transact(async (stores) => {
      await stores.rides.getForUpdate(offer.rideId);
      return stores.offers.answer(offer.id, 'expired', now);
    });
    if (lapsed) freeDriver(offer.driverId);
  };

  const expireRide = async (rideId: string) => {
    const now = clock.now();
    const withdrawn = await uow.transact(async (stores) => {
      const ride = await stores.rides.getForUpdate(rideId);
      if (ride?.status !== 'searching' || ride.searchDeadline > now) return undefined;
      const offer = await stores.offers.pendingForRide(rideId);
      if (offer) await stores.offers.answer(offer.id, 'withdrawn', now);
      await commitRideChange(
        stores,
        ride,
        { ...ride, status: 'expired' },
        { type: 'ride.expired', actor: systemActor, reason: 'no_driver_within_search_window' },
        now,
      );
      return offer;
    });
    if (withdrawn) freeDriver(withdrawn.driverId);
  };

  const pass = async () => {
    const now = clock.now();
    for (const offer of await uow.stores.offers.pendingPastExpiry(now, BATCH)) await lapseOffer(offer);
    for (const rideId of await uow.stores.rides.searchingPastDeadline(now, BATCH)) await expireRide(rideId);
  };

  const loop = repeat(pass, (error) => logger.error({ err: error }, 'timeout pass failed'));

  return {
    pass,
    start: loop.start,
    stop: loop.stop,
  };
};

export type Timers = ReturnType<typeof createTimers>;
