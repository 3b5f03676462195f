import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/flows/dispatch.js';
import type { Clock, EventBus } from '../../src/flows/ports.js';
import { createPlatform, type Platform } from '../../src/roles/platform.js';
import type { Backend, OpenedDatabase } from './backends.js';
import type { Point } from './scenes.js';

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Paris landmarks used across tests. */
export const places = {
  gareDuNord: { lat: 48.8809, lng: 2.3553 },
  gareDeLyon: { lat: 48.8443, lng: 2.3743 },
  saintLazare: { lat: 48.8763, lng: 2.3253 },
  montparnasse: { lat: 48.8412, lng: 2.3206 },
  kingsCross: { lat: 51.5308, lng: -0.1238 },
  waterloo: { lat: 51.5031, lng: -0.1132 },
  /** Served by no city. */
  tokyo: { lat: 35.6762, lng: 139.6503 },
};

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies and assert on their shape.
export interface Reply<T = any> {
  status: number;
  body: T;
  headers: LightMyRequestResponse['headers'];
}

export interface TestPlatform {
  platform: Platform;
  opened: OpenedDatabase;
  request(
    method: string,
    url: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string },
  ): Promise<Reply>;
  token(role: 'rider' | 'driver' | 'ops', subject?: string): Promise<string>;
  rider(subject?: string): Promise<RiderClient>;
  driver(subject?: string): Promise<DriverClient>;
  ops(): Promise<{ token: string; getRide(id: string): Promise<Reply> }>;
  close(): Promise<void>;
}

/** Unique per call, so tests sharing one database never see each other's parties. */
export const uniqueId = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export const startTestPlatform = async (
  backend: Backend,
  env: Record<string, string> = {},
  opened?: OpenedDatabase,
  clock?: Clock,
  /** A bus shared with other platforms (as processes share Redis); unset, the platform's own. */
  bus?: EventBus,
): Promise<TestPlatform> => {
  const database = opened ?? (await backend.open());
  await migrate(database.database);
  const config: Config = loadConfig({
    PEAKRIDE_SWEEP_INTERVAL_MS: '50',
    // The test and its load share this event loop: shedding would refuse the test's own requests.
    // It is tested on a real process (test/http/overload.test.ts).
    PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS: '0',
    PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION: '0',
    ...env,
  });
  const platform = await createPlatform({
    config,
    database: database.database,
    logger: silentLogger,
    ...(clock ? { clock } : {}),
    ...(bus ? { bus } : {}),
  });
  await platform.start();

  const request: TestPlatform['request'] = async (method, url, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await platform.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined ? { payload } : {}),
    });
    const text = response.body;
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: response.statusCode, body, headers: response.headers };
  };

  const token: TestPlatform['token'] = async (role, subject = uniqueId(role)) => {
    const reply = await request('POST', '/v1/dev/tokens', { body: { role, subject } });
    if (reply.status !== 201) throw new Error(`token: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body.token as string;
  };

  const self: TestPlatform = {
    platform,
    opened: database,
    request,
    token,
    async rider(subject = uniqueId('rider')) {
      return riderClient(request, subject, await token('rider', subject));
    },
    async driver(subject = uniqueId('driver')) {
      return driverClient(request, subject, await token('driver', subject));
    },
    async ops() {
      const opsToken = await token('ops', uniqueId('ops'));
      return {
        token: opsToken,
        getRide: (id: string) => request('GET', `/v1/rides/${id}`, { token: opsToken }),
      };
    },
    async close() {
      await platform.stop();
      if (!opened) await database.cleanup();
    },
  };
  return self;
};

type Request = TestPlatform['request'];

export type RiderClient = ReturnType<typeof riderClient>;
export const riderClient = (request: Request, id: string, token: string) => ({
  id,
  token,
  quote: (pickup: Point, dropoff: Point) =>
    request('POST', '/v1/quotes', { token, body: { pickup, dropoff } }),
  book: (quoteId: string, key: string = randomUUID()) =>
    request('POST', '/v1/rides', { token, body: { quoteId }, headers: { 'idempotency-key': key } }),
  /** Quote then book; throws unless both succeed. */
  async requestRide(pickup: Point, dropoff: Point) {
    const quote = await this.quote(pickup, dropoff);
    if (quote.status !== 201) throw new Error(`quote: ${quote.status} ${JSON.stringify(quote.body)}`);
    const ride = await this.book(quote.body.quoteId);
    if (ride.status !== 201) throw new Error(`book: ${ride.status} ${JSON.stringify(ride.body)}`);
    return ride.body as { id: string; status: string };
  },
  getRide: (rideId: string) => request('GET', `/v1/rides/${rideId}`, { token }),
  cancel: (rideId: string, reason?: string) =>
    request('POST', `/v1/rides/${rideId}/cancel`, { token, body: reason === undefined ? {} : { reason } }),
});

export type DriverClient = ReturnType<typeof driverClient>;
export const driverClient = (request: Request, id: string, token: string) => ({
  id,
  token,
  online: (at: Point) => request('POST', '/v1/drivers/me/online', { token, body: at }),
  offline: () => request('POST', '/v1/drivers/me/offline', { token }),
  location: (body: Record<string, unknown>) => request('POST', '/v1/drivers/me/location', { token, body }),
  offers: () => request('GET', '/v1/drivers/me/offers', { token }),
  accept: (offerId: string) => request('POST', `/v1/offers/${offerId}/accept`, { token }),
  decline: (offerId: string) => request('POST', `/v1/offers/${offerId}/decline`, { token }),
  arrive: (rideId: string) => request('POST', `/v1/rides/${rideId}/arrive`, { token }),
  start: (rideId: string) => request('POST', `/v1/rides/${rideId}/start`, { token }),
  complete: (rideId: string) => request('POST', `/v1/rides/${rideId}/complete`, { token }),
  cancel: (rideId: string, reason?: string) =>
    request('POST', `/v1/rides/${rideId}/cancel`, { token, body: reason === undefined ? {} : { reason } }),
  getRide: (rideId: string) => request('GET', `/v1/rides/${rideId}`, { token }),
  /** Polls the offer list until an offer shows up (dispatch runs asynchronously). */
  async waitForOffer(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const reply = await this.offers();
      if (reply.status === 200 && reply.body.length > 0)
        return reply.body[0] as { id: string; rideId: string; expiresAt: string };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`driver ${id} got no offer within ${timeoutMs} ms`);
  },
});

/** Polls until `check` passes or the time runs out; returns the last value. */
export const eventually = async <T>(
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await probe();
  }
  return value;
};
