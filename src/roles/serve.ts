import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../config.js';
import { createLogger } from '../ops/logger.js';
import { startTracing } from '../ops/tracing.js';
import { openDatabase } from './database.js';
import { createPlatform, type RoleName } from './platform.js';

export { type RoleName, roleNames } from './platform.js';

/**
 * Runs a process role until SIGTERM or SIGINT. `all` is the embedded platform; `api`, `dispatch`
 * and `worker` are the distributed mode and need PostgreSQL and Redis. A backend unreachable at
 * start is a clear error and a non-zero exit (the orchestrator restarts the pod).
 */
export const serve = async (config: Config, role: RoleName, startedAtMs: number) => {
  const logger = createLogger({ level: config.logLevel, role, traceIds: config.tracing !== undefined });
  if (role !== 'all' && (!config.databaseUrl || !config.redisUrl)) {
    throw new Error(
      `--role ${role} is the distributed mode: set DATABASE_URL (PostgreSQL) and REDIS_URL; --role all runs embedded`,
    );
  }
  if (role === 'all' && config.redisUrl) {
    logger.warn('REDIS_URL is set but --role all keeps supply and announcements in memory; it is ignored');
  }
  if (config.auth.mode === 'dev' && !['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
    logger.warn(
      { host: config.host },
      'AUTH_MODE=dev lets anyone mint tokens; do not expose it beyond this machine',
    );
  }

  // Loads the OpenTelemetry SDK only when an endpoint is configured.
  const tracing = await startTracing(config.tracing, role, logger);
  const { database, migrations } = await openDatabase(config);
  logger.info(
    {
      backend: database.kind,
      applied: migrations.applied,
      dataDir: database.kind === 'pglite' ? config.dataDir : undefined,
    },
    'database ready',
  );
  let platform: Awaited<ReturnType<typeof createPlatform>>;
  try {
    platform = await createPlatform({ role, config, database, logger, httpLogger: logger });
    await platform.start();
  } catch (error) {
    await database.close();
    throw error;
  }
  const address = await platform.app.listen({ port: config.port, host: config.host });
  logger.info(
    {
      url: address,
      role,
      readyMs: Math.round(performance.now() - startedAtMs),
      maxConnections: platform.app.server.maxConnections ?? null,
    },
    'peakride ready',
  );

  // A second signal cuts the drain delay short.
  let hurry = () => {};
  const hurried = new Promise<void>((resolve) => {
    hurry = resolve;
  });
  const shutdown = async (signal: NodeJS.Signals) => {
    const startedAtMs = performance.now();
    // From here on, nothing may keep the process past its grace period.
    setTimeout(() => {
      logger.error(
        { graceMs: config.lifecycle.shutdownGraceMs },
        'shutdown grace period over: cutting what is still open',
      );
      process.exit(1);
    }, config.lifecycle.shutdownGraceMs).unref();
    platform.beginDrain();
    // Ctrl-C is someone at a terminal: no load balancer to wait for.
    const drainDelayMs = signal === 'SIGTERM' ? config.lifecycle.drainDelayMs : 0;
    logger.info({ signal, drainDelayMs }, 'draining: not ready, still serving');
    await Promise.race([delay(drainDelayMs), hurried]);
    logger.info('closing: live connections told to reconnect, in-flight requests finishing');
    await platform.stop();
    await database.close();
    // Last, so the spans of the drain itself are exported too.
    await tracing?.shutdown();
    logger.info({ shutdownMs: Math.round(performance.now() - startedAtMs) }, 'stopped');
  };
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return hurry();
    stopping = true;
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
};
