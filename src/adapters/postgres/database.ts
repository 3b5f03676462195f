import { mkdir } from 'node:fs/promises';
import pg from 'pg';
import { DomainError } from '../../domain/errors.js';

/** What repositories need: run one statement. Both a pool and an open transaction are one. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  /** Confines every connection to one schema (tests use one schema each). */
  schema?: string;
  maxConnections?: number;
}

// Timestamps come back as Date in both drivers; numbers we store fit in int4 and float8,
// which both drivers return as JavaScript numbers.
export const openPostgres = async (options: PostgresOptions): Promise<Database> => {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    ...(options.schema ? { options: `-c search_path=${quoteIdentifier(options.schema)}` } : {}),
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  await pool.query('SELECT 1');

  const run = async <Row>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) => {
    try {
      return (await client.query(sql, params as unknown[] | undefined)).rows as Row[];
    } catch (error) {
      throw asUnavailable(error);
    }
  };
  // Without parameters pg uses the simple protocol, which accepts several statements.
  const exec = async (client: pg.Pool | pg.PoolClient, sql: string) => {
    await client.query(sql);
  };

  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: (sql) => exec(pool, sql),
    async transaction(work) {
      const client = await pool.connect().catch((error: unknown) => {
        throw asUnavailable(error);
      });
      try {
        await client.query('BEGIN');
        const result = await work({
          query: (sql, params) => run(client, sql, params),
          exec: (sql) => exec(client, sql),
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
};

export interface PgliteOptions {
  /** Unset keeps the database in memory. */
  dataDir?: string;
  /** A dump from `dumpDataDir()` to start from, which skips initdb (seconds). */
  loadDataDir?: Blob;
}

/** PGlite: PostgreSQL compiled to WebAssembly, in this process. */
export const openPglite = async ({ dataDir, loadDataDir }: PgliteOptions = {}): Promise<Database> => {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  // Loaded only when used: a PostgreSQL-backed process should not pay for parsing PGlite at start-up.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
  });
  // PGlite runs one statement or one transaction at a time, which is what a single process needs.
  return {
    kind: 'pglite',
    query: async (sql, params) => (await db.query(sql, params as unknown[] | undefined)).rows as never,
    exec: async (sql) => {
      await db.exec(sql);
    },
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: async (sql, params) => (await tx.query(sql, params as unknown[] | undefined)).rows as never,
          exec: async (sql) => {
            await tx.exec(sql);
          },
        }),
      ),
    close: () => db.close(),
  };
};

/**
 * The server is gone, refusing connections or out of them: the caller should retry later
 * (503 with Retry-After), which is not the same as a bug in a query (500).
 */
const connectionErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const asUnavailable = (error: unknown): unknown => {
  const code = (error as { code?: unknown })?.code;
  const unavailable =
    typeof code === 'string' &&
    (connectionErrorCodes.has(code) ||
      code.startsWith('08') ||
      code === '57P01' ||
      code === '57P03' ||
      code === '53300');
  const lostConnection =
    error instanceof Error && /Connection terminated|connection timeout/i.test(error.message);
  return unavailable || lostConnection
    ? new DomainError('SERVICE.UNAVAILABLE', 'The database is unreachable; retry shortly.')
    : error;
};

export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
