import {
  CLASS_COUNT,
  type ClassRates,
  classIndex,
  criticalIndexes,
  measuredClasses,
  ratesOf,
  sheddableIndexes,
} from './classes.js';
import type { Costs } from './costs.js';
import { createDemand, type DemandInput, type RideTotals } from './demand.js';
import { createHpaController, type HpaSpec, type PodView, type ScaleReason } from './hpa.js';
import type { ModelParameters } from './parameters.js';
import type { PodCapacity } from './pod-capacity.js';
import { judge, type SloPlan, type SloResult, slisOf } from './slo.js';

/**
 * The scenario replayed second by second on Kubernetes: api pods behind a Service, scaled by the
 * HPA (hpa.ts) every sync period from the metrics the pods had a little earlier, on nodes the
 * cluster autoscaler adds when pods cannot be scheduled.
 *
 * - A new pod waits for a node slot, then `podStartSeconds` (scheduling, image pull, container
 *   start), then the process's start-up, before it is Ready and gets traffic.
 * - Ready pods share the load evenly. A pod's event-loop utilisation is its requests' measured
 *   cost plus its idle cost plus the location updates of the other pods it applies to its supply
 *   replica. Over `shedUtilization` the sheddable classes (quotes, ride reads) are refused as much
 *   as it takes to come back to it (the steady state of the platform's AIMD shedding); a refusal
 *   costs the anchor's cost. Critical work beyond the whole pod queues (a backlog every request
 *   waits behind); a request that would wait past the client's timeout fails.
 * - The HPA sees, per pod, the mean of the pod's utilisation (or CPU) over the metric window as it
 *   was `metricLagSeconds` ago; a pod started too recently has no metric yet, and for CPU a pod not
 *   ready, or ready for less than a window, is set aside — as the controller does.
 * - The cluster autoscaler looks every scan interval for pods that fit nowhere and asks for as many
 *   nodes as they need; nodes unneeded for 10 minutes go (pods are assumed to consolidate).
 *   Overprovisioning placeholders (`sparePods`) hold slots an api pod takes at once; the
 *   autoscaler then adds nodes for the evicted placeholders.
 */

export interface ClusterPoint {
  /** Seconds from the scenario's start, at the start of the period. */
  t: number;
  /** Requests per second offered, mean over the period. */
  demand: ClassRates;
  /** The Deployment's replica count at the end of the period (what the HPA asked for). */
  replicas: number;
  /** Ready pods, mean over the period. */
  ready: number;
  /** Pods not ready yet at the end of the period (waiting for a node, starting). */
  starting: number;
  nodes: number;
  /** Event-loop utilisation of a ready pod, mean over the period. */
  utilization: number;
  /** CPU cores of a ready pod, mean over the period. */
  cpu: number;
  /** Share of the sheddable requests refused over the period. */
  shedShare: number;
  /** Requests failed per second (no ready pod, or timed out), mean over the period. */
  failed: number;
  /** Estimated p99 latency of each measured class at the period's worst second, ms. */
  p99Ms: Record<(typeof measuredClasses)[number], number>;
  /** Why the replica count is what it is after the period's sync. */
  reason?: ScaleReason;
}

export interface ClusterRun {
  slo: SloResult[];
  series: ClusterPoint[];
  totals: {
    requests: number;
    shed: number;
    failed: number;
    /** Seconds of pod time on nodes (scheduled pods), the HPA's cost. */
    replicaSeconds: number;
    nodeSeconds: number;
    peakReplicas: number;
    peakNodes: number;
    /** The worst p99 of each measured class over the run, ms. */
    worstP99Ms: Record<(typeof measuredClasses)[number], number>;
    /** Seconds during which the critical load alone exceeded the ready pods. */
    saturatedSeconds: number;
    rides: RideTotals;
  };
}

interface Pod {
  createdAt: number;
  /** Given a node slot; undefined while unschedulable. */
  scheduledAt?: number;
  runningAt?: number;
  readyAt?: number;
}

