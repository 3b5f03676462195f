/**
 * The HorizontalPodAutoscaler (autoscaling/v2) as the Kubernetes controller computes it, second
 * for second: the replica calculator (kubernetes/kubernetes pkg/controller/podautoscaler,
 * replica_calculator.go) and the controller's normalisation (horizontal.go): tolerance, pods
 * set aside or missing metrics, the maximum over metrics, stabilisation windows, scaling
 * policies, min/max replicas. Described in https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/
 * ("Algorithm details", "Configurable scaling behavior"). Pure: time is passed in, in seconds.
 */

export type PolicyType = 'Pods' | 'Percent';
export interface ScalingPolicy {
  type: PolicyType;
  value: number;
  periodSeconds: number;
}
export type SelectPolicy = 'Max' | 'Min' | 'Disabled';
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: SelectPolicy;
  policies: ScalingPolicy[];
  /** Per-direction tolerance (HPAConfigurableTolerance); the controller's default when unset. */
  tolerance?: number;
}
export interface HpaBehavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** The metric sources the model can compute: CPU, and the event-loop utilisation gauge. */
export type MetricSpec =
  | { type: 'Resource'; name: 'cpu'; target: { type: 'Utilization'; averageUtilization: number } }
  | { type: 'Resource'; name: 'cpu'; target: { type: 'AverageValue'; averageValue: number } }
  | { type: 'Pods'; name: string; target: { type: 'AverageValue'; averageValue: number } };

export interface HpaSpec {
  name: string;
  minReplicas: number;
  maxReplicas: number;
  metrics: MetricSpec[];
  /** Absent: the controller's legacy path (what autoscaling/v2 does without `behavior`). */
  behavior?: HpaBehavior;
}

/** kube-controller-manager flags that shape the algorithm, with their defaults. */
export interface ControllerOptions {
  /** --horizontal-pod-autoscaler-tolerance */
  tolerance: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization, seconds */
  downscaleStabilizationSeconds: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period, seconds */
  cpuInitializationPeriodSeconds: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay, seconds */
  initialReadinessDelaySeconds: number;
}

export const defaultControllerOptions: ControllerOptions = {
  tolerance: 0.1,
  downscaleStabilizationSeconds: 300,
  cpuInitializationPeriodSeconds: 300,
  initialReadinessDelaySeconds: 30,
};

/** The defaults autoscaling/v2 fills in for a direction `behavior` leaves out (pkg/apis/autoscaling/v2/defaults.go). */
export const defaultScaleUp = (): ScalingRules => ({
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
});
/** Scale-down's window defaults to the controller's flag, so it is filled in by the caller. */
export const defaultScaleDown = (stabilizationWindowSeconds: number): ScalingRules => ({
  stabilizationWindowSeconds,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
});

// ---------------------------------------------------------------------------------------------
// The replica calculator: one metric, the pods as the controller sees them.

/** A pod of the scale target at the moment of a sync. */
export interface PodView {
  /** Pending (not scheduled, or its containers not started yet): always set aside. */
  pending: boolean;
  ready: boolean;
  /** The pod's metric value (cores for CPU, the raw value for a Pods metric); undefined when missing. */
  value?: number;
  /**
   * CPU only: the controller sets this pod aside as not yet ready (unready, or its newest sample
   * covers time before it became ready, within the CPU initialisation period).
   */
  cpuNotYetReady?: boolean;
  /** CPU request of the pod, cores (Utilization targets). */
  requestCores?: number;
}

export interface Tolerances {
  up: number;
  down: number;
}
const within = (ratio: number, { up, down }: Tolerances) => ratio >= 1 - down && ratio <= 1 + up;

/** What the calculator proposes for one metric; `undefined` replicas: no metrics to compute from. */
export interface MetricProposal {
  replicas: number | undefined;
  /** The metric as reported in the HPA's status: the plain average, before any set-aside pods. */
  value: number | undefined;
}

/**
 * desiredReplicas = ceil(currentReplicas × currentMetric / target), with the controller's
 * handling of pods it sets aside: pending pods, and for CPU pods not yet ready, are left out;
 * pods with no metric yet count as 100% of the target on a scale-down and 0% on a scale-up;
 * not-yet-ready pods count as 0% on a scale-up; if that reverses the direction or falls within
 * the tolerance, nothing changes (replica_calculator.go, GetResourceReplicas and
 * calcPlainMetricReplicas).
 */
