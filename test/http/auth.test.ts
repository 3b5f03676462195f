import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type OpenedDatabase, pgliteBackend } from '../support/backends.js';
import { startTestPlatform, type TestPlatform, uniqueId } from '../support/platform.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const secret = 'peakride-auth-test-secret-0123456789abcdef';
const otherSecret = 'another-secret-of-at-least-32-bytes-0123456789';
const encode = (text: string) => new TextEncoder().encode(text);
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const anHourAgo = () => Math.floor(Date.now() / 1000) - 3600;

/** An HS256 token with exactly the given claims. */
const hs256 = (claims: JWTPayload, key: string = secret) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(encode(key));

/** Replaces a token's payload and keeps its header and signature. */
const withPayload = (token: string, claims: JWTPayload) => {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
};

/** A route any driver may call that touches no other party: 200 with a valid driver token. */
const asDriver = (t: TestPlatform, token: string) => t.request('GET', '/v1/drivers/me/offers', { token });

const expectInvalidToken = (reply: { status: number; body: { title?: string }; headers: object }) => {
  expect(reply.status).toBe(401);
  expect(reply.body.title).toBe('AUTH.INVALID_TOKEN');
  expect(String((reply.headers as Record<string, unknown>)['content-type'])).toContain(
    'application/problem+json',
  );
};

// Authentication does not depend on the database: one PGlite serves every platform here.
let opened: OpenedDatabase;
beforeAll(async () => {
  opened = await pgliteBackend.open();
});
afterAll(() => opened?.cleanup());

describe('AUTH_MODE=jwt with an HS256 secret', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(pgliteBackend, { AUTH_MODE: 'jwt', JWT_SECRET: secret }, opened);
  });
  afterAll(() => t?.close());

  it('When someone asks for a dev token, then the route answers 404 and issues nothing', async () => {
    const reply = await t.request('POST', '/v1/dev/tokens', { body: { role: 'ops', subject: 'mallory' } });
    expect(reply.status).toBe(404);
    expect(reply.body.token).toBeUndefined();
    expect(reply.headers['content-type']).toContain('application/problem+json');
    expect((await t.request('POST', '/v1/dev/tokens')).status).toBe(404);
  });

  it('When a token signed with the secret carries role, sub and exp, then it is accepted for that role', async () => {
    const driver = uniqueId('driver');
    const token = await hs256({ role: 'driver', sub: driver, exp: inAnHour() });
    const reply = await asDriver(t, token);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([]);
    // An ops token passes authentication on a route open to ops (the ride itself does not exist).
    const asOps = await t.request('GET', `/v1/rides/${randomUUID()}`, {
      token: await hs256({ role: 'ops', sub: 'ops-1', exp: inAnHour() }),
    });
    expect(asOps.status).toBe(404);
    expect(asOps.body.title).toBe('RIDE.NOT_FOUND');
  });

  it('When a valid token is for another role than the route allows, then it is refused with 403, not 401', async () => {
    const reply = await asDriver(t, await hs256({ role: 'rider', sub: uniqueId('rider'), exp: inAnHour() }));
    expect(reply.status).toBe(403);
    expect(reply.body.title).toBe('AUTH.FORBIDDEN_ROLE');
  });

  const refused: Array<[string, () => Promise<string>]> = [
    [
      'its payload was tampered with after signing',
      async () => {
        const sub = uniqueId('driver');
        const genuine = await hs256({ role: 'rider', sub, exp: inAnHour() });
        return withPayload(genuine, { role: 'driver', sub, exp: inAnHour() });
      },
    ],
    [
      'signed with another secret',
      () => hs256({ role: 'driver', sub: uniqueId('driver'), exp: inAnHour() }, otherSecret),
    ],
    ['expired', () => hs256({ role: 'driver', sub: uniqueId('driver'), exp: anHourAgo() })],
    [
      'unsigned (alg: none)',
      async () =>
        new UnsecuredJWT({ role: 'driver' }).setSubject(uniqueId('driver')).setExpirationTime('1h').encode(),
    ],
    ['missing the role claim', () => hs256({ sub: uniqueId('driver'), exp: inAnHour() })],
    ['of an unknown role', () => hs256({ role: 'admin', sub: uniqueId('admin'), exp: inAnHour() })],
    ['missing the sub claim', () => hs256({ role: 'driver', exp: inAnHour() })],
    ['missing the exp claim', () => hs256({ role: 'driver', sub: uniqueId('driver') })],
    ['not a JWT at all', async () => 'not-a-token'],
  ];

  it.each(refused)(
    'When a token is %s, then it is refused with 401 AUTH.INVALID_TOKEN',
    async (_case, make) => {
      expectInvalidToken(await asDriver(t, await make()));
    },
  );

  it('When a token comes in another scheme than Bearer, then it is refused with 401', async () => {
    const token = await hs256({ role: 'driver', sub: uniqueId('driver'), exp: inAnHour() });
    const reply = await t.request('GET', '/v1/drivers/me/offers', {
      headers: { authorization: `Basic ${token}` },
    });
    expectInvalidToken(reply);
  });
});

