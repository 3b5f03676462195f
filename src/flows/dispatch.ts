import { randomUUID } from 'node:crypto';
import { buildCandidateGraph, type RequestCandidates, solveAssignment } from '../dispatch/assignment.js';
import { createRecentRequests } from '../dispatch/recent-requests.js';
import type { SupplyState } from '../dispatch/supply-index.js';
import type { City } from '../domain/city.js';
import { distanceMeters, type LatLng } from '../domain/geo.js';
import type { Ride } from '../domain/ride.js';
import { quietly, withSpan } from '../spans.js';
import type { FlowDeps, Offer } from './ports.js';
import { repeat } from './repeat.js';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Candidates per ride in a batch: the sparse graph the assignment is solved on. */
const BATCH_CANDIDATES = 10;
/** Candidates tried, best first, by an immediate offer before the ride waits for the next sweep. */
const IMMEDIATE_CANDIDATES = 5;
/** Bounds the work of one sweep so a backlog is worked through over several sweeps. */
const SWEEP_BATCH = 200;
/** Offers of one batch placed at once: enough to overlap database round trips, not to flood the pool. */
const PLACEMENT_CONCURRENCY = 8;

export interface Candidate {
  driverId: string;
  pickupSeconds: number;
}

type Placement = 'placed' | 'ride-gone' | 'refused';

/** Where the dispatcher reports what it does (metrics); it does not care who listens. */
export interface DispatchObserver {
  offerSent(mode: 'immediate' | 'batch'): void;
  batchSolved(outcome: BatchOutcome): void;
}

const unobserved: DispatchObserver = { offerSent() {}, batchSolved() {} };

/** What a batch did, for logs and tests. */
export interface BatchOutcome {
  rides: number;
  offered: number;
  /** Rides left without an offer: no candidate, or all of theirs went to rides that needed them more. */
  unmatched: number;
  solveMs: number;
}

/**
 * The dispatch engine. Each searching ride is offered to one driver at a time; the choice of
 * driver depends on the pressure around its pickup:
 *
 * - ample supply (at least as many free drivers within the match radius as rides asking near
 *   it in the last batch window, and no ride nearby already waiting for a batch): the ride is
 *   offered at once to the candidate with the shortest pickup time;
 * - shortage: the ride waits for the batch window to close, then every waiting ride is matched
 *   at once by a min-cost assignment over the candidate graph (total pickup time, with a credit
 *   for the time each ride has waited, so older rides are not starved by closer newcomers), and
 *   the offers go out together. A ride joining a batch keeps nearby newcomers from jumping ahead
 *   of it by the immediate path.
 *
 * A driver is reserved in the supply index ('offered') before the offer is written, so two
 * decisions in flight never pick the same driver; the database refuses a second live offer for
 * a driver or a ride anyway. Declines, timeouts and search windows are read from the database on
 * every sweep, so they hold across restarts; a ride left without an offer is reconsidered by the
 * next sweep that finds a free driver near it.
 */
/** Which cities this dispatcher may match now (leases, when several dispatchers share the work). */
export interface Partitions {
  owns(city: string): boolean;
  owned(): string[];
}

export const everyCity = (cities: readonly { id: string }[]): Partitions => ({
  owns: () => true,
  owned: () => cities.map((city) => city.id),
});

