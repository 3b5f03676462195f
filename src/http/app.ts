import { createServer } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { tracingOn } from '../spans.js';
import { type App, type AppDeps, type Backend, backendNames } from './app-types.js';
import { type RawGate, registerLoadShedding } from './load-shedding.js';
import { handleError, handleNotFound } from './problem.js';
import { realtimeSchemas } from './realtime/protocol.js';
import { registerDevTokenRoutes } from './routes/dev-tokens.js';
import { registerDriverRoutes } from './routes/drivers.js';
import { registerInfrastructureRoutes } from './routes/infrastructure.js';
import { registerOfferRoutes } from './routes/offers.js';
import { registerQuoteRoutes } from './routes/quotes.js';
import { registerRealtimeRoutes } from './routes/realtime.js';
import { registerRideRoutes } from './routes/rides.js';
import { registerZoneRoutes } from './routes/zones.js';
import { traceRequests } from './tracing.js';

export type { App, AppDeps, Backend } from './app-types.js';

const backendLabels: Record<Backend, string> = { postgres: 'PostgreSQL', redis: 'Redis' };

/** "Redis is not answering, and POST /v1/quotes needs it; …": what is down and why it matters here. */
const unavailableDetail = (missing: readonly Backend[], route: string): string => {
  const names = missing.map((backend) => backendLabels[backend]).join(' and ');
  const [verb, pronoun] = missing.length === 1 ? ['is', 'it'] : ['are', 'them'];
  return `${names} ${verb} not answering, and ${route} needs ${pronoun}; retry shortly.`;
};

/** Builds the HTTP app; it does not listen. The process entry (roles/) owns ports and signals. */
export const buildApp = async (deps: AppDeps, logger?: FastifyBaseLogger): Promise<App> => {
  // Load shedding refuses in the server's own listener, ahead of Fastify (see RawGate); not while
  // draining, when every answer must also carry Connection: close.
  const gate: RawGate = {};
  const app = Fastify({
    serverFactory: (handler) => {
      const server = createServer((request, response) => {
        if (gate.refuse && deps.phase() === 'serving' && gate.refuse(request, response)) return;
        handler(request, response);
      });
      if (deps.maxConnections !== undefined) server.maxConnections = deps.maxConnections;
      return server;
    },
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: 16 * 1024,
    // Strict input: "48.8" or null for a number is a 400, unknown fields are refused, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    requestIdHeader: 'x-request-id',
    // A path that is not valid percent-encoding is bad input too: answer it as problem+json.
    frameworkErrors: (error, request, reply) => handleError(error, request, reply),
    // One log line per request would dominate the log at thousands of location updates a second.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // All bodies are JSON: Fastify's default text/plain parser would let a stray body through.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // First, so its span covers every other hook (shedding, readiness, auth) of the request.
  if (tracingOn()) traceRequests(app);
  // First of the hooks and before any route: a shed request costs as little as possible.
  await registerLoadShedding(app, deps.shedding, deps.metrics, gate);

  // A request is refused only for a backend its route needs (`config.needs`, every backend when
  // unset): a booking, which only writes to PostgreSQL, is taken while Redis is down. An unknown
  // path needs none: its 404 touches no backend.
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const down = deps.backendsDown?.() ?? [];
    if (down.length > 0 && !request.is404) {
      const needs = request.routeOptions.config.needs ?? backendNames;
      const missing = down.filter((backend) => needs.includes(backend));
      if (missing.length > 0) {
        const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
        throw new DomainError('SERVICE.UNAVAILABLE', unavailableDetail(missing, route));
      }
    }
    if (deps.phase() === 'starting') {
      throw new DomainError('SERVICE.STARTING', 'peakride is starting; retry shortly.');
    }
  });
  // While draining, a keep-alive client is moved off this process with its next answer, so no
  // idle connection is left to be cut when the server closes.
  app.addHook('onSend', async (_request, reply) => {
    if (deps.phase() === 'draining') reply.header('connection', 'close');
  });
  // A route without a body schema takes no body: nothing or {} is fine, any field is unknown, refused.
  app.addHook('preValidation', async (request) => {
    const body: unknown = request.body;
    // An unknown route is a 404 whatever its body (e.g. /v1/dev/tokens outside dev mode).
    if (request.is404 || request.routeOptions.schema?.body || body === undefined) return;
    const empty =
      typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0;
    if (!empty) {
      throw new DomainError(
        'REQUEST.INVALID',
        `${request.method} ${request.routeOptions.url ?? request.url} takes no body; send none or {}.`,
      );
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: request.method, route, status: reply.statusCode });
    deps.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'peakride API',
        version: '1',
        description:
          'Ride-hailing booking and dispatch. Errors are RFC 9457 problem+json with a coded title.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        // The WebSocket messages of GET /v1/realtime, which no route schema can carry.
        schemas: realtimeSchemas,
      },
    },
  });

  registerInfrastructureRoutes(app, deps);
  if (deps.routes === 'infrastructure') {
    await app.ready();
    return app;
  }
  registerDevTokenRoutes(app, deps);
  registerQuoteRoutes(app, deps);
  registerRideRoutes(app, deps);
  registerDriverRoutes(app, deps);
  registerOfferRoutes(app, deps);
  registerZoneRoutes(app, deps);
  await registerRealtimeRoutes(app, deps);
  await app.ready();
  return app;
};
