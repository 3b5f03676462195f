import pino from 'pino';
import type { Config } from '../config.js';
import { openDatabase } from './database.js';
import { createPlatform, type RoleName } from './platform.js';

export { type RoleName, roleNames } from './platform.js';

/**
 * Runs a process role until SIGTERM or SIGINT. `all` is the embedded platform; `api`, `dispatch`
 * and `worker` are the distributed mode and need PostgreSQL and Redis. A backend unreachable at
 * start is a clear error and a non-zero exit (the orchestrator restarts the pod).
 */
export const serve = async (config: Config, role: RoleName, startedAtMs: number) => {
  const logger = pino({
    level: config.logLevel,
    base: { role, pid: process.pid },
    redact: { paths: ['req.headers.authorization', '*.token', '*.secret'], censor: '[redacted]' },
  });
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
  logger.info({ url: address, role, readyMs: Math.round(performance.now() - startedAtMs) }, 'peakride ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await platform.stop();
      await database.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
};