export const createDispatcher = (
  deps: FlowDeps,
  logger: Logger,
  observer: DispatchObserver = unobserved,
  partitions: Partitions = everyCity(deps.cities),
) => {
  const { uow, supply, clock, cities, routing, settings } = deps;
  const recent = createRecentRequests(settings.batchWindowMs);
  /** Rides collected for the next batch. */
  const waiting = new Map<string, Ride>();
  /** Rides being decided, offered or waiting: the sweep leaves them alone. */
  const inHand = new Set<string>();
  /**
   * Pickups of rides being offered at once whose driver is not reserved yet: each will take a
   * free driver near it, so the drivers they are about to take do not count as free.
   */
  const deciding = new Map<string, LatLng>();
  const cityById = new Map<string, City>(cities.map((city) => [city.id, city]));
  let batchTimer: NodeJS.Timeout | undefined;
  let batches: Promise<void> = Promise.resolve();
  let lastBatch: BatchOutcome | undefined;

  /** A driver whose offer or ride ended can be offered the next ride (a no-op once offline). */
  const freeDriver = (driverId: string) => supply.setState(driverId, 'available');

  /** After a refused reservation: what the database says the driver is doing. */
  const resyncDriver = async (driverId: string) => {
    let state: SupplyState = 'available';
    if (await uow.stores.rides.activeForDriver(driverId)) state = 'on_ride';
    else if (await uow.stores.offers.pendingForDriver(driverId)) state = 'offered';
    supply.setState(driverId, state);
  };

  const isAvailable = (driverId: string) => supply.get(driverId)?.state === 'available';

  const nearby = (point: LatLng, limit: number, nowMs: number, exclude?: ReadonlySet<string>) =>
    supply.nearestAvailable({
      point,
      radiusMeters: settings.matchRadiusMeters,
      limit,
      nowMs,
      staleAfterMs: settings.driverStaleAfterMs,
      ...(exclude ? { exclude } : {}),
    });

  /** Most rides in a shortage have nobody near: asking the index first spares them every database read. */
  const hasDriverNear = (ride: Ride, nowMs: number) => nearby(ride.pickup, 1, nowMs).length > 0;

  /** The ride's candidates, shortest pickup first, never a driver who already had it. */
  const candidatesFor = async (ride: Ride, limit: number, now: Date): Promise<Candidate[]> => {
    const nowMs = now.getTime();
    if (!hasDriverNear(ride, nowMs)) return [];
    // Never back to a driver who declined it, let it lapse, or dropped it after accepting.
    const tried = new Set(await uow.stores.offers.driversOfferedRide(ride.id));
    const near = nearby(ride.pickup, limit, nowMs, tried);
    const city = cityById.get(ride.city);
    const sources: LatLng[] = [];
    const driverIds: string[] = [];
    for (const candidate of near) {
      const position = supply.get(candidate.driverId);
      if (!position) continue;
      sources.push({ lat: position.lat, lng: position.lng });
      driverIds.push(candidate.driverId);
    }
    if (!city || sources.length === 0) return [];
    const table = await routing.table({ model: city.road, sources, destinations: [ride.pickup], at: now });
    const candidates: Candidate[] = [];
    driverIds.forEach((driverId, i) => {
      const seconds = table.seconds(i, 0);
      if (seconds !== null) candidates.push({ driverId, pickupSeconds: seconds });
    });
    return candidates.sort((a, b) => a.pickupSeconds - b.pickupSeconds);
  };

  /**
   * Writes the offer under the ride's lock, as every writer of a ride does: a cancel either came
   * first (no offer) or comes after and withdraws this one. The driver must already be reserved.
   */
  const placeOffer = async (rideId: string, driverId: string, now: Date): Promise<Placement> => {
    const offer: Offer = {
      id: randomUUID(),
      rideId,
      driverId,
      status: 'pending',
      createdAt: now,
      expiresAt: new Date(now.getTime() + settings.offerTimeoutMs),
      answeredAt: null,
    };
    const placed = await uow.transact(async (tx): Promise<Placement> => {
      const current = await tx.rides.getForUpdate(rideId);
      if (current?.status !== 'searching' || current.searchDeadline <= now) return 'ride-gone';
      // Likewise the driver's row: going offline either came first or will find this offer.
      if (!(await tx.drivers.lockOnline(driverId))) return 'refused';
      // The database refuses a second live offer for the driver or the ride.
      return (await tx.offers.insert(offer)) ? 'placed' : 'refused';
    });
    if (placed !== 'placed') await resyncDriver(driverId);
    return placed;
  };

  /** Reserves the driver, then places the offer; false when someone else reserved them first. */
  const reserveAndPlace = async (rideId: string, driverId: string, now: Date): Promise<Placement> => {
    if (!isAvailable(driverId)) return 'refused';
    supply.setState(driverId, 'offered');
    return placeOffer(rideId, driverId, now);
  };

  /** Answers what happened, for the ride's span. */
  const offerNow = async (ride: Ride, now: Date): Promise<'offered' | 'no-candidate' | 'ride-gone'> => {
    const candidates = await candidatesFor(ride, IMMEDIATE_CANDIDATES, now);
    // From here the driver it takes is reserved, and no longer counts as free.
    deciding.delete(ride.id);
    for (const candidate of candidates) {
      const placed = await reserveAndPlace(ride.id, candidate.driverId, now);
      if (placed === 'placed') observer.offerSent('immediate');
      if (placed === 'placed') return 'offered';
      if (placed === 'ride-gone') return 'ride-gone';
    }
    return 'no-candidate';
  };

  const hasWaitingNear = (point: LatLng) => {
    // Rides within two radii can share a candidate.
    const reach = 2 * settings.matchRadiusMeters;
    for (const ride of waiting.values()) if (distanceMeters(point, ride.pickup) <= reach) return true;
    return false;
  };

  const isShortage = (ride: Ride, nowMs: number): boolean => {
    if (settings.batchWindowMs === 0) return false;
    if (hasWaitingNear(ride.pickup)) return true;
    const radius = settings.matchRadiusMeters;
    const asking = recent.countNear(ride.pickup, radius, nowMs);
    let claimed = 0;
    for (const pickup of deciding.values()) if (distanceMeters(ride.pickup, pickup) <= radius) claimed++;
    const free = supply.countAvailable({
      point: ride.pickup,
      radiusMeters: radius,
      nowMs,
      staleAfterMs: settings.driverStaleAfterMs,
    });
    return asking > free - claimed;
  };

  const runPlacements = async (jobs: Array<() => Promise<unknown>>) => {
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) await jobs[next++]!();
    };
    await Promise.all(Array.from({ length: Math.min(PLACEMENT_CONCURRENCY, jobs.length) }, worker));
  };

  const runBatch = async (): Promise<void> => {
    const rides = [...waiting.values()];
    waiting.clear();
    if (rides.length === 0) return;
    // Its own trace: the batch gathers rides booked by many requests.
    await withSpan(
      'dispatch batch',
      { root: true, attributes: { 'peakride.dispatch.rides': rides.length } },
      (span) =>
        solveBatch(rides).then((outcome) => {
          span.setAttributes({
            'peakride.dispatch.offers': outcome.offered,
            'peakride.dispatch.unmatched': outcome.unmatched,
            'peakride.dispatch.solve_ms': outcome.solveMs,
          });
        }),
    );
  };

  const solveBatch = async (rides: Ride[]): Promise<BatchOutcome> => {
    try {
      const now = clock.now();
      const requests: RequestCandidates[] = [];
      for (const ride of rides) {
        requests.push({
          ageSeconds: Math.max(0, (now.getTime() - ride.createdAt.getTime()) / 1000),
          candidates: await candidatesFor(ride, BATCH_CANDIDATES, now),
        });
      }
      const started = performance.now();
      const graph = buildCandidateGraph(requests);
      const assignment = solveAssignment(graph);
      const solveMs = performance.now() - started;
      let offered = 0;
      const jobs = rides.flatMap((ride, r) => {
        const d = assignment.driverOf[r]!;
        if (d === -1) return [];
        const driverId = graph.driverIds[d]!;
        return [
          async () => {
            // The lease may have moved on during the window: another dispatcher has the city now.
            if (!partitions.owns(ride.city)) return;
            if ((await reserveAndPlace(ride.id, driverId, now)) !== 'placed') return;
            offered++;
            observer.offerSent('batch');
          },
        ];
      });
      await runPlacements(jobs);
      lastBatch = { rides: rides.length, offered, unmatched: rides.length - offered, solveMs };
      observer.batchSolved(lastBatch);
      logger.info({ batch: lastBatch }, 'dispatch batch');
      return lastBatch;
    } finally {
      for (const ride of rides) inHand.delete(ride.id);
    }
  };

  const scheduleBatch = () => {
    if (batchTimer) return;
    batchTimer = setTimeout(() => {
      batchTimer = undefined;
      // One batch at a time: the next one sees the drivers the previous one reserved.
      batches = batches
        .then(runBatch)
        .catch((error) => logger.error({ err: error }, 'dispatch batch failed'));
    }, settings.batchWindowMs);
  };

  /** Offers the ride now, or adds it to the next batch; a no-op for a ride already in hand. */
  const considerRide = async (rideId: string, known?: Ride): Promise<void> => {
    if (inHand.has(rideId)) return;
    await withSpan('dispatch ride', { attributes: { 'peakride.ride_id': rideId } }, async (span) => {
      span.setAttribute('peakride.dispatch.outcome', await decide(rideId, known));
    });
  };

  const decide = async (rideId: string, known?: Ride) => {
    inHand.add(rideId);
    let queued = false;
    try {
      const ride = known ?? (await uow.stores.rides.get(rideId));
      const now = clock.now();
      if (ride?.status !== 'searching' || ride.searchDeadline <= now) return 'ride-gone';
      if (!partitions.owns(ride.city)) return 'not-this-dispatcher';
      if (await uow.stores.offers.pendingForRide(rideId)) return 'already-offered';
      recent.record(ride.id, ride.pickup, now.getTime());
      if (isShortage(ride, now.getTime())) {
        waiting.set(ride.id, ride);
        queued = true;
        scheduleBatch();
        return 'batched';
      }
      deciding.set(ride.id, ride.pickup);
      return await offerNow(ride, now);
    } finally {
      deciding.delete(rideId);
      if (!queued) inHand.delete(rideId);
    }
  };

  /** Catches every ride the events missed: the rides table is the durable queue. */
  const sweep = async () => {
    const cities = partitions.owned();
    if (cities.length === 0) return;
    // Twice a second, mostly finding nothing: traced only when it does.
    const rides = await quietly(() => uow.stores.rides.searchingWithoutLiveOffer(SWEEP_BATCH, cities));
    // A ride with nobody near waits for a sweep that finds someone; the timers close its search
    // window meanwhile, so skipping it loses nothing.
    const reachable = (ride: Ride) => hasDriverNear(ride, clock.now().getTime());
    if (!rides.some(reachable)) return;
    await withSpan(
      'dispatch sweep',
      { attributes: { 'peakride.dispatch.rides': rides.length } },
      async () => {
        // Asked again per ride: the rides before it may have taken the drivers near it.
        for (const ride of rides) if (reachable(ride)) await considerRide(ride.id, ride);
      },
    );
  };

  const sweeps = repeat(sweep, (error) => logger.error({ err: error }, 'dispatch sweep failed'));

  return {
    sweep,
    /**
     * A ride asks for a driver (booked, declined, dropped), told directly in one process or by
     * the bus from another. Fire and forget: a failure here is retried by the next sweep.
     */
    rideNeedsDriver(rideId: string, known?: Ride): void {
      considerRide(rideId, known).catch((error) =>
        logger.warn({ err: error, rideId }, 'dispatch of a new request failed'),
      );
    },
    freeDriver,
    /** The last batch solved, for operators' logs and tests. */
    get lastBatch(): BatchOutcome | undefined {
      return lastBatch;
    },
    start: sweeps.start,
    async stop(): Promise<void> {
      const stopping = sweeps.stop();
      clearTimeout(batchTimer);
      batchTimer = undefined;
      waiting.clear();
      await stopping;
      await batches;
    },
  };
};

export type Dispatcher = ReturnType<typeof createDispatcher>;
