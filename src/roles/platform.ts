import type { FastifyBaseLogger } from 'fastify';
import { createTokenService } from '../adapters/auth/tokens.js';
import type { Database } from '../adapters/postgres/database.js';
import { createUnitOfWork } from '../adapters/postgres/unit-of-work.js';
import type { Config } from '../config.js';
import { createSupplyIndex } from '../dispatch/supply-index.js';
import { type City, cities as servedCities } from '../domain/city.js';
import { createBookingFlows } from '../flows/booking.js';
import { createDispatcher, type Logger } from '../flows/dispatch.js';
import { createDriverFlows } from '../flows/drivers.js';
import { createHousekeeping } from '../flows/housekeeping.js';
import { createOfferFlows } from '../flows/offers.js';
import type { Clock, FlowDeps } from '../flows/ports.js';
import { createQuoteFlows } from '../flows/quotes.js';
import { createRideLifecycleFlows } from '../flows/ride-lifecycle.js';
import { buildApp } from '../http/app.js';
import { createMetrics } from '../ops/metrics.js';

export interface PlatformOptions {
  config: Config;
  /** Opened and migrated by the caller, who also closes it. */
  database: Database;
  logger: Logger;
  httpLogger?: FastifyBaseLogger;
  clock?: Clock;
  cities?: readonly City[];
}

const systemClock: Clock = { now: () => new Date() };

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
}: PlatformOptions) => {
  const supply = createSupplyIndex();
  const deps: FlowDeps = {
    uow: createUnitOfWork(database),
    supply,
    clock: clock ?? systemClock,
    cities: cities ?? servedCities,
    settings: config.dispatch,
  };
  const dispatcher = createDispatcher(deps, logger);
  const housekeeping = createHousekeeping(deps, logger);
  const requestDriver = (ride: { id: string }) => dispatcher.rideNeedsDriver(ride.id);
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
  };

  let ready = false;
  const app = await buildApp(
    {
      flows,
      tokens: createTokenService(config.auth),
      metrics: createMetrics(),
      isReady: () => ready,
      devTokens: config.auth.mode === 'dev',
    },
    httpLogger,
  );

  return {
    app,
    dispatcher,
    housekeeping,
    supply,
    start() {
      dispatcher.start(config.dispatch.sweepIntervalMs);
      housekeeping.start();
      ready = true;
    },
    /** Stops taking work, lets the current sweep finish, closes the HTTP app. */
    async stop() {
      ready = false;
      housekeeping.stop();
      await dispatcher.stop();
      await app.close();
    },
  };
};

export type Platform = Awaited<ReturnType<typeof createPlatform>>;
