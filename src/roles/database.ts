import { type Database, openPglite, openPostgres } from '../adapters/postgres/database.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { postgresAttributes, traceDatabase } from '../adapters/postgres/query-spans.js';
import type { Config } from '../config.js';

/**
 * PostgreSQL when DATABASE_URL is set, otherwise PGlite in PEAKRIDE_DATA_DIR; migrated either way.
 * Its statements and transactions are traced while tracing is on.
 */
export const openDatabase = async (config: Config) => {
  const database: Database = config.databaseUrl
    ? traceDatabase(await openPostgres({ url: config.databaseUrl }), postgresAttributes(config.databaseUrl))
    : traceDatabase(await openPglite({ dataDir: config.dataDir }));
  try {
    const migrations = await migrate(database);
    return { database, migrations };
  } catch (error) {
    await database.close();
    throw error;
  }
};
