import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, quoteIdentifier } from '../../src/adapters/postgres/database.js';
import { pgliteBackend } from '../support/backends.js';
import { places, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)(
  `when PostgreSQL goes away while serving${databaseUrl ? '' : ' [skipped: DATABASE_URL is unset]'}`,
  () => {
    let t: TestPlatform;
    let relay: TcpRelay;
    let admin: pg.Client;
    const schema = `peakride_test_${randomBytes(6).toString('hex')}`;

    beforeAll(async () => {
      const target = new URL(databaseUrl as string);
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
      relay = await startTcpRelay({ hostname: target.hostname, port: Number(target.port || 5432) });
      const viaRelay = new URL(target);
      viaRelay.hostname = '127.0.0.1';
      viaRelay.port = String(relay.port);
      const database = await openPostgres({ url: viaRelay.toString(), schema });
      t = await startTestPlatform(pgliteBackend, {}, { database, cleanup: () => database.close() });
    });

    afterAll(async () => {
      await t.close();
      await t.opened.cleanup();
      await admin.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
      await admin.end();
    });

    it('When the database is unreachable, then requests get 503 SERVICE.UNAVAILABLE with Retry-After, and service resumes when it is back', async () => {
      const rider = await t.rider();
      expect((await rider.quote(places.gareDuNord, places.gareDeLyon)).status).toBe(201);

      await relay.cut();
      const during = await rider.quote(places.gareDuNord, places.gareDeLyon);
      expect(during.status).toBe(503);
      expect(during.body.title).toBe('SERVICE.UNAVAILABLE');
      expect(during.headers['retry-after']).toBe('1');
      expect(during.headers['content-type']).toContain('application/problem+json');

      await relay.restore();
      const after = await rider.quote(places.gareDuNord, places.gareDeLyon);
      expect(after.status).toBe(201);
    });
  },
);
