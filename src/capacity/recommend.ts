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
 * replica-seconds.
 */

export interface ScaleUpChoice {
  name: string;
  rules: ScalingRules;
}

export interface Candidate {
  /** Event-loop utilisation (or CPU share of the request) every metric targets. */
  targetUtilization: number;
  minReplicas: number;
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
    minReplicas: Math.min(candidate.minReplicas, spec.maxReplicas),
    metrics,
    behavior: {
      scaleUp: candidate.scaleUp.rules,
      scaleDown: spec.behavior?.scaleDown ?? defaultScaleDown(parameters.downscaleStabilizationSeconds),
    },
  };
};

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
  let best: { candidate: Candidate; spec: HpaSpec; run: ClusterRun } | undefined;
  const replay = (candidate: Candidate) => {
    evaluated++;
    const candidateSpec = applyCandidate(spec, candidate, parameters);
    return { spec: candidateSpec, run: runCluster(input, parameters, candidateSpec, capacity, costs, plans) };
  };
  for (const targetUtilization of searchTargets) {
    for (const scaleUp of choices) {
      const at = (minReplicas: number) => replay({ targetUtilization, minReplicas, scaleUp });
      let high = spec.maxReplicas;
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
      const candidate = { targetUtilization, minReplicas: high, scaleUp };
      const cost = highRun.run.totals.replicaSeconds;
      // Equal costs (the load never reaches the target): the change closest to the manifest.
      const closer = () =>
        Math.abs(targetUtilization - current) < Math.abs(best!.candidate.targetUtilization - current) - 1e-9;
      if (
        !best ||
        cost < best.run.totals.replicaSeconds * (1 - 1e-6) ||
        (cost <= best.run.totals.replicaSeconds * (1 + 1e-6) && closer())
      )
        best = { candidate, spec: highRun.spec, run: highRun.run };
    }
  }
  const base = { evaluated, targets: searchTargets, scaleUps: choices.map((choice) => choice.name) };
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
