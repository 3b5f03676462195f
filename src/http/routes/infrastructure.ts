import type { App, AppDeps } from '../app-types.js';
import { Health } from '../schemas.js';

export const registerInfrastructureRoutes = (app: App, { isReady, metrics }: AppDeps) => {
  const hidden = { hide: true };
  // Never shed: a probe refused under load would take a busy pod out of service and move its load
  // onto the others, and /metrics is how the overload is seen.
  const config = { priority: 'critical' } as const;

  app.get('/healthz', { config, schema: { ...hidden, response: { 200: Health } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { config, schema: { ...hidden, response: { 200: Health, 503: Health } } },
    async (_request, reply) =>
      isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'not ready' }),
  );

  app.get('/metrics', { config, schema: hidden }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  app.get('/openapi.json', { config, schema: hidden }, async () => app.swagger());
};
