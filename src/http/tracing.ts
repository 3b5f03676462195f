import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { markFailed, startSpan } from '../spans.js';

/** Probes and scrapes, every second or so from every kubelet and Prometheus: noise in a trace store. */
const untraced = new Set(['/healthz', '/readyz', '/metrics']);

interface Traced {
  span: Span;
  context: Context;
}

/**
 * A server span per request, child of the caller's span when the request carries a W3C
 * `traceparent`. It starts when the request arrives and ends with the answer; it is made active
 * for the hooks and the handler, so the database and Redis spans of the request nest under it.
 * Registered only while tracing is on.
 */
export const traceRequests = (app: FastifyInstance): void => {
  const requests = new WeakMap<FastifyRequest, Traced>();

  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    // A WebSocket lives for hours: a span for it would only ever end at disconnection.
    if ((route && untraced.has(route)) || request.headers.upgrade !== undefined) return done();
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = startSpan(
      route ? `${request.method} ${route}` : request.method,
      SpanKind.SERVER,
      {
        'http.request.method': request.method,
        // The path without its query string, which could carry values nobody vetted for a trace store.
        'url.path': request.url.split('?', 1)[0] ?? request.url,
        'url.scheme': request.protocol,
        ...(route ? { 'http.route': route } : {}),
        'network.protocol.version': request.raw.httpVersion,
        'client.address': request.ip,
        ...(request.headers['user-agent'] ? { 'user_agent.original': request.headers['user-agent'] } : {}),
        'peakride.request_id': request.id,
      },
      parent,
    );
    const traced = { span, context: trace.setSpan(parent, span) };
    requests.set(request, traced);
    context.with(traced.context, done);
  });

  // The body is read on the socket's own events, outside the span: enter it again for the handler.
  app.addHook('preHandler', (request, _reply, done) => {
    const traced = requests.get(request);
    if (!traced) return done();
    context.with(traced.context, done);
  });

  app.addHook('onError', (request, _reply, error, done) => {
    const traced = requests.get(request);
    if (traced) traced.span.recordException({ name: error.name, message: error.message });
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const traced = requests.get(request);
    if (!traced) return done();
    requests.delete(request);
    traced.span.setAttribute('http.response.status_code', reply.statusCode);
    // A 4xx is the client's doing: only a 5xx marks the server span failed.
    if (reply.statusCode >= 500) markFailed(traced.span, new Error(`HTTP ${reply.statusCode}`));
    traced.span.end();
    done();
  });

  app.addHook('onRequestAbort', (request, done) => {
    const traced = requests.get(request);
    if (!traced) return done();
    requests.delete(request);
    markFailed(traced.span, new Error('the client closed the connection before the answer'));
    traced.span.end();
    done();
  });
};
