import { createMemoryEventBus } from '../adapters/memory/event-bus.js';
import type { Database } from '../adapters/postgres/database.js';
import { createUnitOfWork } from '../adapters/postgres/unit-of-work.js';
import { createRedisEventBus } from '../adapters/redis/event-bus.js';
import type { Config } from '../config.js';
import type { Logger } from '../flows/dispatch.js';
import { createLiveUpdates } from '../flows/live-updates.js';
import { createOutboxRelay } from '../flows/outbox-relay.js';
import type { Clock, EventBus } from '../flows/ports.js';
import { createRealtimeGateway } from '../http/realtime/gateway.js';

/** How many rides one WebSocket may follow at once: bounds what a connection holds. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 50;

const systemClock: Clock = { now: () => new Date() };

export interface RealtimePartsOptions {
  config: Config;
  database: Database;
  bus: EventBus;
  logger: Logger;
  clock?: Clock;
}

/**
 * What an `api` process needs for GET /v1/realtime: live updates fed by the bus, and the
 * gateway to hand to buildApp (`realtime`). Shutdown calls `gateway.drain()` before closing
 * the HTTP server, then `close()`.
 */
export const createLiveParts = ({ config, database, bus, logger, clock }: RealtimePartsOptions) => {
  const live = createLiveUpdates(
    { uow: createUnitOfWork(database), clock: clock ?? systemClock },
    bus,
    logger,
    { maxSubscriptions: MAX_SUBSCRIPTIONS_PER_SOCKET },
  );
  const gateway = createRealtimeGateway(live, { heartbeatMs: config.realtime.heartbeatMs, logger });
  return {
    live,
    gateway,
    close(): void {
      gateway.close();
      live.close();
    },
  };
};

/** What a `worker` process needs: the relay from the outbox to the bus (`start()` / `stop()`). */
export const createRelay = ({ config, database, bus, logger }: Omit<RealtimePartsOptions, 'clock'>) =>
  createOutboxRelay(createUnitOfWork(database), bus, logger, { intervalMs: config.realtime.outboxPollMs });

/**
 * The bus between the processes of a deployment: Redis pub/sub when they are several, in
 * memory when one process does everything.
 */
export const openEventBus = async (
  config: Config,
  logger: Logger,
  mode: 'memory' | 'redis' = config.redisUrl ? 'redis' : 'memory',
): Promise<EventBus> => {
  if (mode === 'memory') {
    return createMemoryEventBus((error) => logger.error({ err: error }, 'event bus subscriber failed'));
  }
  if (!config.redisUrl) throw new Error('REDIS_URL is needed for the Redis event bus');
  return createRedisEventBus({ url: config.redisUrl, prefix: config.redisPrefix, logger });
};