export const replicasForMetric = (
  metric: MetricSpec,
  currentReplicas: number,
  pods: readonly PodView[],
  tolerances: Tolerances,
): MetricProposal => {
  const isCpu = metric.type === 'Resource';
  const utilization = metric.target.type === 'Utilization';
  let readyCount = 0;
  const measured: PodView[] = [];
  const ignored: PodView[] = [];
  const missing: PodView[] = [];
  for (const pod of pods) {
    if (pod.pending) {
      ignored.push(pod);
      continue;
    }
    if (pod.value === undefined) {
      missing.push(pod);
      continue;
    }
    if (isCpu && pod.cpuNotYetReady) {
      ignored.push(pod);
      continue;
    }
    readyCount++;
    measured.push(pod);
  }
  if (measured.length === 0) return { replicas: undefined, value: undefined };

  // As the controller computes it, in integer milli-units: a utilisation target compares the
  // whole percent sum(usage) × 100 / sum(requests) (GetResourceUtilizationRatio), any other target
  // the truncated mean of the values (GetMetricUsageRatio).
  const milli = (value: number) => Math.round(value * 1000);
  const ratioOf = (values: ReadonlyArray<{ value: number; request: number }>) => {
    const used = values.reduce((sum, v) => sum + milli(v.value), 0);
    if (utilization) {
      const requested = values.reduce((sum, v) => sum + milli(v.request), 0);
      const percent = Math.trunc((used * 100) / requested);
      return percent / (metric.target as { averageUtilization: number }).averageUtilization;
    }
    return Math.trunc(used / values.length) / milli((metric.target as { averageValue: number }).averageValue);
  };
  const request = (pod: PodView) => pod.requestCores ?? 1;
  const samples = measured.map((pod) => ({ value: pod.value as number, request: request(pod) }));
  const usageRatio = ratioOf(samples);
  const reported = utilization
    ? Math.trunc(
        (samples.reduce((s, v) => s + milli(v.value), 0) * 100) /
          samples.reduce((s, v) => s + milli(v.request), 0),
      )
    : Math.trunc(samples.reduce((s, v) => s + milli(v.value), 0) / samples.length) / 1000;

  const rebalanceIgnored = ignored.length > 0 && usageRatio > 1;
  if (!rebalanceIgnored && missing.length === 0) {
    if (within(usageRatio, tolerances)) return { replicas: currentReplicas, value: reported };
    return { replicas: Math.ceil(usageRatio * readyCount), value: reported };
  }

  // 100% of the target (of the request, for utilisation) on a scale-down, 0% on a scale-up.
  const full = (pod: PodView) =>
    utilization ? request(pod) : (metric.target as { averageValue: number }).averageValue;
  if (missing.length > 0) {
    if (usageRatio < 1) for (const pod of missing) samples.push({ value: full(pod), request: request(pod) });
    // At exactly 1 the resource calculator leaves missing pods out, the plain-metric one counts them at 0.
    else if (usageRatio > 1 || !isCpu)
      for (const pod of missing) samples.push({ value: 0, request: request(pod) });
  }
  if (rebalanceIgnored) for (const pod of ignored) samples.push({ value: 0, request: request(pod) });

  const newUsageRatio = ratioOf(samples);
  if (
    within(newUsageRatio, tolerances) ||
    (usageRatio < 1 && newUsageRatio > 1) ||
    (usageRatio > 1 && newUsageRatio < 1)
  )
    return { replicas: currentReplicas, value: reported };
  const newReplicas = Math.ceil(newUsageRatio * samples.length);
  // A change in the number of pods counted must not reverse the direction either.
  if (
    (newUsageRatio < 1 && newReplicas > currentReplicas) ||
    (newUsageRatio > 1 && newReplicas < currentReplicas)
  )
    return { replicas: currentReplicas, value: reported };
  return { replicas: newReplicas, value: reported };
};

// ---------------------------------------------------------------------------------------------
// The controller: the maximum over metrics, then stabilisation and rate limits.

/** Why the replica count is what it is after a sync, as the HPA's conditions would say. */
export type ScaleReason =
  | 'DesiredWithinRange'
  | 'ScaleUpLimit'
  | 'ScaleDownLimit'
  | 'TooManyReplicas'
  | 'TooFewReplicas'
  | 'ScaleUpStabilized'
  | 'ScaleDownStabilized'
  | 'BelowMinReplicas'
  | 'AboveMaxReplicas'
  | 'MetricsUnavailable';

