import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RoleProcess, spawnServe } from '../support/processes.js';

/**
 * Overload of a real `peakride serve` process (embedded: PGlite, one event loop): quotes at many
 * times what the process can answer, from many connections at once, while a steady stream of
 * bookings and location updates goes on. Shares are asserted, not latencies: the machine is
 * shared and slow.
 */

const CLI = fileURLToPath(new URL('../../dist/peakride.js', import.meta.url));
/** A fresh PGlite data directory runs initdb first: about 10 s on a busy 2-core machine. */
const MIGRATE_TIMEOUT_MS = 120_000;
const OVERLOAD_MS = 8000;
/** Quote requests in flight at every moment: a queue far deeper than one event loop drains. */
const QUOTE_CONCURRENCY = 96;
const BOOKINGS = 40;
const DRIVERS = 8;
const LOCATION_EVERY_MS = 100;

const paris = { lat: 48.8566, lng: 2.3522 };
const near = (i: number) => ({ lat: paris.lat + (i % 50) / 2000, lng: paris.lng + (i % 37) / 2000 });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('overload of a real process', () => {
  let dataDir: string;
  let server: RoleProcess | undefined;
  let pool: Pool;

  const send = async (
    method: 'GET' | 'POST',
    path: string,
    token: string | undefined,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const response = await pool.request({
      method,
      path,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
  };

  /** Set-up requests behave as a good client does: a 503 is retried after its Retry-After. */
  const sendPatiently = async (...args: Parameters<typeof send>): Promise<Answer> => {
    for (let attempt = 1; ; attempt++) {
      const answer = await send(...args);
      if (answer.status !== 503 || attempt === 10) return answer;
      await new Promise((resolve) => setTimeout(resolve, Number(answer.headers['retry-after'] ?? 1) * 1000));
    }
  };

  const token = async (role: 'rider' | 'driver', subject: string) => {
    const answer = await sendPatiently('POST', '/v1/dev/tokens', undefined, { role, subject });
    if (answer.status !== 201) throw new Error(`token: ${answer.status} ${answer.body}`);
    return (JSON.parse(answer.body) as { token: string }).token;
  };

  /** peakride_requests_shed_total of POST /v1/quotes, from the process's /metrics. */
  const shedQuotes = async () => {
    const metrics = await send('GET', '/metrics', undefined);
    expect(metrics.status).toBe(200);
    const line = /^peakride_requests_shed_total\{class="sheddable",route="\/v1\/quotes"\} (\d+)$/m.exec(
      metrics.body,
    );
    return Number(line?.[1] ?? 0);
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'peakride-overload-'));
    const env = {
      PEAKRIDE_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      AUTH_MODE: 'dev',
      LOG_LEVEL: 'info',
    };
    // Migrating first keeps initdb out of the server's start-up deadline.
    await promisify(execFile)(process.execPath, [CLI, 'migrate'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: MIGRATE_TIMEOUT_MS,
    });
    server = await spawnServe('all', env);
    pool = new Pool(server.url, { connections: QUOTE_CONCURRENCY + 16 });
  }, MIGRATE_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await pool?.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'When quotes come at many times capacity alongside bookings and location updates, then quotes are shed with 503 and Retry-After while every booking and location update is served',
    async () => {
      // Before the overload: riders with a quote each to book with, drivers online.
      const quoter = await token('rider', `quoter-${randomUUID()}`);
      const bookers = await Promise.all(
        Array.from({ length: BOOKINGS }, async (_, i) => {
          const rider = await token('rider', `booker-${randomUUID()}`);
          const quote = await sendPatiently('POST', '/v1/quotes', rider, {
            pickup: near(i),
            dropoff: near(i + 20),
          });
          expect(quote.status, quote.body).toBe(201);
          return { rider, quoteId: (JSON.parse(quote.body) as { quoteId: string }).quoteId };
        }),
      );
      const drivers = await Promise.all(
        Array.from({ length: DRIVERS }, async (_, i) => {
          const driver = await token('driver', `driver-${randomUUID()}`);
          expect((await sendPatiently('POST', '/v1/drivers/me/online', driver, near(i))).status).toBe(200);
          return driver;
        }),
      );

      const shedBefore = await shedQuotes();
      const endAt = Date.now() + OVERLOAD_MS;
      const quotes: Answer[] = [];
      const quoteWorker = async () => {
        for (let i = 0; Date.now() < endAt; i++) {
          quotes.push(await send('POST', '/v1/quotes', quoter, { pickup: near(i), dropoff: near(i + 7) }));
        }
      };
      const bookings: Answer[] = [];
      const booker = async () => {
        const every = OVERLOAD_MS / (BOOKINGS + 1);
        await Promise.all(
          bookers.map(async ({ rider, quoteId }, i) => {
            await new Promise((resolve) => setTimeout(resolve, (i + 1) * every));
            bookings.push(
              await send('POST', '/v1/rides', rider, { quoteId }, { 'idempotency-key': randomUUID() }),
            );
          }),
        );
      };
      const locations: Answer[] = [];
      const driverLoop = async (driver: string, i: number) => {
        for (let n = 0; Date.now() < endAt; n++) {
          const started = Date.now();
          locations.push(await send('POST', '/v1/drivers/me/location', driver, near(i + n)));
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(0, LOCATION_EVERY_MS - (Date.now() - started))),
          );
        }
      };

      await Promise.all([
        ...Array.from({ length: QUOTE_CONCURRENCY }, quoteWorker),
        booker(),
        ...drivers.map(driverLoop),
      ]);

      expect(bookings.map((answer) => answer.status)).toEqual(bookings.map(() => 201));
      // Every driver got through during the overload (how often depends on the machine's load).
      expect(locations.length).toBeGreaterThanOrEqual(DRIVERS);
      expect(locations.filter((answer) => answer.status !== 204)).toEqual([]);

      const shed = quotes.filter((answer) => answer.status === 503);
      // Every quote is either priced or shed: nothing else goes wrong under overload.
      expect(quotes.filter((answer) => answer.status !== 201 && answer.status !== 503)).toEqual([]);
      expect(shed.length / quotes.length).toBeGreaterThan(0.25);
      for (const answer of shed) {
        expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(answer.headers['content-type']).toContain('application/problem+json');
        expect(JSON.parse(answer.body)).toMatchObject({ status: 503, title: 'SERVICE.OVERLOADED' });
      }

      expect((await shedQuotes()) - shedBefore).toBe(shed.length);
    },
    OVERLOAD_MS + 20_000,
  );
});
