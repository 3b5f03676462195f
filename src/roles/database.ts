import {
  type Database,
  DEFAULT_MAX_CONNECTIONS,
  openPglite,
  openPostgres,
} from '../adapters/postgres/database.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { withPriorityLanes } from '../adapters/postgres/priority-lanes.js';
import { postgresAttributes, traceDatabase } from '../adapters/postgres/query-spans.js';
import type { Config } from '../config.js';

/**
 * PostgreSQL when DATABASE_URL is set, otherwise PGlite in PEAKRIDE_DATA_DIR; migrated either way.
 * Critical work reaches it before sheddable work (priority lanes, one per pooled connection,
 * one for PGlite); its statements and transactions, lane wait included, are traced while
 * tracing is on.
 */
export const openDatabase = async (config: Config) => {
  const database: Database = config.databaseUrl
    ? traceDatabase(
        withPriorityLanes(await openPostgres({ url: config.databaseUrl }), DEFAULT_MAX_CONNECTIONS),
        postgresAttributes(config.databaseUrl),
      )
    : traceDatabase(withPriorityLanes(await openPglite({ dataDir: config.dataDir }), 1));
  try {
    const migrations = await migrate(database);
    return { database, migrations };
  } catch (error) {
    await database.close();
    throw error;
  }
};
