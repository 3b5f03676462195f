import { type Database, openPglite, openPostgres } from '../adapters/postgres/database.js';
import { migrate } from '../adapters/postgres/migrate.js';
import type { Config } from '../config.js';

/** PostgreSQL when DATABASE_URL is set, otherwise PGlite in PEAKRIDE_DATA_DIR; migrated either way. */
export const openDatabase = async (config: Config) => {
  const database: Database = config.databaseUrl
    ? await openPostgres({ url: config.databaseUrl })
    : await openPglite({ dataDir: config.dataDir });
  try {
    const migrations = await migrate(database);
    return { database, migrations };
  } catch (error) {
    await database.close();
    throw error;
  }
};
