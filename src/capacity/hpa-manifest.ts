import { parseAllDocuments } from 'yaml';
import {
  defaultScaleDown,
  defaultScaleUp,
  type HpaBehavior,
  type HpaSpec,
  type MetricSpec,
  type ScalingPolicy,
  type ScalingRules,
} from './hpa.js';

/**
 * An autoscaling/v2 HorizontalPodAutoscaler manifest (YAML, the one applied to the cluster) read
 * into the spec the model runs, with the API server's defaults filled in. Pure: the caller reads
 * the file.
 */

/** A manifest the model cannot use; names the file and the field. */
export class HpaFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'HpaFileError';
  }
}

/** Pods metrics the model knows how to compute, with what they measure. */
export const knownPodMetrics: Record<string, string> = {
  peakride_event_loop_utilization: 'the event-loop utilisation of the pod, 0 to 1',
};

type Fields = Record<string, unknown>;
const isRecord = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown) => JSON.stringify(value) ?? String(value);

/** Multipliers of the suffixes; below 1 as divisors, so 700m is exactly 0.7. */
const divisors: Record<string, number> = { n: 1e9, u: 1e6, m: 1e3 };
const suffixes: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A Kubernetes quantity (`600m`, `0.6`, `2`, `1Gi`) as a number; NaN when it is not one. */
export const parseQuantity = (value: unknown): number => {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== 'string') return Number.NaN;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(
    value.trim(),
  );
  if (!match) return Number.NaN;
  const suffix = match[2] ?? '';
  const divisor = divisors[suffix];
  return divisor ? Number(match[1]) / divisor : Number(match[1]) * (suffixes[suffix] ?? Number.NaN);
};

export interface ParsedHpa {
  spec: HpaSpec;
  /** What the model leaves out of the manifest (a memory metric), for the report. */
  notes: string[];
}

/**
 * Parses the text of a manifest; the first document of kind HorizontalPodAutoscaler is used.
 * `downscaleStabilizationSeconds` is the controller's flag, the default of scaleDown's window.
 */
