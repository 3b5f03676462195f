import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { TokenService } from '../adapters/auth/tokens.js';
import type { createBookingFlows } from '../flows/booking.js';
import type { createDriverFlows } from '../flows/drivers.js';
import type { createOfferFlows } from '../flows/offers.js';
import type { createQuoteFlows } from '../flows/quotes.js';
import type { createRideLifecycleFlows } from '../flows/ride-lifecycle.js';
import type { createZoneFlows } from '../flows/zones.js';
import type { SheddingOptions } from '../ops/load-shedding.js';
import type { Metrics } from '../ops/metrics.js';
import type { RealtimeGateway } from './realtime/gateway.js';

/** The backends a route may depend on, by the names the health probes report them under. */
export const backendNames = ['postgres', 'redis'] as const;
export type Backend = (typeof backendNames)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The backends the route cannot do its work without: while one of them is down, the route
     * answers 503 SERVICE.UNAVAILABLE naming it. Unset: every backend (the safe default); `[]`: none.
     */
    needs?: readonly Backend[];
  }
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface Flows {
  quotes: ReturnType<typeof createQuoteFlows>;
  booking: ReturnType<typeof createBookingFlows>;
  rides: ReturnType<typeof createRideLifecycleFlows>;
  drivers: ReturnType<typeof createDriverFlows>;
  offers: ReturnType<typeof createOfferFlows>;
  zones: ReturnType<typeof createZoneFlows>;
}

export interface AppDeps {
  flows: Flows;
  tokens: TokenService;
  metrics: Metrics;
  /**
   * /readyz: false while starting, while a backend bookings need is down (not for one only other
   * routes need: see roles/platform.ts) and from the moment draining begins.
   */
  isReady(): boolean;
  /**
   * `starting`: v1 requests get 503; `serving`; `draining`: after SIGTERM, still served (the load
   * balancer may not have dropped this process yet), each answer closing its connection.
   */
  phase(): 'starting' | 'serving' | 'draining';
  devTokens: boolean;
  /**
   * `public`: the v1 API (the `api` and `all` roles); `infrastructure`: health, readiness and
   * metrics only (`dispatch` and `worker` processes, which take no client traffic).
   */
  routes?: 'public' | 'infrastructure';
  /**
   * Backends reported down now; while one is, the v1 routes that need it (`config.needs`) get 503
   * with Retry-After, and the others are served.
   */
  backendsDown?(): readonly Backend[];
  /** Refuses the sheddable class while the event loop is saturated; unset, nothing is shed. */
  shedding?: SheddingOptions;
  /** Client connections (HTTP and WebSocket) accepted at once; more are closed on arrival. */
  maxConnections?: number;
  /** Serves GET /v1/realtime when given (a process role without live updates leaves it out). */
  realtime?: RealtimeGateway;
}