export interface ClusterOptions {
  /** Keep a point per sync period (the search leaves it off). */
  series?: boolean;
}

/** Per-second history of a ready pod's utilisation and CPU, for the HPA's windowed metrics. */
const HISTORY = 4096;

export const runCluster = (
  input: DemandInput,
  parameters: ModelParameters,
  hpa: HpaSpec,
  capacity: PodCapacity,
  costs: Costs,
  plans: readonly SloPlan[],
  options: ClusterOptions = {},
): ClusterRun => {
  const p = parameters;
  const demand = createDemand(input, p);
  const duration = demand.duration;
  const controller = createHpaController(hpa, {
    tolerance: p.tolerance,
    downscaleStabilizationSeconds: p.downscaleStabilizationSeconds,
    cpuInitializationPeriodSeconds: p.cpuInitializationPeriodSeconds,
  });
  const timeoutSeconds = p.requestTimeoutSeconds;
  const { utilization: eluCost, cpu: cpuCost } = costs;
  const LOCATION = classIndex.location;
  const sli = slisOf(plans, costs);

  // The warm start: the cluster has been running at the scenario's first load, sized as the HPA
  // would size it, with the nodes its pods need.
  const rates = demand.offered(0, new Float64Array(CLASS_COUNT));
  const work = (of: Float64Array) => rates.reduce((sum, rate, index) => sum + rate * of[index]!, 0);
  const initialLoad = (replicas: number) => {
    const apply = capacity.replicaApplyUtilizationPerUpdate * rates[LOCATION]! * ((replicas - 1) / replicas);
    return {
      elu: work(eluCost) / replicas + capacity.idleUtilization + apply,
      cpu: work(cpuCost) / replicas + capacity.idleCpu + apply * costs.applyCpuRatio,
    };
  };
  let initial = hpa.minReplicas;
  for (; initial < hpa.maxReplicas; initial++) {
    const load = initialLoad(initial);
    const fits = hpa.metrics.every((metric) =>
      metric.type === 'Pods'
        ? load.elu <= metric.target.averageValue
        : metric.target.type === 'Utilization'
          ? load.cpu / p.cpuRequestCores <= metric.target.averageUtilization / 100
          : load.cpu <= metric.target.averageValue,
    );
    if (fits) break;
  }
  const pods: Pod[] = Array.from({ length: initial }, () => ({
    createdAt: -3600,
    scheduledAt: -3600,
    runningAt: -3600,
    readyAt: -3600,
  }));
  const spare = Math.max(0, Math.round(p.sparePods));
  let readyNodes = Math.min(p.maxNodes, Math.ceil((initial + spare) / p.podsPerNode));
  const provisioning: number[] = [];
  let unneededSince: number | undefined;
  const eluHistory = new Float64Array(HISTORY).fill(initialLoad(initial).elu);
  const cpuHistory = new Float64Array(HISTORY).fill(initialLoad(initial).cpu);

  let backlog = 0;
  const totals = {
    requests: 0,
    shed: 0,
    failed: 0,
    replicaSeconds: 0,
    nodeSeconds: 0,
    peakReplicas: initial,
    peakNodes: readyNodes,
    worstP99Ms: { quote: 0, booking: 0, location: 0, read: 0 },
    saturatedSeconds: 0,
  };
  const series: ClusterPoint[] = [];
  const period = Math.max(1, Math.round(p.syncPeriodSeconds));
  const scan = Math.max(1, Math.round(p.clusterAutoscalerScanSeconds));
  let bucket = newBucket(0);
  let lastReason: ScaleReason | undefined;

  for (let t = 0; t < duration; t++) {
    if (t > 0) demand.offered(t, rates);

    // Nodes and pods move on.
    while (provisioning.length > 0 && provisioning[0]! <= t) {
      provisioning.shift();
      readyNodes++;
    }
    let scheduled = 0;
    let ready = 0;
    for (const pod of pods) {
      if (pod.scheduledAt !== undefined) scheduled++;
      if (pod.readyAt !== undefined && pod.readyAt <= t) ready++;
    }
    let free = readyNodes * p.podsPerNode - scheduled;
    let unschedulable = 0;
    if (scheduled < pods.length) {
      for (const pod of pods) {
        if (pod.scheduledAt !== undefined) continue;
        if (free > 0) {
          free--;
          scheduled++;
          pod.scheduledAt = t;
          pod.runningAt = t + p.podStartSeconds;
          pod.readyAt = pod.runningAt + p.startupSeconds;
        } else unschedulable++;
      }
    }
    if (t % scan === 0) {
      // Placeholders an api pod evicted wait for room too.
      const placeholdersWaiting = Math.max(0, spare - Math.max(0, free));
      const short = unschedulable + placeholdersWaiting - provisioning.length * p.podsPerNode;
      const room = p.maxNodes - readyNodes - provisioning.length;
      if (short > 0 && room > 0) {
        const add = Math.min(room, Math.ceil(short / p.podsPerNode));
        for (let i = 0; i < add; i++) provisioning.push(t + p.nodeProvisioningSeconds);
      }
      const needed = Math.ceil((pods.length + spare) / p.podsPerNode);
      if (readyNodes > needed && provisioning.length === 0) {
        unneededSince ??= t;
        if (t - unneededSince >= p.nodeScaleDownUnneededSeconds) {
          readyNodes = needed;
          unneededSince = undefined;
        }
      } else unneededSince = undefined;
    }

    // The load on a ready pod.
    let requests = 0;
    for (let i = 0; i < CLASS_COUNT; i++) requests += rates[i]!;
    let sheddableRequests = 0;
    for (const i of sheddableIndexes) sheddableRequests += rates[i]!;
    let elu = 0;
    let cpu = 0;
    let shedShare = 0;
    let failedShare = 0;
    let rho = 0;
    if (ready === 0) {
      failedShare = 1;
      backlog = 0;
    } else {
      const apply = capacity.replicaApplyUtilizationPerUpdate * rates[LOCATION]! * ((ready - 1) / ready);
      let criticalElu = 0;
      let criticalCpu = 0;
      for (const i of criticalIndexes) {
        criticalElu += rates[i]! * eluCost[i]!;
        criticalCpu += rates[i]! * cpuCost[i]!;
      }
      criticalElu = criticalElu / ready + capacity.idleUtilization + apply;
      criticalCpu = criticalCpu / ready + capacity.idleCpu + apply * costs.applyCpuRatio;
      let sheddableElu = 0;
      let sheddableCpu = 0;
      for (const i of sheddableIndexes) {
        sheddableElu += rates[i]! * eluCost[i]!;
        sheddableCpu += rates[i]! * cpuCost[i]!;
      }
      sheddableElu /= ready;
      sheddableCpu /= ready;
      let admitted = 1;
      if (criticalElu + sheddableElu > p.shedUtilization && sheddableElu > 0)
        admitted = Math.min(1, Math.max(0, (p.shedUtilization - criticalElu) / sheddableElu));
      shedShare = 1 - admitted;
      const refusals = (shedShare * sheddableRequests * capacity.refusalUtilizationPerRequest) / ready;
      const offeredElu = criticalElu + admitted * sheddableElu + refusals;
      const offeredCpu = criticalCpu + admitted * sheddableCpu + refusals;
      // Work beyond the whole loop waits; the backlog drains when the load falls.
      backlog = Math.min(timeoutSeconds, Math.max(0, backlog + offeredElu - 1));
      if (offeredElu >= 1 || backlog > 0) totals.saturatedSeconds++;
      elu = Math.min(1, offeredElu);
      cpu = offeredElu > 1 ? offeredCpu / offeredElu : offeredCpu;
      rho = offeredElu;
      if (backlog >= timeoutSeconds) failedShare = 1;
    }
    eluHistory[t % HISTORY] = elu;
    cpuHistory[t % HISTORY] = cpu;

    // What the requests got, for the SLOs and the report.
    const backlogMs = backlog * 1000;
    for (const item of sli) {
      for (const i of item.classes) {
        const amount = rates[i]!;
        if (amount <= 0) continue;
        const refused = item.sheddable[i] ? shedShare : 0;
        if (item.kind === 'availability') {
          item.counter.events += amount;
          item.counter.bad += amount * Math.min(1, failedShare + (1 - failedShare) * refused);
        } else {
          // Shed answers have no latency sample; failed ones count as slow.
          const timed = amount * (1 - refused * (1 - failedShare));
          item.counter.events += timed;
          item.counter.bad +=
            failedShare >= 1 ? timed : timed * item.latency[i]!.exceedance(rho, backlogMs, item.thresholdMs);
        }
      }
    }
    const shedRequests = sheddableRequests * shedShare * (1 - failedShare);
    totals.requests += requests;
    totals.shed += shedRequests;
    totals.failed += requests * failedShare;

    demand.settle(t, {
      quoteRefused: Math.min(1, failedShare + (1 - failedShare) * shedShare),
      bookingFailed: failedShare,
    });

    totals.replicaSeconds += scheduled;
    totals.nodeSeconds += readyNodes + provisioning.length;
    totals.peakNodes = Math.max(totals.peakNodes, readyNodes + provisioning.length);

    // The report's view of the period.
    bucket.seconds++;
    for (let i = 0; i < CLASS_COUNT; i++) bucket.demand[i]! += rates[i]!;
    bucket.ready += ready;
    bucket.utilization += elu;
    bucket.cpu += cpu;
    bucket.sheddable += sheddableRequests;
    bucket.shed += shedRequests;
    bucket.failed += requests * failedShare;
    if (ready > 0) {
      bucket.worstRho = Math.max(bucket.worstRho, rho);
      bucket.worstBacklogMs = Math.max(bucket.worstBacklogMs, backlogMs);
    }
    if (ready === 0 || failedShare >= 1) bucket.down = true;

    // The HPA's sync.
    if ((t + 1) % period === 0) {
      const now = t + 1;
      const views = pods.map((pod) => podViews(pod, now, p, eluHistory, cpuHistory, capacity));
      const cpuViews = views.map((view) => view.cpu);
      const eluViews = views.map((view) => view.elu);
      const result = controller.sync(now, pods.length, (metric) =>
        metric.type === 'Resource' ? cpuViews : eluViews,
      );
      lastReason = result.reason;
      resize(pods, result.replicas, now);
      totals.peakReplicas = Math.max(totals.peakReplicas, pods.length);
    }
    if ((t + 1) % period === 0 || t === duration - 1) {
      const point = closeBucket(bucket, pods, readyNodes + provisioning.length, costs, lastReason);
      for (const kind of measuredClasses)
        totals.worstP99Ms[kind] = Math.max(totals.worstP99Ms[kind], point.p99Ms[kind]);
      if (options.series) series.push(point);
      bucket = newBucket(t + 1);
    }
  }

  return {
    slo: plans.map((plan, index) => judge(plan, sli.find((item) => item.index === index)?.counter)),
    series,
    totals: { ...totals, rides: demand.totals() },
  };
};