export const parseHpaManifest = (
  text: string,
  file: string,
  downscaleStabilizationSeconds = 300,
): ParsedHpa => {
  const fail = (field: string, problem: string): never => {
    throw new HpaFileError(file, field, problem);
  };
  let documents: unknown[];
  try {
    const parsed = parseAllDocuments(text);
    const docs = Array.isArray(parsed) ? parsed : [parsed];
    for (const doc of docs) if (doc.errors.length > 0) throw doc.errors[0];
    documents = docs.map((doc) => doc.toJS());
  } catch (error) {
    return fail('', `not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const hpa = documents.find((doc) => isRecord(doc) && doc.kind === 'HorizontalPodAutoscaler');
  if (!isRecord(hpa)) return fail('kind', 'no document of kind HorizontalPodAutoscaler in the file');
  if (hpa.apiVersion !== 'autoscaling/v2' && hpa.apiVersion !== 'autoscaling/v2beta2')
    fail('apiVersion', `must be autoscaling/v2 (metrics and behavior); got ${show(hpa.apiVersion)}`);
  const metadata = isRecord(hpa.metadata) ? hpa.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : 'hpa';
  if (!isRecord(hpa.spec)) return fail('spec', 'missing');
  const spec = hpa.spec;

  const integer = (value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      fail(
        field,
        `must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}; got ${show(value)}`,
      );
    return value as number;
  };
  const minReplicas = spec.minReplicas === undefined ? 1 : integer(spec.minReplicas, 'spec.minReplicas', 1);
  if (spec.maxReplicas === undefined) fail('spec.maxReplicas', 'missing');
  const maxReplicas = integer(spec.maxReplicas, 'spec.maxReplicas', 1);
  if (maxReplicas < minReplicas)
    fail('spec.maxReplicas', `must not be below spec.minReplicas (${minReplicas}); got ${maxReplicas}`);

  const notes: string[] = [];
  const metricsField = spec.metrics ?? [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
  ];
  if (!Array.isArray(metricsField) || metricsField.length === 0)
    fail('spec.metrics', 'must be a non-empty list of metrics');
  const metrics: MetricSpec[] = [];
  (metricsField as unknown[]).forEach((entry, index) => {
    const at = `spec.metrics[${index}]`;
    if (!isRecord(entry)) {
      fail(at, 'must be a mapping');
      return;
    }
    if (entry.type === 'Resource') {
      const resource = isRecord(entry.resource) ? entry.resource : fail(`${at}.resource`, 'missing');
      const target = isRecord(resource.target) ? resource.target : fail(`${at}.resource.target`, 'missing');
      if (resource.name === 'memory') {
        notes.push(`${at}: memory is not modelled (an api pod's memory hardly follows its load): left out.`);
        return;
      }
      if (resource.name !== 'cpu')
        fail(
          `${at}.resource.name`,
          `only cpu (and memory, left out) can be modelled; got ${show(resource.name)}`,
        );
      if (target.type === 'Utilization') {
        const value = integer(target.averageUtilization, `${at}.resource.target.averageUtilization`, 1);
        metrics.push({
          type: 'Resource',
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: value },
        });
      } else if (target.type === 'AverageValue') {
        const value = parseQuantity(target.averageValue);
        if (!(value > 0))
          fail(
            `${at}.resource.target.averageValue`,
            `must be a positive quantity such as 700m; got ${show(target.averageValue)}`,
          );
        metrics.push({
          type: 'Resource',
          name: 'cpu',
          target: { type: 'AverageValue', averageValue: value },
        });
      } else
        fail(`${at}.resource.target.type`, `must be Utilization or AverageValue; got ${show(target.type)}`);
      return;
    }
    if (entry.type === 'Pods') {
      const pods = isRecord(entry.pods) ? entry.pods : fail(`${at}.pods`, 'missing');
      const metric = isRecord(pods.metric) ? pods.metric : fail(`${at}.pods.metric`, 'missing');
      const target = isRecord(pods.target) ? pods.target : fail(`${at}.pods.target`, 'missing');
      const metricName = metric.name;
      if (typeof metricName !== 'string' || !(metricName in knownPodMetrics))
        fail(
          `${at}.pods.metric.name`,
          `the model computes only ${Object.keys(knownPodMetrics).join(', ')}; got ${show(metricName)}`,
        );
      if (target.type !== 'AverageValue')
        fail(
          `${at}.pods.target.type`,
          `must be AverageValue (the only target of a Pods metric); got ${show(target.type)}`,
        );
      const value = parseQuantity(target.averageValue);
      if (!(value > 0 && value <= 1))
        fail(
          `${at}.pods.target.averageValue`,
          `must be a utilisation between 0 and 1 such as 600m or "0.6"; got ${show(target.averageValue)}`,
        );
      metrics.push({
        type: 'Pods',
        name: metricName as string,
        target: { type: 'AverageValue', averageValue: value },
      });
      return;
    }
    fail(
      `${at}.type`,
      `the model computes Resource (cpu) and Pods (${Object.keys(knownPodMetrics).join(', ')}) metrics; got ${show(entry.type)}`,
    );
  });
  if (metrics.length === 0)
    fail('spec.metrics', 'no metric the model can compute (cpu or peakride_event_loop_utilization)');

  let behavior: HpaBehavior | undefined;
  if (spec.behavior !== undefined && spec.behavior !== null) {
    if (!isRecord(spec.behavior)) fail('spec.behavior', 'must be a mapping with scaleUp and/or scaleDown');
    const given = spec.behavior as Fields;
    const rules = (value: unknown, field: string, defaults: ScalingRules): ScalingRules => {
      if (value === undefined || value === null) return defaults;
      if (!isRecord(value)) return fail(field, 'must be a mapping');
      const result: ScalingRules = { ...defaults };
      if (value.stabilizationWindowSeconds !== undefined)
        result.stabilizationWindowSeconds = integer(
          value.stabilizationWindowSeconds,
          `${field}.stabilizationWindowSeconds`,
          0,
          3600,
        );
      if (value.selectPolicy !== undefined) {
        if (value.selectPolicy !== 'Max' && value.selectPolicy !== 'Min' && value.selectPolicy !== 'Disabled')
          fail(`${field}.selectPolicy`, `must be Max, Min or Disabled; got ${show(value.selectPolicy)}`);
        result.selectPolicy = value.selectPolicy as ScalingRules['selectPolicy'];
      }
      if (value.policies !== undefined) {
        if (
          !Array.isArray(value.policies) ||
          (value.policies.length === 0 && result.selectPolicy !== 'Disabled')
        )
          fail(`${field}.policies`, 'must be a non-empty list of { type, value, periodSeconds }');
        result.policies = (value.policies as unknown[]).map((policy, index): ScalingPolicy => {
          const at = `${field}.policies[${index}]`;
          if (!isRecord(policy)) return fail(at, 'must be a mapping');
          if (policy.type !== 'Pods' && policy.type !== 'Percent')
            fail(`${at}.type`, `must be Pods or Percent; got ${show(policy.type)}`);
          return {
            type: policy.type as ScalingPolicy['type'],
            value: integer(policy.value, `${at}.value`, 1),
            periodSeconds: integer(policy.periodSeconds, `${at}.periodSeconds`, 1, 1800),
          };
        });
      }
      if (value.tolerance !== undefined) {
        const tolerance = parseQuantity(value.tolerance);
        if (!(tolerance >= 0))
          fail(`${field}.tolerance`, `must be a quantity >= 0 such as 50m; got ${show(value.tolerance)}`);
        result.tolerance = tolerance;
      }
      return result;
    };
    behavior = {
      scaleUp: rules(given.scaleUp, 'spec.behavior.scaleUp', defaultScaleUp()),
      scaleDown: rules(
        given.scaleDown,
        'spec.behavior.scaleDown',
        defaultScaleDown(downscaleStabilizationSeconds),
      ),
    };
  }
  return { spec: { name, minReplicas, maxReplicas, metrics, ...(behavior ? { behavior } : {}) }, notes };
};
