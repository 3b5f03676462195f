import { type ClusterRun, runCluster } from './cluster.js';
import type { Costs } from './costs.js';
import type { DemandInput } from './demand.js';
import { defaultScaleDown, defaultScaleUp, type HpaSpec, type MetricSpec, type ScalingRules } from './hpa.js';
import type { ModelParameters } from './parameters.js';
import type { PodCapacity } from './pod-capacity.js';
import { allMet, type SloPlan } from './slo.js';

/**
 * The cheapest HPA setting that meets every modelled SLO on the scenario: over target
 * utilisations and scale-up policies, the fewest minReplicas (at least 2) that pass, found by
 * bisection (more replicas never hurt an SLO here), then the setting with the fewest
 * replica-seconds. When no setting passes within the manifest's maxReplicas, the ceiling itself
 * is searched: doubled until some setting passes (up to what the node group holds), then the
 * lowest ceiling that still passes, found by bisection — a peak larger than the ceiling is what
 * turns riders away while every pod is busy.
 */

export interface ScaleUpChoice {
  name: string;
  rules: ScalingRules;
}

export interface Candidate {
  /** Event-loop utilisation (or CPU share of the request) every metric targets. */
  targetUtilization: number;
  minReplicas: number;
  /** The ceiling: the manifest's, or the lowest that passes when the manifest's cannot. */
  maxReplicas: number;
  scaleUp: ScaleUpChoice;
}

export interface Recommendation {
  /** Whether some setting meets every modelled SLO. */
  found: boolean;
  candidate?: Candidate;
  spec?: HpaSpec;
  replicaSeconds?: number;
  nodeSeconds?: number;
  peakReplicas?: number;
  /** Settings replayed. */
  evaluated: number;
  /** The manifest's maxReplicas, and the highest ceiling the search may try (nodes × pods per node). */
  manifestMaxReplicas: number;
  maxReplicasLimit: number;
  targets: number[];
  scaleUps: string[];
}

export const searchTargets = [0.4, 0.5, 0.6, 0.7, 0.8];
export const MIN_REPLICAS_FLOOR = 2;

/** The scale-up policies tried: the manifest's, Kubernetes' default, and a faster one for flash peaks. */
export const scaleUpChoices = (spec: HpaSpec): ScaleUpChoice[] => {
  const kubernetes = defaultScaleUp();
  const burst: ScalingRules = {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 10, periodSeconds: 15 },
      { type: 'Percent', value: 200, periodSeconds: 15 },
    ],
  };
  const choices: ScaleUpChoice[] = [];
  if (spec.behavior) choices.push({ name: 'as in the manifest', rules: spec.behavior.scaleUp });
  const same = (a: ScalingRules, b: ScalingRules) => JSON.stringify(a) === JSON.stringify(b);
  if (!choices.some((choice) => same(choice.rules, kubernetes)))
    choices.push({ name: 'Kubernetes default: 4 pods or 100% per 15 s', rules: kubernetes });
  if (!choices.some((choice) => same(choice.rules, burst)))
    choices.push({ name: 'burst: 10 pods or 200% per 15 s', rules: burst });
  return choices;
};

/** The manifest's own target, as a utilisation (its first metric). */
export const manifestTarget = (spec: HpaSpec, parameters: ModelParameters): number => {
  const metric = spec.metrics[0];
  if (!metric) return 0.6;
  if (metric.type === 'Pods') return metric.target.averageValue;
  return metric.target.type === 'Utilization'
    ? metric.target.averageUtilization / 100
    : metric.target.averageValue / parameters.cpuRequestCores;
};

/** The manifest with the candidate's target, minReplicas and scale-up policy. */
export const applyCandidate = (spec: HpaSpec, candidate: Candidate, parameters: ModelParameters): HpaSpec => {
  const metrics = spec.metrics.map((metric): MetricSpec => {
    if (metric.type === 'Pods')
      return { ...metric, target: { type: 'AverageValue', averageValue: candidate.targetUtilization } };
    if (metric.target.type === 'Utilization')
      return {
        ...metric,
        target: { type: 'Utilization', averageUtilization: Math.round(candidate.targetUtilization * 100) },
      };
    return {
      ...metric,
      target: {
        type: 'AverageValue',
        averageValue: candidate.targetUtilization * parameters.cpuRequestCores,
      },
    };
  });
  return {
    ...spec,
    minReplicas: Math.min(candidate.minReplicas, candidate.maxReplicas),
    maxReplicas: candidate.maxReplicas,
    metrics,
    behavior: {
      scaleUp: candidate.scaleUp.rules,
      scaleDown: spec.behavior?.scaleDown ?? defaultScaleDown(parameters.downscaleStabilizationSeconds),
    },
  };
};

