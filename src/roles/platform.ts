import type { FastifyBaseLogger } from 'fastify';
import { createTokenService } from '../adapters/auth/tokens.js';
import type { Database } from '../adapters/postgres/database.js';
import { createUnitOfWork } from '../adapters/postgres/unit-of-work.js';
import { createRedisSupply } from '../adapters/redis/supply.js';
import { createOsrmRouting } from '../adapters/routing/osrm.js';
import type { Config } from '../config.js';
import { createSupplyIndex } from '../dispatch/supply-index.js';
import { createSurgeModel } from '../dispatch/surge.js';
import { type City, cities as servedCities } from '../domain/city.js';
import type { Ride } from '../domain/ride.js';
import { createEstimatedRouting, type RoutingPort } from '../domain/routing.js';
import { onAnnouncements } from '../flows/announcements.js';
import { createBookingFlows } from '../flows/booking.js';
import { createCitySignals } from '../flows/city-signals.js';
import { createDispatcher, everyCity, type Logger } from '../flows/dispatch.js';
import { createDriverFlows } from '../flows/drivers.js';
import { createHousekeeping } from '../flows/housekeeping.js';
import { createOfferFlows } from '../flows/offers.js';
import { createPartitionKeeper } from '../flows/partitions.js';
import type { Clock, EventBus, FlowDeps, SupplyPort } from '../flows/ports.js';
import { createQuoteFlows } from '../flows/quotes.js';
import { createRideLifecycleFlows } from '../flows/ride-lifecycle.js';
import { createTimers } from '../flows/timers.js';
import { createZoneFlows } from '../flows/zones.js';
import { type Backend, buildApp } from '../http/app.js';
import { bookingNeeds } from '../http/routes/rides.js';
import { createBackendHealth } from '../ops/backend-health.js';
import { createMetrics, type Metrics } from '../ops/metrics.js';
import { defaultMaxConnections, openFileLimit } from '../ops/open-files.js';
import { createLiveParts, createRelay, openEventBus } from './realtime.js';

export const roleNames = ['all', 'api', 'dispatch', 'worker'] as const;
export type RoleName = (typeof roleNames)[number];

export interface PlatformOptions {
  /** What this process does; `all` (the default) is the embedded platform in one process. */
  role?: RoleName;
  config: Config;
  /** Opened and migrated by the caller, who also closes it. */
  database: Database;
  logger: Logger;
  httpLogger?: FastifyBaseLogger;
  clock?: Clock;
  cities?: readonly City[];
  /** Shared by the processes of a deployment; unset, one in memory (`all`) or Redis pub/sub. */
  bus?: EventBus;
}

const systemClock: Clock = { now: () => new Date() };

/** A pickup ETA must not hold up dispatch: past this, the estimate answers instead. */
const OSRM_TIMEOUT_MS = 300;
/**
 * How often PostgreSQL and Redis are probed, how long a probe may take, and how many failures in a
 * row mark a backend down (about 2 s for a refused connection, 3 s for one that hangs).
 */
const HEALTH = { intervalMs: 1000, timeoutMs: 1000, downAfter: 2 };

const maxConnections = (config: Config): { maxConnections?: number } => {
  const cap = config.maxConnections ?? defaultMaxConnections(openFileLimit());
  return cap === undefined ? {} : { maxConnections: cap };
};
/** One replica writes the supply snapshot new processes start from: the worker's (no client latency). */
const SNAPSHOT_EVERY_MS = 3000;

/** OSRM when configured, with the estimate standing in whenever it fails; else the estimate. */
const createRouting = (config: Config, metrics: Metrics, logger: Logger) => {
  const estimated = createEstimatedRouting();
  if (!config.osrmUrl) return { routing: estimated as RoutingPort, close: async () => {} };
  const osrm = createOsrmRouting({
    url: config.osrmUrl,
    timeoutMs: OSRM_TIMEOUT_MS,
    fallback: estimated,
    onFallback: (event) => {
      metrics.routingFallbacks.inc({ reason: event.reason });
      logger.warn({ reason: event.reason, detail: event.detail }, 'OSRM failed; pickup times estimated');
    },
  });
  return { routing: osrm as RoutingPort, close: () => osrm.close() };
};