/** What the HPA sees of one pod at `now`, for a CPU metric and for the event-loop gauge. */
const podViews = (
  pod: Pod,
  now: number,
  p: ModelParameters,
  eluHistory: Float64Array,
  cpuHistory: Float64Array,
  capacity: PodCapacity,
): { cpu: PodView; elu: PodView } => {
  const running = pod.runningAt !== undefined && pod.runningAt <= now;
  const ready = pod.readyAt !== undefined && pod.readyAt <= now;
  const requestCores = p.cpuRequestCores;
  if (!running) {
    const pending: PodView = { pending: true, ready: false, requestCores };
    return { cpu: pending, elu: pending };
  }
  const sampledAt = now - p.metricLagSeconds;
  const runningAt = pod.runningAt as number;
  const readyAt = pod.readyAt as number;
  if (sampledAt - runningAt < 1) {
    // Running, not scraped yet: a missing metric.
    const missing: PodView = { pending: false, ready, requestCores };
    return { cpu: { ...missing, cpuNotYetReady: !ready }, elu: missing };
  }
  const from = Math.max(runningAt, sampledAt - p.metricWindowSeconds);
  let eluSum = 0;
  let cpuSum = 0;
  let count = 0;
  for (let s = Math.floor(from); s < Math.floor(sampledAt); s++) {
    // Before it is ready a pod gets no traffic: it idles.
    const inService = s >= readyAt;
    const index = ((s % HISTORY) + HISTORY) % HISTORY;
    eluSum += inService ? eluHistory[index]! : capacity.idleUtilization;
    cpuSum += inService ? cpuHistory[index]! : capacity.idleCpu;
    count++;
  }
  // For CPU, the controller sets aside a pod not ready, or whose sample began before it was
  // ready, while within the initialisation period; after it, only a pod never ready.
  const withinInitialization = now < runningAt + p.cpuInitializationPeriodSeconds;
  const cpuNotYetReady = withinInitialization
    ? !ready || sampledAt < readyAt + p.metricWindowSeconds
    : !ready;
  return {
    cpu: { pending: false, ready, value: count > 0 ? cpuSum / count : 0, cpuNotYetReady, requestCores },
    elu: { pending: false, ready, value: count > 0 ? eluSum / count : 0, requestCores },
  };
};

