import type { IncomingMessage, ServerResponse } from 'node:http';
import underPressure from '@fastify/under-pressure';
import { DomainError } from '../domain/errors.js';
import {
  createShedController,
  isPriority,
  type Priority,
  priorities,
  type SheddingOptions,
} from '../ops/load-shedding.js';
import type { Metrics } from '../ops/metrics.js';
import { runAs } from '../ops/work-priority.js';
import type { App } from './app-types.js';
import { PROBLEM_CONTENT_TYPE, problemOf, sendProblem } from './problem.js';

/**
 * A hook into the HTTP server's request listener, ahead of Fastify: `refuse` answers a request
 * the shedding refuses and returns true, or returns false and Fastify takes the request.
 */
export interface RawGate {
  refuse?: (request: IncomingMessage, response: ServerResponse) => boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's load-shedding class; every route must declare one (see registerLoadShedding). */
    priority?: Priority;
  }
  interface FastifyInstance {
    /** Each route's class, as `METHOD /path` (HEAD twins of GET routes included). */
    routePriorities(): ReadonlyMap<string, Priority>;
  }
}

/**
 * Priority load shedding (docs/load-shedding.md). @fastify/under-pressure samples the event loop
 * (delay histogram and utilisation); its own gate is all-or-nothing per sample, so we read its
 * signals and let the shed controller decide which share of the sheddable class to refuse.
 * A refused request is answered in the first onRequest hook, before authentication and body
 * parsing, so refusing costs little. Must be registered before any route.
 */
export const registerLoadShedding = async (
  app: App,
  options: SheddingOptions | undefined,
  metrics: Metrics,
  gate?: RawGate,
) => {
  const classes = new Map<string, Priority>();
  const sheddableRoutes: Array<{ method: string; url: string; pattern: RegExp }> = [];
  app.decorate('routePriorities', () => classes);
  // A route without a class would silently get one; refuse to build such an app instead.
  app.addHook('onRoute', (route) => {
    const priority: unknown = route.config?.priority;
    if (!isPriority(priority)) {
      throw new Error(
        `${route.method} ${route.url}: declare config.priority (${priorities.join(' or ')}), see docs/load-shedding.md`,
      );
    }
    for (const method of [route.method].flat()) {
      classes.set(`${method} ${route.url}`, priority);
      if (priority === 'sheddable') {
        const pattern = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}$`);
        sheddableRoutes.push({ method, url: route.url, pattern });
      }
    }
    // The database lanes read the class of the work they serve; critical is what they assume.
    if (priority === 'sheddable') {
      const handler = route.handler;
      route.handler = function (request, reply) {
        return runAs('sheddable', () => handler.call(this, request, reply));
      };
    }
  });

  if (!options || (options.maxEventLoopDelayMs <= 0 && options.maxEventLoopUtilization <= 0)) return;

  await app.register(underPressure, {
    sampleInterval: options.sampleIntervalMs,
    // The default is cumulative since start, which a long quiet spell would dilute forever.
    eventLoopUtilizationMode: 'interval',
  });
  const controller = createShedController(options);
  // Built once: thousands of refusals a second should not each capture an error's stack.
  const overloaded = problemOf(
    new DomainError(
      'SERVICE.OVERLOADED',
      `peakride is overloaded: quotes, ride reads and ops views are refused for now; retry in ${options.retryAfterSeconds} s.`,
    ),
  );
  const timer = setInterval(() => {
    const { eventLoopDelay, eventLoopUtilized } = app.memoryUsage();
    const share = controller.sample({
      eventLoopDelayMs: eventLoopDelay,
      eventLoopUtilization: eventLoopUtilized,
    });
    metrics.shedShare.set(share);
  }, options.sampleIntervalMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  // Refusing in the server's own request listener, before Fastify builds a request and a reply
  // and runs its hooks: under a flood of several times capacity, most of the loop goes to refusals,
  // and everything else queues behind them. The onRequest hook below stays for what this misses.
  if (gate) {
    const body = (url: string) => JSON.stringify({ ...overloaded, instance: url });
    gate.refuse = (request, response) => {
      if (controller.shedShare === 0) return false;
      const url = request.url ?? '';
      const query = url.indexOf('?');
      const path = query === -1 ? url : url.slice(0, query);
      const route = sheddableRoutes.find(
        (candidate) => candidate.method === request.method && candidate.pattern.test(path),
      );
      if (!route || !controller.sheds('sheddable')) return false;
      metrics.requestsShed.inc({ class: 'sheddable', route: route.url });
      metrics.httpRequests.inc({ method: route.method, route: route.url, status: 503 });
      response.writeHead(503, {
        'content-type': PROBLEM_CONTENT_TYPE,
        'retry-after': String(options.retryAfterSeconds),
      });
      response.end(body(url));
      return true;
    };
  }

  app.addHook('onRequest', async (request, reply) => {
    // An unknown path has no class: refusing it under overload costs nothing and helps.
    const priority = request.routeOptions.config.priority ?? 'sheddable';
    if (!controller.sheds(priority)) return;
    metrics.requestsShed.inc({ class: priority, route: request.routeOptions.url ?? 'unmatched' });
    return sendProblem(reply, { ...overloaded, instance: request.url }, options.retryAfterSeconds);
  });
};