/**
 * Wires one process around an open database. `all` is the embedded platform: supply in memory,
 * an in-memory bus, every part in one process. The split roles share supply and announcements
 * through Redis and work through PostgreSQL:
 * - `api`: the public HTTP API and WebSockets; surge demand from the bus;
 * - `dispatch`: matching, for the cities it holds the lease of; fed by the bus, swept from the database;
 * - `worker`: offer timeouts and search windows, the outbox relay, housekeeping.
 * Nothing listens here.
 */
export const createPlatform = async ({
  role = 'all',
  config,
  database,
  logger,
  httpLogger,
  clock,
  cities,
  bus: sharedBus,
}: PlatformOptions) => {
  const runs = {
    api: role === 'all' || role === 'api',
    dispatch: role === 'all' || role === 'dispatch',
    worker: role === 'all' || role === 'worker',
  };
  const shared = role !== 'all';
  if (shared && !config.redisUrl) throw new Error(`--role ${role} needs REDIS_URL (and DATABASE_URL)`);
  const metrics = createMetrics();
  const uow = createUnitOfWork(database);
  const redisSupply =
    shared && config.redisUrl
      ? createRedisSupply({
          redis: { url: config.redisUrl },
          prefix: config.redisPrefix,
          staleAfterMs: config.dispatch.driverStaleAfterMs,
          loadStates: (driverIds) => uow.stores.drivers.onlineStates(driverIds),
          logger,
          snapshotEveryMs: role === 'worker' ? SNAPSHOT_EVERY_MS : 0,
        })
      : undefined;
  const supply: SupplyPort = redisSupply ?? createSupplyIndex();
  const served = cities ?? servedCities;
  // A bad per-city policy stops start-up here, naming the city and the setting.
  const surge = createSurgeModel({
    policies: Object.fromEntries(served.map((city) => [city.id, city.surge ?? {}])),
  });
  const routing = createRouting(config, metrics, logger);
  const deps: FlowDeps = {
    uow,
    supply,
    clock: clock ?? systemClock,
    cities: served,
    routing: routing.routing,
    surge,
    settings: config.dispatch,
  };
  const bus = sharedBus ?? (await openEventBus(config, logger, shared ? 'redis' : 'memory'));

  const keeper =
    runs.dispatch && shared
      ? createPartitionKeeper(
          uow,
          { partitions: served.map((city) => city.id), ttlMs: config.dispatch.leaseTtlMs },
          logger,
        )
      : undefined;
  if (keeper) {
    metrics.reportPartitions(() => Object.fromEntries(served.map((city) => [city.id, keeper.owns(city.id)])));
  }
  const dispatcher = runs.dispatch
    ? createDispatcher(
        deps,
        logger,
        {
          offerSent: (mode) => metrics.offersSent.inc({ mode }),
          batchSolved: (outcome) => {
            metrics.batchRides.observe(outcome.rides);
            metrics.batchSolveSeconds.observe(outcome.solveMs / 1000);
          },
        },
        keeper ?? everyCity(served),
      )
    : undefined;
  // Each event is counted by the process that commits it: the API or the worker (docs/metrics.md).
  const rideObserver = metrics.rides.observer(
    served.map((city) => city.id),
    { requests: runs.api, timers: runs.worker },
  );
  // Per-city gauges of shared state come from one role, so replicas of another do not multiply
  // them: supply and open requests from the worker, surge from the API (its model lives there).
  const signals = createCitySignals(deps);
  metrics.rides.reportCities({
    ...(runs.worker
      ? { availableDrivers: signals.availableDrivers, openRequests: signals.openRequests }
      : {}),
    ...(runs.api ? { highestSurge: signals.highestSurge } : {}),
  });
  const timers = runs.worker ? createTimers(deps, logger, rideObserver) : undefined;
  const relay = runs.worker ? createRelay({ config, database, bus, logger }) : undefined;
  const housekeeping = runs.worker ? createHousekeeping(deps, logger) : undefined;
  const live = runs.api ? createLiveParts({ config, database, bus, logger, clock: deps.clock }) : undefined;

  // What the bus tells this process: rides asking for a driver (dispatch), bookings (surge demand).
  const stopFollowing = onAnnouncements(bus, {
    rideEvent: ({ rideId, event, ride }) => {
      if (runs.api && event.type === 'ride.requested') {
        surge.recordRequest(ride.city, ride.pickup, Date.parse(event.at));
      }
      if (dispatcher && event.status === 'searching') dispatcher.rideNeedsDriver(rideId);
    },
    offer: ({ rideId, status }) => {
      // A declined or lapsed offer leaves its ride searching: it needs the next driver.
      if (dispatcher && (status === 'declined' || status === 'expired')) dispatcher.rideNeedsDriver(rideId);
    },
    resync: () => {
      void dispatcher?.sweep().catch((error) => logger.warn({ err: error }, 'dispatch resync failed'));
    },
  });

  // In one process the dispatcher hears of a ride at once; across processes, through the bus.
  const requestDriver = (ride: Ride) => dispatcher?.rideNeedsDriver(ride.id, ride);
  const hooks = {
    onRideRequested: requestDriver,
    onDriverFreed: (driverId: string) => supply.setState(driverId, 'available'),
    onDriverAssigned: (driverId: string) => supply.setState(driverId, 'on_ride'),
  };
  const flows = {
    quotes: createQuoteFlows(deps),
    booking: createBookingFlows(deps, requestDriver, rideObserver),
    rides: createRideLifecycleFlows(deps, hooks, rideObserver),
    drivers: createDriverFlows(deps, hooks, rideObserver),
    offers: createOfferFlows(deps, hooks, rideObserver),
    zones: createZoneFlows(deps),
  };

  const health = createBackendHealth<Backend>(
    {
      postgres: () => database.ping(),
      ...(redisSupply
        ? {
            redis: async () => {
              if (!redisSupply.healthy) throw new Error('the supply stream is not answering');
            },
          }
        : {}),
    },
    HEALTH,
    logger,
  );

  let phase: 'starting' | 'serving' | 'draining' = 'starting';
  // Ready while bookings can be taken, not while every backend answers: every pod shares Redis, so
  // a Redis outage would take them all out of the Service at once, bookings with them. The routes
  // that need Redis answer 503 by themselves meanwhile.
  const canBook = () => !health.down().some((backend) => bookingNeeds.includes(backend));
  const app = await buildApp(
    {
      flows,
      tokens: createTokenService(config.auth),
      metrics,
      isReady: () => phase === 'serving' && canBook(),
      phase: () => phase,
      backendsDown: () => (phase === 'starting' ? [] : health.down()),
      devTokens: config.auth.mode === 'dev',
      routes: runs.api ? 'public' : 'infrastructure',
      shedding: config.shedding,
      ...maxConnections(config),
      ...(live ? { realtime: live.gateway } : {}),
    },
    httpLogger,
  );

  return {
    role,
    app,
    dispatcher,
    housekeeping,
    supply,
    relay,
    realtime: live?.gateway,
    /** Brings the shared state up (supply replica, leases), then starts the loops. */
    async start(): Promise<void> {
      await redisSupply?.start();
      await health.start();
      await keeper?.start();
      relay?.start();
      dispatcher?.start(config.dispatch.sweepIntervalMs);
      timers?.start(config.dispatch.sweepIntervalMs);
      housekeeping?.start();
      phase = 'serving';
    },
    /**
     * Readiness goes false at once; requests are still served (each answer closing its
     * connection) until `stop()`. Load balancers get the drain delay to drop this process.
     */
    beginDrain(): void {
      phase = 'draining';
    },
    /**
     * Tells WebSocket clients to reconnect elsewhere, stops listening and lets in-flight requests
     * finish, then stops the loops (letting their current passes finish) and the shared state.
     */
    async stop(): Promise<void> {
      phase = 'draining';
      live?.gateway.drain();
      await app.close();
      stopFollowing();
      housekeeping?.stop();
      await dispatcher?.stop();
      // Hands the cities over at once rather than after the lease runs out.
      await keeper?.stop();
      await timers?.stop();
      // Last, so the final changes of the dispatcher and timers are still announced.
      await relay?.stop();
      live?.close();
      health.stop();
      if (!sharedBus) await bus.close();
      await redisSupply?.settled(2000).catch(() => {});
      await redisSupply?.close();
      await routing.close();
      metrics.close();
    },
  };
};

export type Platform = Awaited<ReturnType<typeof createPlatform>>;
