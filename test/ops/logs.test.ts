import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../../src/adapters/postgres/database.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { createPlatform, type Platform } from '../../src/roles/platform.js';
import { type OpenedDatabase, pgliteBackend } from '../support/backends.js';
import { eventually, places } from '../support/platform.js';
import { noShedding } from '../support/processes.js';

const SECRET = `jwt-secret-${randomBytes(16).toString('hex')}`;
/** Load shedding off: a quote shed on a busy test machine is not what these tests are about. */
const cli = fileURLToPath(new URL('../../dist/peakride.js', import.meta.url));

/** The database, with statements matching `failing` refused as a broken connection would. */
const withFaults = (database: Database) => {
  const faults = { failing: undefined as RegExp | undefined };
  const guard = (db: Queryable): Queryable => ({
    query: (sql, params) =>
      faults.failing?.test(sql) ? Promise.reject(new Error('injected fault')) : db.query(sql, params),
    exec: (sql) => db.exec(sql),
  });
  const faulty: Database = {
    ...guard(database),
    kind: database.kind,
    transaction: (work) => database.transaction((tx) => work(guard(tx))),
    ping: () => database.ping(),
    close: () => database.close(),
  };
  return { faulty, faults };
};

describe('logs', () => {
  let opened: OpenedDatabase;
  let platform: Platform;
  let faults: { failing: RegExp | undefined };
  const lines: string[] = [];
  const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    opened = await pgliteBackend.open();
    await migrate(opened.database);
    const injected = withFaults(opened.database);
    faults = injected.faults;
    // The logger `serve` builds, at its most talkative, writing here instead of to stdout.
    const logger = createLogger({
      level: 'trace',
      role: 'all',
      traceIds: false,
      destination: { write: (line: string) => lines.push(line) },
    });
    platform = await createPlatform({
      config: loadConfig({
        JWT_SECRET: SECRET,
        LOG_LEVEL: 'trace',
        PEAKRIDE_SWEEP_INTERVAL_MS: '50',
        ...noShedding,
      }),
      database: injected.faulty,
      logger,
      httpLogger: logger,
    });
    await platform.start();
  });
  afterAll(async () => {
    await platform?.stop();
    await opened?.cleanup();
  });

  const call = async (method: 'GET' | 'POST', url: string, token?: string, body?: unknown, headers = {}) => {
    const reply = await platform.app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    return { status: reply.statusCode, body: reply.json() };
  };
  const tokenFor = async (role: string, subject: string) =>
    (await call('POST', '/v1/dev/tokens', undefined, { role, subject })).body.token as string;

  it('When a request fails on our side, then its error line carries the request id and no credential', async () => {
    const token = await tokenFor('rider', `rider-${randomUUID().slice(0, 8)}`);
    const quote = await call('POST', '/v1/quotes', token, {
      pickup: places.gareDuNord,
      dropoff: places.gareDeLyon,
    });
    expect(quote.status).toBe(201);
    const requestId = `req-${randomUUID()}`;
    faults.failing = /INSERT INTO rides/;
    const booked = await call(
      'POST',
      '/v1/rides',
      token,
      { quoteId: quote.body.quoteId },
      { 'idempotency-key': randomUUID(), 'x-request-id': requestId },
    );
    faults.failing = undefined;
    expect(booked.status).toBe(500);
    expect(booked.body.detail).toContain(requestId);
    const failed = parsed().find((line) => line.msg === 'request failed');
    expect(failed).toMatchObject({ level: 50, reqId: requestId, role: 'all' });
    expect(lines.join('\n')).not.toContain(token);
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('When dispatching a booked ride fails, then the warning names the ride', async () => {
    const token = await tokenFor('rider', `rider-${randomUUID().slice(0, 8)}`);
    const quote = await call('POST', '/v1/quotes', token, {
      pickup: places.gareDuNord,
      dropoff: places.gareDeLyon,
    });
    expect(quote.status, JSON.stringify(quote.body)).toBe(201);
    // The dispatcher's first read of a new ride: is there already an offer for it?
    faults.failing = /FROM offers WHERE ride_id = \$1 AND status = 'pending'/;
    const booked = await call(
      'POST',
      '/v1/rides',
      token,
      { quoteId: quote.body.quoteId },
      { 'idempotency-key': randomUUID() },
    );
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    const warning = await eventually(
      async () => parsed().find((line) => line.msg === 'dispatch of a new request failed'),
      (line) => line !== undefined,
    );
    faults.failing = undefined;
    expect(warning).toMatchObject({ level: 40, rideId: booked.body.id });
    expect(lines.join('\n')).not.toContain(token);
  });

  it('When an error or an object carries a credential, then the log line masks it', () => {
    const out: string[] = [];
    const logger = createLogger({
      level: 'info',
      role: 'api',
      traceIds: false,
      destination: { write: (line: string) => out.push(line) },
    });
    // What ioredis attaches to a failed command: its arguments, a password for AUTH.
    const refused = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'auth', args: ['default', 'redis-password-1'] },
    });
    logger.error({ err: refused }, 'redis refused');
    logger.warn({ req: { headers: { authorization: 'Bearer header-token-1' } } }, 'request');
    logger.info(
      { token: 'body-token-1', session: { secret: 'nested-secret-1', password: 'pw-1' } },
      'values',
    );
    const text = out.join('\n');
    for (const secret of ['redis-password-1', 'header-token-1', 'body-token-1', 'nested-secret-1', 'pw-1']) {
      expect(text).not.toContain(secret);
    }
    // What is not a credential stays readable.
    expect(text).toContain('WRONGPASS');
    expect(JSON.parse(out[0]!).err.command.name).toBe('auth');
  });

  it('When a backend URL with a password cannot be reached at start, then the message does not show the password', async () => {
    const databasePassword = `db-pw-${randomBytes(6).toString('hex')}`;
    const redisPassword = `redis-pw-${randomBytes(6).toString('hex')}`;
    const child = spawn(process.execPath, [cli, 'serve', '--role', 'all'], {
      env: {
        PATH: process.env.PATH ?? '',
        // Port 1: nothing listens, the connection is refused at once.
        DATABASE_URL: `postgres://peakride:${databasePassword}@127.0.0.1:1/peakride`,
        REDIS_URL: `redis://default:${redisPassword}@127.0.0.1:1`,
        LOG_LEVEL: 'trace',
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).not.toBe(0);
    // It did say why, and which server.
    expect(output).toMatch(/ECONNREFUSED|connect/i);
    expect(output).not.toContain(databasePassword);
    expect(output).not.toContain(redisPassword);
  }, 30_000);
});