type Best = { candidate: Candidate; spec: HpaSpec; run: ClusterRun };

export const recommend = (
  input: DemandInput,
  parameters: ModelParameters,
  spec: HpaSpec,
  capacity: PodCapacity,
  costs: Costs,
  plans: readonly SloPlan[],
): Recommendation => {
  const choices = scaleUpChoices(spec);
  const current = manifestTarget(spec, parameters);
  let evaluated = 0;
  const replay = (candidate: Candidate) => {
    evaluated++;
    const candidateSpec = applyCandidate(spec, candidate, parameters);
    return { spec: candidateSpec, run: runCluster(input, parameters, candidateSpec, capacity, costs, plans) };
  };

  /** The cheapest passing setting under one ceiling, or undefined. */
  const cheapestUnder = (maxReplicas: number): Best | undefined => {
    let best: Best | undefined;
    for (const targetUtilization of searchTargets) {
      for (const scaleUp of choices) {
        const at = (minReplicas: number) => replay({ targetUtilization, minReplicas, maxReplicas, scaleUp });
        let high = maxReplicas;
        let highRun = at(high);
        if (!allMet(highRun.run.slo)) continue;
        // One pod is a single point of failure the model does not simulate: 2 is the floor.
        let low = Math.min(MIN_REPLICAS_FLOOR, high) - 1;
        while (high - low > 1) {
          const middle = Math.floor((low + high) / 2);
          const tried = at(middle);
          if (allMet(tried.run.slo)) {
            high = middle;
            highRun = tried;
          } else low = middle;
        }
        const candidate = { targetUtilization, minReplicas: high, maxReplicas, scaleUp };
        const cost = highRun.run.totals.replicaSeconds;
        // Equal costs (the load never reaches the target): the change closest to the manifest.
        const closer = () =>
          Math.abs(targetUtilization - current) <
          Math.abs(best!.candidate.targetUtilization - current) - 1e-9;
        if (
          !best ||
          cost < best.run.totals.replicaSeconds * (1 - 1e-6) ||
          (cost <= best.run.totals.replicaSeconds * (1 + 1e-6) && closer())
        )
          best = { candidate, spec: highRun.spec, run: highRun.run };
      }
    }
    return best;
  };

  /** Whether any setting holds under a ceiling: with every pod allowed from the start, if at all. */
  const holdsUnder = (maxReplicas: number) =>
    searchTargets.some((targetUtilization) =>
      choices.some((scaleUp) =>
        allMet(replay({ targetUtilization, minReplicas: maxReplicas, maxReplicas, scaleUp }).run.slo),
      ),
    );

  const limit = Math.max(spec.maxReplicas, parameters.maxNodes * parameters.podsPerNode);
  let best = cheapestUnder(spec.maxReplicas);
  if (!best) {
    // Raise the ceiling until a setting holds, bisect down to the lowest that does, then search
    // the cheapest setting under it.
    let failing = spec.maxReplicas;
    let holding: number | undefined;
    for (let ceiling = spec.maxReplicas * 2; holding === undefined; ceiling *= 2) {
      const tried = Math.min(ceiling, limit);
      if (holdsUnder(tried)) holding = tried;
      else if (tried === limit) break;
      else failing = tried;
    }
    while (holding !== undefined && holding - failing > 1) {
      const middle = Math.floor((failing + holding) / 2);
      if (holdsUnder(middle)) holding = middle;
      else failing = middle;
    }
    if (holding !== undefined) best = cheapestUnder(holding);
  }
  const base = {
    evaluated,
    targets: searchTargets,
    scaleUps: choices.map((choice) => choice.name),
    manifestMaxReplicas: spec.maxReplicas,
    maxReplicasLimit: limit,
  };
  if (!best) return { found: false, ...base };
  return {
    found: true,
    candidate: best.candidate,
    spec: best.spec,
    replicaSeconds: best.run.totals.replicaSeconds,
    nodeSeconds: best.run.totals.nodeSeconds,
    peakReplicas: best.run.totals.peakReplicas,
    ...base,
  };
};