describe('AUTH_MODE=jwt with a JWKS URL', () => {
  const kid = 'test-key-1';
  let server: Server;
  let t: TestPlatform;
  let privateKey: KeyPair['privateKey'];
  let jwksRequests = 0;

  const es256 = (key: KeyPair['privateKey'], claims: JWTPayload, keyId = kid) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: keyId, typ: 'JWT' }).sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' }] };
    server = createServer((request, response) => {
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      jwksRequests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    t = await startTestPlatform(
      pgliteBackend,
      { AUTH_MODE: 'jwt', JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` },
      opened,
    );
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('When a token is signed with the published key, then it is accepted', async () => {
    const token = await es256(privateKey, { role: 'driver', sub: uniqueId('driver'), exp: inAnHour() });
    const reply = await asDriver(t, token);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([]);
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('When a token is signed by another key pair under the same key id, then it is refused with 401', async () => {
    const intruder = await generateKeyPair('ES256');
    const token = await es256(intruder.privateKey, {
      role: 'driver',
      sub: uniqueId('driver'),
      exp: inAnHour(),
    });
    expectInvalidToken(await asDriver(t, token));
  });

  it('When a token names a key id the JWKS does not publish, then it is refused with 401', async () => {
    const intruder = await generateKeyPair('ES256');
    const token = await es256(
      intruder.privateKey,
      { role: 'driver', sub: uniqueId('driver'), exp: inAnHour() },
      'unknown-key',
    );
    expectInvalidToken(await asDriver(t, token));
  });

  it('When only a JWKS is configured and a token is HS256-signed, then it is refused with 401', async () => {
    expectInvalidToken(
      await asDriver(t, await hs256({ role: 'driver', sub: uniqueId('driver'), exp: inAnHour() })),
    );
  });

  it('When a token signed with the published key has expired, then it is refused with 401', async () => {
    const token = await es256(privateKey, { role: 'driver', sub: uniqueId('driver'), exp: anHourAgo() });
    expectInvalidToken(await asDriver(t, token));
  });
});

describe('AUTH_MODE=dev (the default)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(pgliteBackend, {}, opened);
  });
  afterAll(() => t?.close());

  it('When a dev token is issued, then it works for its role and subject', async () => {
    const subject = uniqueId('driver');
    const issued = await t.request('POST', '/v1/dev/tokens', { body: { role: 'driver', subject } });
    expect(issued.status).toBe(201);
    expect(new Date(issued.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const reply = await asDriver(t, issued.body.token);
    expect(reply.status).toBe(200);
    const online = await t.request('POST', '/v1/drivers/me/online', {
      token: issued.body.token,
      body: { lat: 48.8809, lng: 2.3553 },
    });
    expect(online.body).toMatchObject({ driverId: subject, status: 'online' });
    await t.request('POST', '/v1/drivers/me/offline', { token: issued.body.token });
  });

  it('When a dev-mode token has expired, then it is refused with 401', async () => {
    const devSecret = loadConfig({}).auth.secret;
    expect(devSecret).toBeDefined();
    const token = await hs256({ role: 'driver', sub: uniqueId('driver'), exp: anHourAgo() }, devSecret);
    expectInvalidToken(await asDriver(t, token));
    // The same token unexpired passes: the refusal above is about expiry, not the key.
    const fresh = await hs256({ role: 'driver', sub: uniqueId('driver'), exp: inAnHour() }, devSecret);
    expect((await asDriver(t, fresh)).status).toBe(200);
  });

  it('When a token signed with a secret other than the dev secret is sent, then it is refused with 401', async () => {
    expectInvalidToken(
      await asDriver(t, await hs256({ role: 'driver', sub: uniqueId('driver'), exp: inAnHour() })),
    );
  });
});
