import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { describe, inject } from 'vitest';
import {
  type Database,
  openPglite,
  openPostgres,
  quoteIdentifier,
} from '../../src/adapters/postgres/database.js';

export interface OpenedDatabase {
  database: Database;
  /** Closes the database and removes everything the test created in it. */
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'pglite' | 'postgres';
  available: boolean;
  open(): Promise<OpenedDatabase>;
}

const postgresUrl = process.env.DATABASE_URL;

export const pgliteBackend: Backend = {
  name: 'pglite',
  available: true,
  async open() {
    const template = new Blob([await readFile(inject('pgliteTemplate'))]);
    const database = await openPglite({ loadDataDir: template });
    return { database, cleanup: () => database.close() };
  },
};

/** Each open gets its own schema, dropped on cleanup, so parallel files and runs never collide. */
export const postgresBackend: Backend = {
  name: 'postgres',
  available: Boolean(postgresUrl),
  async open() {
    if (!postgresUrl) throw new Error('DATABASE_URL is unset');
    const schema = `peakride_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
    const database = await openPostgres({ url: postgresUrl, schema });
    return {
      database,
      async cleanup() {
        await database.close();
        await admin.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
        await admin.end();
      },
    };
  },
};

export const backends: Backend[] = [pgliteBackend, postgresBackend];

/** Runs the suite once per database backend; the PostgreSQL run says why when it is skipped. */
export const describeEachBackend = (title: string, suite: (backend: Backend) => void) => {
  for (const backend of backends) {
    const label = backend.available ? backend.name : `${backend.name}, skipped: DATABASE_URL is unset`;
    describe.skipIf(!backend.available)(`${title} [${label}]`, () => suite(backend));
  }
};
