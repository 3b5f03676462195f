import type { FastifyBaseLogger } from 'fastify';
import { createTokenService } from '../adapters/auth/tokens.js';
import type { Database } from '../adapters/postgres/database.js';
import { createUnitOfWork } from '../adapters/postgres/unit-of-work.js';
import { createOsrmRouting } from '../adapters/routing/osrm.js';
import type { Config } from '../config.js';
import { createSupplyIndex } from '../dispatch/supply-index.js';
import { createSurgeModel } from '../dispatch/surge.js';
import { type City, cities as servedCities } from '../domain/city.js';
import type { Ride } from '../domain/ride.js';
import { createEstimatedRouting, type RoutingPort } from '../domain/routing.js';
import { createBookingFlows } from '../flows/booking.js';
import { createDispatcher, type Logger } from '../flows/dispatch.js';
import { createDriverFlows } from '../flows/drivers.js';
import { createHousekeeping } from '../flows/housekeeping.js';
import { createOfferFlows } from '../flows/offers.js';
import type { Clock, EventBus, FlowDeps } from '../flows/ports.js';
import { createQuoteFlows } from '../flows/quotes.js';
import { createRideLifecycleFlows } from '../flows/ride-lifecycle.js';
import { createTimers } from '../flows/timers.js';
import { createZoneFlows } from '../flows/zones.js';
import { buildApp } from '../http/app.js';
import { createMetrics, type Metrics } from '../ops/metrics.js';
import { createLiveParts, createRelay, openEventBus } from './realtime.js';

export interface PlatformOptions {
  config: Config;
  /** Opened and migrated by the caller, who also closes it. */
  database: Database;
  logger: Logger;
  httpLogger?: FastifyBaseLogger;
  clock?: Clock;
  cities?: readonly City[];
  /** Shared by the processes of a deployment; unset, one in memory, closed with the platform. */
  bus?: EventBus;
}

const systemClock: Clock = { now: () => new Date() };

/** A pickup ETA must not hold up dispatch: past this, the estimate answers instead. */
const OSRM_TIMEOUT_MS = 300;

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
 * Wires one whole platform (every role) around an open database: the flows, the dispatcher
 * and the HTTP app. Nothing listens here.
 */
export const createPlatform = async ({
  config,
  database,
  logger,
  httpLogger,
  clock,
  cities,
  bus: sharedBus,
}: PlatformOptions) => {
  const supply = createSupplyIndex();
  const metrics = createMetrics();
  const served = cities ?? servedCities;
  // A bad per-city policy stops start-up here, naming the city and the setting.
  const surge = createSurgeModel({
    policies: Object.fromEntries(served.map((city) => [city.id, city.surge ?? {}])),
  });
  const routing = createRouting(config, metrics, logger);
  const deps: FlowDeps = {
    uow: createUnitOfWork(database),
    supply,
    clock: clock ?? systemClock,
    cities: served,
    routing: routing.routing,
    surge,
    settings: config.dispatch,
  };
  const dispatcher = createDispatcher(deps, logger, {
    offerSent: (mode) => metrics.offersSent.inc({ mode }),
    batchSolved: (outcome) => {
      metrics.batchRides.observe(outcome.rides);
      metrics.batchSolveSeconds.observe(outcome.solveMs / 1000);
    },
  });
  const timers = createTimers(deps, logger);
  // Live updates: the outbox relay publishes committed changes, the gateway serves WebSockets.
  const bus = sharedBus ?? (await openEventBus(config, logger, 'memory'));
  const live = createLiveParts({ config, database, bus, logger, clock: deps.clock });
  const relay = createRelay({ config, database, bus, logger });
  const housekeeping = createHousekeeping(deps, logger);
  const requestDriver = (ride: Ride) => dispatcher.rideNeedsDriver(ride);
  const hooks = {
    onRideRequested: requestDriver,
    onDriverFreed: dispatcher.freeDriver,
    onDriverAssigned: (driverId: string) => supply.setState(driverId, 'on_ride'),
  };
  const flows = {
    quotes: createQuoteFlows(deps),
    booking: createBookingFlows(deps, requestDriver),
    rides: createRideLifecycleFlows(deps, hooks),
    drivers: createDriverFlows(deps, hooks),
    offers: createOfferFlows(deps, hooks),
    zones: createZoneFlows(deps),
  };

  let ready = false;
  const app = await buildApp(
    {
      flows,
      tokens: createTokenService(config.auth),
      metrics,
      isReady: () => ready,
      devTokens: config.auth.mode === 'dev',
      realtime: live.gateway,
    },
    httpLogger,
  );

  return {
    app,
    dispatcher,
    housekeeping,
    supply,
    relay,
    realtime: live.gateway,
    start() {
      relay.start();
      dispatcher.start(config.dispatch.sweepIntervalMs);
      timers.start(config.dispatch.sweepIntervalMs);
      housekeeping.start();
      ready = true;
    },
    /** Stops taking work, lets the current sweep finish, closes the HTTP app. */
    async stop() {
      ready = false;
      live.gateway.drain();
      housekeeping.stop();
      await dispatcher.stop();
      await timers.stop();
      await app.close();
      // Last, so the final changes of the dispatcher and timers are still announced.
      await relay.stop();
      live.close();
      if (!sharedBus) await bus.close();
      await routing.close();
    },
  };
};

export type Platform = Awaited<ReturnType<typeof createPlatform>>;
