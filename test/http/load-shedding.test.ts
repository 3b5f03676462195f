import { readFile } from 'node:fs/promises';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerLoadShedding } from '../../src/http/load-shedding.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { pgliteBackend } from '../support/backends.js';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.js';

/** DESIGN.md's operability contract, route by route; a new route must be added here on purpose. */
const expectedClasses = {
  critical: [
    'POST /v1/dev/tokens',
    'POST /v1/rides',
    'POST /v1/rides/:id/cancel',
    'POST /v1/rides/:id/arrive',
    'POST /v1/rides/:id/start',
    'POST /v1/rides/:id/complete',
    'POST /v1/drivers/me/online',
    'POST /v1/drivers/me/offline',
    'POST /v1/drivers/me/location',
    'GET /v1/drivers/me/offers',
    'POST /v1/offers/:id/accept',
    'POST /v1/offers/:id/decline',
    'GET /v1/realtime',
    'GET /healthz',
    'GET /readyz',
    'GET /metrics',
    'GET /openapi.json',
  ],
  sheddable: ['POST /v1/quotes', 'GET /v1/rides/:id', 'GET /v1/rides/:id/events', 'GET /v1/zones'],
};

const newApp = () => Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();

describe('load shedding classes', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(pgliteBackend);
  });
  afterAll(() => t.close());

  it('When the public app is built, then every route has the class the operability contract gives it', () => {
    const classes = t.platform.app.routePriorities();
    // HEAD twins of GET routes follow their GET route.
    const declared = [...classes].filter(([route]) => !route.startsWith('HEAD '));
    const byClass = (wanted: string) =>
      declared
        .filter(([, priority]) => priority === wanted)
        .map(([route]) => route)
        .sort();
    expect(byClass('critical')).toEqual([...expectedClasses.critical].sort());
    expect(byClass('sheddable')).toEqual([...expectedClasses.sheddable].sort());
    for (const [route, priority] of classes) {
      if (route.startsWith('HEAD ')) expect(classes.get(route.replace(/^HEAD /, 'GET '))).toBe(priority);
    }
  });

  it('When a route has a class, then docs/load-shedding.md lists it in that class', async () => {
    const docs = await readFile(new URL('../../docs/load-shedding.md', import.meta.url), 'utf8');
    for (const [route, priority] of t.platform.app.routePriorities()) {
      if (!route.startsWith('HEAD ')) expect(docs).toContain(`| \`${route}\` | ${priority} |`);
    }
  });

  it('When a route declares no class, then the app refuses to build', async () => {
    const app = newApp();
    await registerLoadShedding(app, undefined, createMetrics());
    expect(() => app.get('/v1/unclassified', async () => ({}))).toThrow(/declare config\.priority/);
    await app.close();
  });
});

describe('load shedding under a saturated event loop', () => {
  const metrics = createMetrics();
  const app = newApp();
  beforeAll(async () => {
    // Any activity at all is over this threshold: the loop counts as saturated at every sample.
    await registerLoadShedding(
      app,
      { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 1e-9, sampleIntervalMs: 10, retryAfterSeconds: 7 },
      metrics,
    );
    app.post('/v1/quotes', { config: { priority: 'sheddable' } }, async () => ({ quoted: true }));
    app.post('/v1/drivers/me/location', { config: { priority: 'critical' } }, async () => ({ seen: true }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('When a sheddable route is called, then it gets 503 problem+json with Retry-After, counted by class and route', async () => {
    const shed = await eventually(
      () => app.inject({ method: 'POST', url: '/v1/quotes' }),
      (reply) => reply.statusCode === 503,
    );
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('7');
    expect(shed.headers['content-type']).toContain('application/problem+json');
    expect(shed.json()).toMatchObject({ status: 503, title: 'SERVICE.OVERLOADED', instance: '/v1/quotes' });
    const exposed = await metrics.registry.metrics();
    expect(exposed).toMatch(/peakride_requests_shed_total\{class="sheddable",route="\/v1\/quotes"\} [1-9]/);
    const share = Number(/^peakride_load_shed_share (\S+)$/m.exec(exposed)?.[1]);
    expect(share).toBeGreaterThanOrEqual(0.5);
  });

  it('When a critical route is called meanwhile, then it is served', async () => {
    for (let i = 0; i < 20; i++) {
      const reply = await app.inject({ method: 'POST', url: '/v1/drivers/me/location' });
      expect(reply.statusCode).toBe(200);
    }
  });
});
