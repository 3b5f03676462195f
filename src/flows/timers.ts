import { quietly, withSpan } from '../spans.js';
import type { Logger } from './dispatch.js';
import type { FlowDeps, Offer } from './ports.js';
import { repeat } from './repeat.js';
import { commitRideChange, systemActor } from './ride-change.js';
import { type RideObserver, unobservedRides } from './ride-observer.js';

/** Bounds the work of one pass so a backlog is worked through over several. */
const BATCH = 200;

/**
 * Offer timeouts and search windows, enforced from the database: every pass lapses the offers
 * past their expiry and expires the rides past their search window. Each change is guarded by
 * the ride's row lock and its current status, so several workers can run at once and a crash
 * loses nothing: the next pass, here or elsewhere, finds the same rows.
 */
export const createTimers = (
  { uow, supply, clock }: FlowDeps,
  logger: Logger,
  observer: RideObserver = unobservedRides,
) => {
  /** A driver whose offer ended can be offered the next ride (a no-op once offline). */
  const freeDriver = (driverId: string) => supply.setState(driverId, 'available');

  const lapseOffer = async (offer: Offer) => {
    const now = clock.now();
    const lapsed = await uow.transact(async (stores) => {
      await stores.rides.getForUpdate(offer.rideId);
      return stores.offers.answer(offer.id, 'expired', now);
    });
    if (lapsed) {
      observer.offerAnswered('timed_out');
      freeDriver(offer.driverId);
    }
  };

  const expireRide = async (rideId: string) => {
    const now = clock.now();
    const outcome = await uow.transact(async (stores) => {
      const ride = await stores.rides.getForUpdate(rideId);
      if (ride?.status !== 'searching' || ride.searchDeadline > now) return undefined;
      const offer = await stores.offers.pendingForRide(rideId);
      if (offer) await stores.offers.answer(offer.id, 'withdrawn', now);
      const expired = await commitRideChange(
        stores,
        ride,
        { ...ride, status: 'expired' },
        { type: 'ride.expired', actor: systemActor, reason: 'no_driver_within_search_window' },
        now,
      );
      return { expired, withdrawn: offer };
    });
    if (!outcome) return;
    observer.rideExpired(outcome.expired);
    if (outcome.withdrawn) freeDriver(outcome.withdrawn.driverId);
  };

  /**
   * One pass. Its reads run twice a second and mostly find nothing: they are not traced, the work
   * they find is. A failure ends the pass (the next one retries), logged with the ride it was about.
   */
  const pass = async () => {
    const now = clock.now();
    const offers = await quietly(() => uow.stores.offers.pendingPastExpiry(now, BATCH));
    if (offers.length > 0) {
      const done = await withSpan(
        'timers lapse offers',
        { attributes: { 'peakride.offers': offers.length } },
        () => eachRide(offers, (offer) => offer.rideId, lapseOffer, 'lapsing an offer failed'),
      );
      if (!done) return;
    }
    const rideIds = await quietly(() => uow.stores.rides.searchingPastDeadline(now, BATCH));
    if (rideIds.length > 0) {
      await withSpan('timers expire rides', { attributes: { 'peakride.rides': rideIds.length } }, () =>
        eachRide(rideIds, (rideId) => rideId, expireRide, 'expiring a ride failed'),
      );
    }
  };

  /** Runs `work` on each item in turn; false after the first failure, logged with its ride. */
  const eachRide = async <T>(
    items: T[],
    rideOf: (item: T) => string,
    work: (item: T) => Promise<void>,
    failure: string,
  ): Promise<boolean> => {
    for (const item of items) {
      try {
        await work(item);
      } catch (error) {
        logger.error({ err: error, rideId: rideOf(item) }, failure);
        return false;
      }
    }
    return true;
  };

  const loop = repeat(pass, (error) => logger.error({ err: error }, 'timeout pass failed'));

  return {
    pass,
    start: loop.start,
    stop: loop.stop,
  };
};

export type Timers = ReturnType<typeof createTimers>;
