import pino from 'pino';
import type { Config } from '../config.js';
import { openDatabase } from './database.js';
import { createPlatform } from './platform.js';

export const roleNames = ['all', 'api', 'dispatch', 'worker'] as const;
export type RoleName = (typeof roleNames)[number];

/**
 * Runs a process role until SIGTERM or SIGINT. Only `all` exists in the embedded release;
 * the split roles need the distributed adapters (shared supply, outbox), which come next.
 */
export const serve = async (config: Config, role: RoleName, startedAtMs: number) => {
  const logger = pino({
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', '*.token', '*.secret'], censor: '[redacted]' },
  });
  if (role !== 'all') {
    throw new Error(
      `role "${role}" needs the distributed mode (PostgreSQL + Redis), which is not built yet; use --role all`,
    );
  }
  if (config.redisUrl) logger.warn('REDIS_URL is set but this release keeps supply in memory; it is ignored');
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
  const platform = await createPlatform({ config, database, logger, httpLogger: logger });
  const address = await platform.app.listen({ port: config.port, host: config.host });
  platform.start();
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
