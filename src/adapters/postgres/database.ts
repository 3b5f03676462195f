import { mkdir } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
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
  /**
   * Whether the database answers, for readiness: on a connection of its own, so a pool saturated
   * by a peak is not mistaken for a database that is down.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  /** Confines every connection to one schema (tests use one schema each). */
  schema?: string;
  maxConnections?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 10;

// Timestamps come back as Date in both drivers; numbers we store fit in int4 and float8,
// which both drivers return as JavaScript numbers.
export const openPostgres = async (options: PostgresOptions): Promise<Database> => {
  const connection = {
    connectionString: options.url,
    ...(options.schema ? { options: `-c search_path=${quoteIdentifier(options.schema)}` } : {}),
  };
  const pool = new pg.Pool({ ...connection, max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS });
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

  // The probe's own connection; dropped on any failure, so the next ping reconnects.
  let probe: pg.Client | undefined;
  let pinging: Promise<void> | undefined;
  const ping = async () => {
    if (!probe) {
      const client = new pg.Client({ ...connection, connectionTimeoutMillis: 5000, query_timeout: 5000 });
      client.on('error', () => {});
      probe = client;
      await client.connect();
    }
    await probe.query('SELECT 1');
  };

  return {
    kind: 'postgres',
    ping() {
      // A probe still waiting is not doubled: the caller times it out on its own.
      pinging ??= ping()
        .catch((error: unknown) => {
          void probe?.end().catch(() => {});
          probe = undefined;
          throw asUnavailable(error);
        })
        .finally(() => {
          pinging = undefined;
        });
      return pinging;
    },
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
    async close() {
      await probe?.end().catch(() => {});
      await pool.end();
    },
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
  // It runs them on this thread and answers through promises alone: statement after statement of a
  // dispatch pass or of a queue of quotes would chain as microtasks, and no request would be read
  // until the whole chain is done (event-loop stalls of hundreds of ms under a peak). Yielding to
  // the event loop after each statement lets waiting requests in between, and the priority lanes
  // put the critical ones first.
  const statement = async <T>(run: Promise<T>): Promise<T> => {
    const result = await run;
    await yieldToEventLoop();
    return result;
  };
  return {
    kind: 'pglite',
    query: async (sql, params) =>
      (await statement(db.query(sql, params as unknown[] | undefined))).rows as never,
    exec: async (sql) => {
      await db.exec(sql);
    },
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: async (sql, params) =>
            (await statement(tx.query(sql, params as unknown[] | undefined))).rows as never,
          exec: async (sql) => {
            await tx.exec(sql);
          },
        }),
      ),
    // In this process: it answers whenever the process does.
    ping: async () => {},
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
