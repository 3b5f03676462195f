/**
 * Every number the autoscaling model assumes, with its default and where the default comes
 * from, in one place (docs/capacity.md lists them). The command line overrides the main ones.
 */

export type ClientMode = 'websocket' | 'polling';

export interface ModelParameters {
  /** Multiplies the scenario's riders and drivers, as `peakride sim --scale`. */
  scale: number;
  /** How apps learn of ride updates and offers: pushed on the WebSocket, or by polling. */
  clients: ClientMode;
  /** Share of riders who book once they have a quote (1: every quoted rider books, an upper bound). */
  bookShare: number;

  // The platform (src/config.ts, docs/load-shedding.md, src/sim/agents).
  /** Sheddable requests are refused above this event-loop utilisation (PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION). */
  shedUtilization: number;
  /** A shed quote is asked again after Retry-After (PEAKRIDE_SHED_RETRY_AFTER_SECONDS)... */
  retryAfterSeconds: number;
  /** ...up to this many attempts in all (the rider app, src/sim/agents/rider.ts). */
  quoteAttempts: number;
  /** A booking that failed is sent again (same Idempotency-Key) up to this many attempts in all. */
  bookingAttempts: number;
  /** A request waiting longer than this fails (the client gives up; the simulator's client timeout). */
  requestTimeoutSeconds: number;
  /** A booked ride nobody takes within this ends `expired` (PEAKRIDE_SEARCH_WINDOW_SECONDS). */
  searchWindowSeconds: number;
  /** Dispatch batches this often (PEAKRIDE_BATCH_WINDOW_MS). */
  batchSeconds: number;
  /** Drivers report their position this often (src/sim/agents/driver.ts). */
  locationEverySeconds: number;
  /** Polling apps read the ride / the offers this often (rider.ts, driver.ts). */
  ridePollSeconds: number;
  offerPollSeconds: number;
  /** Straight-line distance from the matched driver to the pickup, metres (a few minutes' drive in a city). */
  pickupStraightMeters: number;
  /** The rider walks up and gets in (driver.ts: 30 to 90 s). */
  boardingSeconds: number;

  // Kubernetes.
  /** --horizontal-pod-autoscaler-sync-period */
  syncPeriodSeconds: number;
  /** --horizontal-pod-autoscaler-tolerance */
  tolerance: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization */
  downscaleStabilizationSeconds: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period */
  cpuInitializationPeriodSeconds: number;
  /** A pod's metric is the mean over this window (metrics-server's resolution; the gauge's own ~10 s)... */
  metricWindowSeconds: number;
  /** ...as it was this long ago (scrape interval / 2 and the pipeline). */
  metricLagSeconds: number;
  /** Scheduling, image pull (cached on the node) and container start, before the process starts. */
  podStartSeconds: number;
  /** The process's own start to ready (BENCHMARKS.md, "Start-up"). */
  startupSeconds: number;
  /** The pod's CPU request, cores (Utilization targets are a share of it). */
  cpuRequestCores: number;
  /** api pods that fit on one node. */
  podsPerNode: number;
  /** A node the cluster autoscaler asks for is ready after this long. */
  nodeProvisioningSeconds: number;
  /** The cluster autoscaler looks for unschedulable pods this often (--scan-interval). */
  clusterAutoscalerScanSeconds: number;
  /** A node unneeded this long is removed (--scale-down-unneeded-time). */
  nodeScaleDownUnneededSeconds: number;
  /** Nodes no autoscaler may exceed (the node group's maximum). */
  maxNodes: number;
  /**
   * Placeholder pods holding room for api pods (components/overprovisioning): an api pod takes
   * their slot at once, and the cluster autoscaler adds a node for the evicted placeholder.
   */
  sparePods: number;

  // Serverless.
  /** Requests one instance serves at once (1: a function instance per request, as Lambda). */
  serverlessConcurrency: number;
  /** Start of a new instance before it answers (default: the process's measured start-up). */
  coldStartSeconds: number;
  /** New instances per 10 s (Lambda: 1,000 per function per 10 s, refilled continuously). */
  scaleOutPer10Seconds: number;
  /** Instances at most (Lambda's default account concurrency: 1,000). */
  maxInstances: number;
  /** An idle instance is kept warm this long. */
  keepWarmSeconds: number;
}

/** peakride serve on PostgreSQL: 723 ms to ready, 2.21× a bare Fastify server (BENCHMARKS.md, "Start-up"). */
export const BENCHMARKED_STARTUP_SECONDS = 0.723;

export const defaultParameters: ModelParameters = {
  scale: 1,
  clients: 'websocket',
  bookShare: 1,

  shedUtilization: 0.85,
  retryAfterSeconds: 2,
  quoteAttempts: 3,
  bookingAttempts: 3,
  requestTimeoutSeconds: 30,
  searchWindowSeconds: 120,
  batchSeconds: 1.5,
  locationEverySeconds: 4,
  ridePollSeconds: 3,
  offerPollSeconds: 2,
  pickupStraightMeters: 1000,
  boardingSeconds: 60,

  syncPeriodSeconds: 15,
  tolerance: 0.1,
  downscaleStabilizationSeconds: 300,
  cpuInitializationPeriodSeconds: 300,
  metricWindowSeconds: 15,
  metricLagSeconds: 8,
  podStartSeconds: 5,
  startupSeconds: BENCHMARKED_STARTUP_SECONDS,
  cpuRequestCores: 1,
  podsPerNode: 3,
  nodeProvisioningSeconds: 75,
  clusterAutoscalerScanSeconds: 10,
  nodeScaleDownUnneededSeconds: 600,
  maxNodes: 1000,
  sparePods: 0,

  serverlessConcurrency: 1,
  coldStartSeconds: BENCHMARKED_STARTUP_SECONDS,
  scaleOutPer10Seconds: 1000,
  maxInstances: 1000,
  keepWarmSeconds: 300,
};
