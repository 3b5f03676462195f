import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, quoteIdentifier } from '../../src/adapters/postgres/database.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { loadConfig } from '../../src/config.js';
import { createPlatform, type Platform } from '../../src/roles/platform.js';
import {
  driverClient,
  eventually,
  places,
  type Reply,
  riderClient,
  silentLogger,
  uniqueId,
} from '../support/platform.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const available = Boolean(databaseUrl && redisUrl);

/**
 * An `api` process (in this test process) reaching PostgreSQL and Redis through relays the test
 * cuts: the platform learns of an outage from its own health probes, as in production. A request
 * is refused only when a backend its route needs is down.
 */
describe.skipIf(!available)(
  `when a backend goes away while serving${available ? '' : ' [skipped: needs DATABASE_URL and REDIS_URL]'}`,
  () => {
    const schema = `peakride_test_${randomBytes(6).toString('hex')}`;
    const prefix = `peakride-test-${randomBytes(6).toString('hex')}:`;
    let admin: pg.Client;
    let postgresRelay: TcpRelay;
    let redisRelay: TcpRelay;
    let closeDatabase: () => Promise<void>;
    let api: Platform;

    const relayTo = async (url: string) => {
      const target = new URL(url);
      const relay = await startTcpRelay({
        hostname: target.hostname,
        port: Number(target.port || (target.protocol === 'redis:' ? 6379 : 5432)),
      });
      target.hostname = '127.0.0.1';
      target.port = String(relay.port);
      return { relay, url: target.toString() };
    };

    const request = async (
      method: string,
      url: string,
      options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<Reply> => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const reply = await api.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
      });
      return {
        status: reply.statusCode,
        body: reply.body ? reply.json() : undefined,
        headers: reply.headers,
      };
    };
    const token = async (role: 'rider' | 'driver' | 'ops', subject = uniqueId(role)) =>
      (await request('POST', '/v1/dev/tokens', { body: { role, subject } })).body.token as string;
    const rider = async (id = uniqueId('rider')) => riderClient(request, id, await token('rider', id));
    const driver = async (id = uniqueId('driver')) => driverClient(request, id, await token('driver', id));
    const zones = async () =>
      request('GET', `/v1/zones?lat=${places.gareDeLyon.lat}&lng=${places.gareDeLyon.lng}`, {
        token: await token('ops'),
      });
    const readiness = async () => (await request('GET', '/readyz')).status;

    const expectRefusedFor = (reply: Reply, detail: RegExp) => {
      expect(reply.status).toBe(503);
      expect(reply.headers['content-type']).toContain('application/problem+json');
      expect(reply.headers['retry-after']).toBe('1');
      expect(reply.body.title).toBe('SERVICE.UNAVAILABLE');
      expect(reply.body.detail).toMatch(detail);
    };

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
      const postgres = await relayTo(databaseUrl as string);
      const redis = await relayTo(redisUrl as string);
      postgresRelay = postgres.relay;
      redisRelay = redis.relay;
      const database = await openPostgres({ url: postgres.url, schema });
      closeDatabase = () => database.close();
      await migrate(database);
      const config = loadConfig({
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        PEAKRIDE_REDIS_PREFIX: prefix,
        // The test and the platform share this event loop: shedding would refuse the test's requests.
        PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS: '0',
        PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION: '0',
      });
      api = await createPlatform({ role: 'api', config, database, logger: silentLogger });
      await api.start();
    });

    afterAll(async () => {
      await api?.stop();
      await closeDatabase?.();
      postgresRelay?.close();
      redisRelay?.close();
      await admin?.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
      await admin?.end();
      const redis = new Redis(redisUrl as string);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    it('When Redis is down, then bookings, ride reads, cancels and offer polls are served and the process stays ready, while the routes that need Redis get 503 naming it', async () => {
      const booker = await rider();
      const canceller = await rider();
      const onDuty = await driver();
      expect((await onDuty.online(places.gareDeLyon)).status).toBe(200);
      const quotes = [
        await booker.quote(places.gareDeLyon, places.gareDuNord),
        await canceller.quote(places.gareDeLyon, places.saintLazare),
      ];
      for (const quote of quotes) expect(quote.status).toBe(201);
      const toCancel = await canceller.book(quotes[1]?.body.quoteId);
      expect(toCancel.status).toBe(201);

      await redisRelay.cut();
      try {
        const moved = await eventually(
          () => onDuty.location(places.gareDuNord),
          (reply) => reply.status === 503,
          10_000,
        );
        expectRefusedFor(moved, /^Redis is not answering, and POST \/v1\/drivers\/me\/location needs it/);

        const booked = await booker.book(quotes[0]?.body.quoteId);
        expect(booked.status).toBe(201);
        expect(booked.body.status).toBe('searching');
        const read = await booker.getRide(booked.body.id);
        expect(read.status).toBe(200);
        expect(read.body.id).toBe(booked.body.id);
        expect((await canceller.cancel(toCancel.body.id, 'plans changed')).body.status).toBe('cancelled');
        expect((await onDuty.offers()).status).toBe(200);
        expect(await readiness()).toBe(200);
        // An unknown path touches no backend: it is still a 404.
        expect((await request('GET', '/v1/no-such-route')).status).toBe(404);

        expectRefusedFor(
          await booker.quote(places.gareDeLyon, places.gareDuNord),
          /^Redis is not answering, and POST \/v1\/quotes needs it/,
        );
        expectRefusedFor(await zones(), /^Redis is not answering, and GET \/v1\/zones needs it/);
        expectRefusedFor(
          await request('GET', '/v1/realtime', { token: booker.token }),
          /^Redis is not answering, and GET \/v1\/realtime needs it/,
        );
      } finally {
        await redisRelay.restore();
      }
      const recovered = await eventually(
        () => onDuty.location(places.gareDuNord),
        (reply) => reply.status === 204,
        15_000,
      );
      expect(recovered.status).toBe(204);
    }, 60_000);

    it('When PostgreSQL is down, then bookings get 503 naming it and the process is not ready, while a route that needs only Redis is served', async () => {
      const booker = await rider();
      const quote = await booker.quote(places.gareDeLyon, places.montparnasse);
      expect(quote.status).toBe(201);

      await postgresRelay.cut();
      try {
        expect(await eventually(readiness, (status) => status === 503, 10_000)).toBe(503);
        expectRefusedFor(
          await booker.book(quote.body.quoteId),
          /^PostgreSQL is not answering, and POST \/v1\/rides needs it/,
        );
        expect((await zones()).status).toBe(200);
      } finally {
        await postgresRelay.restore();
      }
      expect(await eventually(readiness, (status) => status === 200, 15_000)).toBe(200);
      const booked = await booker.book(quote.body.quoteId, randomUUID());
      expect(booked.status).toBe(201);
    }, 60_000);
  },
);