export interface SyncResult {
  /** The Deployment's new replica count (unchanged when the controller does not scale). */
  replicas: number;
  /** The maximum over metrics before stabilisation and limits; undefined when no metric could be computed. */
  proposed: number | undefined;
  reason: ScaleReason;
  /** Each metric's value as the HPA's status reports it (utilisation in %, else the raw value). */
  metricValues: Array<number | undefined>;
}

interface Timestamped {
  at: number;
  value: number;
}

/**
 * One HPA's controller state: past recommendations (for the stabilisation windows) and scale
 * events (for the policies' periods). `sync` is one pass of the control loop, normally every
 * 15 s (--horizontal-pod-autoscaler-sync-period).
 */
export const createHpaController = (spec: HpaSpec, options: Partial<ControllerOptions> = {}) => {
  const flags = { ...defaultControllerOptions, ...options };
  const behavior = spec.behavior;
  const recommendations: Timestamped[] = [];
  const scaleUpEvents: Timestamped[] = [];
  const scaleDownEvents: Timestamped[] = [];

  const tolerances: Tolerances = {
    up: behavior?.scaleUp.tolerance ?? flags.tolerance,
    down: behavior?.scaleDown.tolerance ?? flags.tolerance,
  };

  /** Replicas added (or removed) by events strictly inside the last `period` seconds. */
  const changeInPeriod = (events: readonly Timestamped[], period: number, now: number) =>
    events.reduce((sum, event) => (event.at > now - period ? sum + event.value : sum), 0);

  const scaleUpLimit = (current: number, now: number, rules: ScalingRules): number => {
    if (rules.selectPolicy === 'Disabled') return current;
    // For scaling up the lowest change ('Min') gives the smallest limit.
    const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
    let result: number | undefined;
    for (const policy of rules.policies) {
      const periodStart = current - changeInPeriod(scaleUpEvents, policy.periodSeconds, now);
      const proposed =
        policy.type === 'Pods'
          ? periodStart + policy.value
          : Math.ceil(periodStart * (1 + policy.value / 100));
      result = result === undefined ? proposed : pick(result, proposed);
    }
    return result ?? current;
  };

  const scaleDownLimit = (current: number, now: number, rules: ScalingRules): number => {
    if (rules.selectPolicy === 'Disabled') return current;
    // For scaling down the lowest change ('Min') gives the highest limit.
    const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
    let result: number | undefined;
    for (const policy of rules.policies) {
      const periodStart = current + changeInPeriod(scaleDownEvents, policy.periodSeconds, now);
      const proposed =
        policy.type === 'Pods'
          ? periodStart - policy.value
          : Math.trunc(periodStart * (1 - policy.value / 100));
      result = result === undefined ? proposed : pick(result, proposed);
    }
    return result ?? current;
  };

  const keepRecommendationsSince = (cutoff: number) => {
    while (recommendations.length > 0 && recommendations[0]!.at < cutoff) recommendations.shift();
  };

  /** With `behavior`: stabilise (lowest in the up window, highest in the down window), then rate-limit. */
  const normalizeWithBehavior = (
    b: HpaBehavior,
    current: number,
    desired: number,
    now: number,
  ): { replicas: number; reason: ScaleReason } => {
    const up = desired >= current;
    const window = up ? b.scaleUp.stabilizationWindowSeconds : b.scaleDown.stabilizationWindowSeconds;
    let stabilized = desired;
    for (const rec of recommendations) {
      if (rec.at > now - window)
        stabilized = up ? Math.min(stabilized, rec.value) : Math.max(stabilized, rec.value);
    }
    keepRecommendationsSince(
      now - Math.max(b.scaleUp.stabilizationWindowSeconds, b.scaleDown.stabilizationWindowSeconds),
    );
    recommendations.push({ at: now, value: desired });
    const reason: ScaleReason =
      stabilized !== desired ? (up ? 'ScaleUpStabilized' : 'ScaleDownStabilized') : 'DesiredWithinRange';

    if (stabilized > current) {
      const limit = Math.max(scaleUpLimit(current, now, b.scaleUp), current);
      const allowed = Math.min(spec.maxReplicas, limit);
      if (stabilized > allowed)
        return { replicas: allowed, reason: spec.maxReplicas > limit ? 'ScaleUpLimit' : 'TooManyReplicas' };
    } else if (stabilized < current) {
      const limit = Math.min(scaleDownLimit(current, now, b.scaleDown), current);
      const allowed = Math.max(spec.minReplicas, limit);
      if (stabilized < allowed)
        return { replicas: allowed, reason: spec.minReplicas < limit ? 'ScaleDownLimit' : 'TooFewReplicas' };
    }
    return { replicas: stabilized, reason };
  };

  /** Without `behavior`: the highest recommendation of the downscale window, then at most max(2×, 4) up. */
  const normalizeLegacy = (current: number, desired: number, now: number) => {
    const cutoff = now - flags.downscaleStabilizationSeconds;
    keepRecommendationsSince(cutoff);
    let stabilized = desired;
    for (const rec of recommendations) stabilized = Math.max(stabilized, rec.value);
    recommendations.push({ at: now, value: desired });
    const upLimit = Math.max(2 * current, 4);
    const maxAllowed = Math.min(spec.maxReplicas, upLimit);
    if (stabilized < spec.minReplicas)
      return { replicas: spec.minReplicas, reason: 'TooFewReplicas' as const };
    if (stabilized > maxAllowed)
      return {
        replicas: maxAllowed,
        reason: spec.maxReplicas > upLimit ? ('ScaleUpLimit' as const) : ('TooManyReplicas' as const),
      };
    return {
      replicas: stabilized,
      reason: stabilized !== desired ? ('ScaleDownStabilized' as const) : ('DesiredWithinRange' as const),
    };
  };

  const storeScaleEvent = (previous: number, next: number, now: number) => {
    if (!behavior) return;
    const longest = (rules: ScalingRules) => Math.max(0, ...rules.policies.map((p) => p.periodSeconds));
    if (next > previous) {
      const period = longest(behavior.scaleUp);
      while (scaleUpEvents.length > 0 && scaleUpEvents[0]!.at <= now - period) scaleUpEvents.shift();
      scaleUpEvents.push({ at: now, value: next - previous });
    } else {
      const period = longest(behavior.scaleDown);
      while (scaleDownEvents.length > 0 && scaleDownEvents[0]!.at <= now - period) scaleDownEvents.shift();
      scaleDownEvents.push({ at: now, value: previous - next });
    }
  };

  return {
    spec,
    /**
     * One pass of the control loop at `now` (seconds): `currentReplicas` is the Deployment's
     * replica count, `pods` the pods its selector finds (terminating ones left out), with each
     * pod's value of the metric (a function when the metrics differ).
     */
    sync(
      now: number,
      currentReplicas: number,
      pods: readonly PodView[] | ((metric: MetricSpec) => readonly PodView[]),
    ): SyncResult {
      // The first pass records the current scale as a recommendation (recordInitialRecommendation).
      if (recommendations.length === 0) recommendations.push({ at: now, value: currentReplicas });
      const metricValues: Array<number | undefined> = [];
      let result: { replicas: number; reason: ScaleReason };
      let proposed: number | undefined;
      if (currentReplicas > spec.maxReplicas) {
        result = { replicas: spec.maxReplicas, reason: 'AboveMaxReplicas' };
      } else if (currentReplicas < spec.minReplicas) {
        result = { replicas: spec.minReplicas, reason: 'BelowMinReplicas' };
      } else {
        // The largest proposal over the metrics; a metric that cannot be computed blocks a
        // scale-down but not a scale-up (computeReplicasForMetrics).
        let invalid = 0;
        let best = 0;
        for (const metric of spec.metrics) {
          const views = typeof pods === 'function' ? pods(metric) : pods;
          const proposal = replicasForMetric(metric, currentReplicas, views, tolerances);
          metricValues.push(proposal.value);
          if (proposal.replicas === undefined) invalid++;
          else best = Math.max(best, proposal.replicas);
        }
        if (invalid >= spec.metrics.length || (invalid > 0 && best < currentReplicas)) {
          return {
            replicas: currentReplicas,
            proposed: undefined,
            reason: 'MetricsUnavailable',
            metricValues,
          };
        }
        proposed = best;
        result = behavior
          ? normalizeWithBehavior(behavior, currentReplicas, best, now)
          : normalizeLegacy(currentReplicas, best, now);
      }
      if (result.replicas !== currentReplicas) storeScaleEvent(currentReplicas, result.replicas, now);
      return { replicas: result.replicas, proposed, reason: result.reason, metricValues };
    },
  };
};

export type HpaController = ReturnType<typeof createHpaController>;
