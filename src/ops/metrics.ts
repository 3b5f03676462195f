import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { createEventLoopSampler } from './event-loop.js';
import { createRideMetrics } from './ride-metrics.js';

/**
 * One registry per process (tests build several apps in one process, so no global default).
 * Labels stay low-cardinality: the route template, never the URL.
 */
export const createMetrics = () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route template',
    labelNames: ['method', 'route'] as const,
    // Dense around the 50-500 ms objectives.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5],
    registers: [registry],
  });
  const offersSent = new Counter({
    name: 'peakride_offers_sent_total',
    help: 'Offers sent to drivers, by how the driver was chosen: at once (ample supply) or by a batch',
    labelNames: ['mode'] as const,
    registers: [registry],
  });
  const batchRides = new Histogram({
    name: 'peakride_dispatch_batch_rides',
    help: 'Rides matched together by one dispatch batch (batches run only when drivers are short)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  });
  const batchSolveSeconds = new Histogram({
    name: 'peakride_dispatch_batch_solve_seconds',
    help: 'Time to solve the assignment of one dispatch batch',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [registry],
  });
  const routingFallbacks = new Counter({
    name: 'peakride_routing_fallbacks_total',
    help: 'Travel-time tables (or parts) answered by the estimate because the routing server failed, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const requestsShed = new Counter({
    name: 'peakride_requests_shed_total',
    help: 'Requests refused with 503 by load shedding (event loop saturated), by priority class and route template',
    labelNames: ['class', 'route'] as const,
    registers: [registry],
  });
  const shedShare = new Gauge({
    name: 'peakride_load_shed_share',
    help: 'Share (0-1) of sheddable requests being refused now; 0 when the event loop keeps up',
    registers: [registry],
  });
  const eventLoop = createEventLoopSampler({ windowMs: 10_000, sampleEveryMs: 1_000 });
  new Gauge({
    name: 'peakride_event_loop_utilization',
    help: 'Share of the last ~10 s the event loop spent running code (0 idle, 1 saturated): the signal to scale on',
    registers: [registry],
    collect() {
      this.set(eventLoop.utilization());
    },
  });
  /** Set by the dispatch role: which cities this process matches now (1) or not (0). */
  let partitionsHeld: () => Record<string, boolean> = () => ({});
  new Gauge({
    name: 'peakride_dispatch_partitions_held',
    help: 'Cities (dispatch partitions) this process holds the lease of: 1 held, 0 not',
    labelNames: ['partition'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [partition, held] of Object.entries(partitionsHeld())) this.set({ partition }, held ? 1 : 0);
    },
  });
  return {
    registry,
    /** Business signals: ride and offer counters, time to match, per-city gauges. */
    rides: createRideMetrics(registry),
    /** Stops the event-loop sampler (the process's metrics are done with). */
    close(): void {
      eventLoop.stop();
    },
    /** Tells the partitions gauge where to read from. */
    reportPartitions(read: () => Record<string, boolean>): void {
      partitionsHeld = read;
    },
    httpRequests,
    httpDuration,
    offersSent,
    batchRides,
    batchSolveSeconds,
    routingFallbacks,
    requestsShed,
    shedShare,
  };
};

export type Metrics = ReturnType<typeof createMetrics>;