/** The ReplicaSet adds pods, or removes the least useful first: unscheduled, then starting, then the newest. */
const resize = (pods: Pod[], replicas: number, now: number) => {
  while (pods.length < replicas) pods.push({ createdAt: now });
  if (pods.length <= replicas) return;
  const rank = (pod: Pod) =>
    pod.scheduledAt === undefined ? 0 : pod.readyAt === undefined || pod.readyAt > now ? 1 : 2;
  pods.sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
  pods.splice(0, pods.length - replicas);
};

interface Bucket {
  t: number;
  seconds: number;
  demand: Float64Array;
  ready: number;
  utilization: number;
  cpu: number;
  sheddable: number;
  shed: number;
  failed: number;
  worstRho: number;
  worstBacklogMs: number;
  down: boolean;
}

const newBucket = (t: number): Bucket => ({
  t,
  seconds: 0,
  demand: new Float64Array(CLASS_COUNT),
  ready: 0,
  utilization: 0,
  cpu: 0,
  sheddable: 0,
  shed: 0,
  failed: 0,
  worstRho: 0,
  worstBacklogMs: 0,
  down: false,
});

const closeBucket = (
  bucket: Bucket,
  pods: readonly Pod[],
  nodes: number,
  costs: Costs,
  reason: ScaleReason | undefined,
): ClusterPoint => {
  const n = Math.max(1, bucket.seconds);
  const end = bucket.t + bucket.seconds;
  const p99 = (kind: (typeof measuredClasses)[number]) =>
    bucket.down ? Number.POSITIVE_INFINITY : costs.latency[kind].p99(bucket.worstRho, bucket.worstBacklogMs);
  return {
    t: bucket.t,
    demand: ratesOf(bucket.demand, 1 / n),
    replicas: pods.length,
    ready: bucket.ready / n,
    starting: pods.filter((pod) => pod.readyAt === undefined || pod.readyAt > end).length,
    nodes,
    utilization: bucket.utilization / n,
    cpu: bucket.cpu / n,
    shedShare: bucket.sheddable > 0 ? bucket.shed / bucket.sheddable : 0,
    failed: bucket.failed / n,
    p99Ms: { quote: p99('quote'), booking: p99('booking'), location: p99('location'), read: p99('read') },
    ...(reason ? { reason } : {}),
  };
};
