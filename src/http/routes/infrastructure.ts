import type { App, AppDeps } from '../app-types.js';
import { Health } from '../schemas.js';

export const registerInfrastructureRoutes = (app: App, { isReady, metrics }: AppDeps) => {
  const hidden = { hide: true };

  app.get('/healthz', { schema: { ...hidden, response: { 200: Health } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { ...hidden, response: { 200: Health, 503: Health } } },
    async (_request, reply) =>
      isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'not ready' }),
  );

  app.get('/metrics', { schema: hidden }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  app.get('/openapi.json', { schema: hidden }, async () => app.swagger());
};
