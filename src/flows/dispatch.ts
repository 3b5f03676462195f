import { randomUUID } from 'node:crypto';
import type { FlowDeps, Offer } from './ports.js';
import { commitRideChange, systemActor } from './ride-change.js';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** How many candidates to try when a driver's offer slot turns out to be taken meanwhile. */
const CANDIDATES_PER_ATTEMPT = 5;
/** Bounds the work of one sweep so a backlog is worked through over several sweeps. */
const SWEEP_BATCH = 200;

/**
 * The first dispatch loop: offer each searching ride to the nearest available driver who has
 * not had it yet, one at a time. Timeouts and search windows are read from the database on
 * every sweep, so they hold across restarts.
 */
export const createDispatcher = ({ uow, supply, clock, settings }: FlowDeps, logger: Logger) => {
  /** A driver whose offer or ride ended can be offered the next ride (a no-op once offline). */
  const freeDriver = (driverId: string) => supply.setState(driverId, 'available');

  const offerRide = async (rideId: string): Promise<Offer | undefined> => {
    const { stores } = uow;
    const now = clock.now();
    const ride = await stores.rides.get(rideId);
    if (ride?.status !== 'searching' || ride.searchDeadline <= now) return undefined;
    if (await stores.offers.pendingForRide(rideId)) return undefined;
    // Never back to a driver who declined it, let it lapse, or dropped it after accepting.
    const tried = new Set(await stores.offers.driversOfferedRide(rideId));
    const candidates = supply.nearestAvailable({
      point: ride.pickup,
      radiusMeters: settings.matchRadiusMeters,
      limit: CANDIDATES_PER_ATTEMPT,
      nowMs: now.getTime(),
      staleAfterMs: settings.driverStaleAfterMs,
      exclude: tried,
    });
    for (const candidate of candidates) {
      const offer: Offer = {
        id: randomUUID(),
        rideId,
        driverId: candidate.driverId,
        status: 'pending',
        createdAt: now,
        expiresAt: new Date(now.getTime() + settings.offerTimeoutMs),
        answeredAt: null,
      };
      // Under the ride's lock, as every writer of a ride: a cancel either came first (no offer)
      // or comes after and withdraws this one. The database refuses a second live offer for the
      // driver or the ride; then the next candidate is tried.
      const placed = await uow.transact(async (tx) => {
        const current = await tx.rides.getForUpdate(rideId);
        if (current?.status !== 'searching' || current.searchDeadline <= now) return 'ride-gone';
        // Likewise the driver's row: going offline either came first or will find this offer.
        if (!(await tx.drivers.lockOnline(candidate.driverId))) return 'refused';
        return (await tx.offers.insert(offer)) ? 'placed' : 'refused';
      });
      if (placed === 'ride-gone') return undefined;
      if (placed === 'placed') {
        supply.setState(candidate.driverId, 'offered');
        return offer;
      }
    }
    return undefined;
  };

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

  const sweep = async () => {
    const now = clock.now();
    for (const offer of await uow.stores.offers.pendingPastExpiry(now, SWEEP_BATCH)) await lapseOffer(offer);
    for (const rideId of await uow.stores.rides.searchingPastDeadline(now, SWEEP_BATCH))
      await expireRide(rideId);
    for (const rideId of await uow.stores.rides.searchingWithoutLiveOffer(SWEEP_BATCH))
      await offerRide(rideId);
  };

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const loop = (intervalMs: number) => {
    timer = setTimeout(() => {
      running = sweep()
        .catch((error) => logger.error({ err: error }, 'dispatch sweep failed'))
        .finally(() => {
          running = undefined;
          if (!stopped) loop(intervalMs);
        });
    }, intervalMs);
  };

  return {
    offerRide,
    sweep,
    /** Fire and forget: a failure here is retried by the next sweep. */
    rideNeedsDriver(rideId: string): void {
      offerRide(rideId).catch((error) => logger.warn({ err: error, rideId }, 'immediate dispatch failed'));
    },
    freeDriver,
    start(intervalMs: number): void {
      stopped = false;
      loop(intervalMs);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
};

export type Dispatcher = ReturnType<typeof createDispatcher>;
