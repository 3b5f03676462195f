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
import { problemOf, sendProblem } from './problem.js';

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
) => {
  const classes = new Map<string, Priority>();
  app.decorate('routePriorities', () => classes);
  // A route without a class would silently get one; refuse to build such an app instead.
  app.addHook('onRoute', (route) => {
    const priority: unknown = route.config?.priority;
    if (!isPriority(priority)) {
      throw new Error(
        `${route.method} ${route.url}: declare config.priority (${priorities.join(' or ')}), see docs/load-shedding.md`,
      );
    }
    for (const method of [route.method].flat()) classes.set(`${method} ${route.url}`, priority);
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

  app.addHook('onRequest', async (request, reply) => {
    // An unknown path has no class: refusing it under overload costs nothing and helps.
    const priority = request.routeOptions.config.priority ?? 'sheddable';
    if (!controller.sheds(priority)) return;
    metrics.requestsShed.inc({ class: priority, route: request.routeOptions.url ?? 'unmatched' });
    return sendProblem(reply, { ...overloaded, instance: request.url }, options.retryAfterSeconds);
  });
};
