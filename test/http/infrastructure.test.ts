import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteBackend } from '../support/backends.js';
import { places, startTestPlatform, type TestPlatform } from '../support/platform.js';

describe('infrastructure routes', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(pgliteBackend);
  });
  afterAll(() => t.close());

  it('When the platform is started, then /healthz and /readyz answer 200', async () => {
    expect((await t.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await t.request('GET', '/readyz')).status).toBe(200);
  });

  it('When the OpenAPI document is fetched, then it describes every v1 route with its schemas', async () => {
    const { status, body } = await t.request('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    const routes = Object.entries(body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'POST /v1/dev/tokens',
        'POST /v1/quotes',
        'POST /v1/rides',
        'GET /v1/rides/{id}',
        'GET /v1/rides/{id}/events',
        'POST /v1/rides/{id}/cancel',
        'POST /v1/rides/{id}/arrive',
        'POST /v1/rides/{id}/start',
        'POST /v1/rides/{id}/complete',
        'POST /v1/drivers/me/online',
        'POST /v1/drivers/me/offline',
        'POST /v1/drivers/me/location',
        'GET /v1/drivers/me/offers',
        'POST /v1/offers/{id}/accept',
        'POST /v1/offers/{id}/decline',
        'GET /v1/zones',
        'GET /v1/realtime',
      ].sort(),
    );
    // The WebSocket messages, which no route schema carries, are components.
    expect(Object.keys(body.components.schemas)).toEqual(
      expect.arrayContaining(['RealtimeClientMessage', 'RealtimeServerMessage']),
    );
    const booking = body.paths['/v1/rides'].post;
    expect(booking.parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true }),
    );
    expect(booking.requestBody.content['application/json'].schema.required).toEqual(['quoteId']);
    expect(Object.keys(booking.responses)).toEqual(expect.arrayContaining(['201', '4XX']));
  });

  it('When requests were answered, then /metrics counts them by route template, not by URL', async () => {
    const rider = await t.rider();
    await rider.quote(places.gareDuNord, places.gareDeLyon);
    await t.request('GET', '/v1/rides/00000000-0000-4000-8000-000000000000', { token: rider.token });
    const { status, body, headers } = await t.request('GET', '/metrics');
    expect(status).toBe(200);
    expect(headers['content-type']).toContain('text/plain');
    expect(body).toMatch(/http_requests_total\{method="POST",route="\/v1\/quotes",status="201"\} \d+/);
    expect(body).toMatch(/http_requests_total\{method="GET",route="\/v1\/rides\/:id",status="404"\} \d+/);
    expect(body).not.toContain('00000000-0000-4000-8000-000000000000');
    expect(body).toContain('http_request_duration_seconds_bucket');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('When a path does not exist, then the answer is a problem+json 404 ROUTE.NOT_FOUND', async () => {
    const reply = await t.request('GET', '/v1/nothing-here');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toContain('application/problem+json');
    expect(reply.body.title).toBe('ROUTE.NOT_FOUND');
  });
});
