import { Ajv, type ValidateFunction } from 'ajv';

/**
 * JSON schemas of the Chaos Mesh objects deploy/kubernetes uses. Chaos Mesh publishes no
 * TypeScript models (nothing like @kubernetes-models/chaos-mesh exists on npm), so these are
 * written by hand from the Chaos Mesh 2.x CRDs (chaos-mesh.org/v1alpha1: PodChaos, NetworkChaos,
 * StressChaos, Schedule; api/v1alpha1/*_types.go upstream), for the fields of those kinds
 * and their common siblings. Stricter than the API server on purpose: an unknown field is an
 * error here (the server would silently prune it, and a misspelt `duration` would make an
 * experiment run forever).
 */

const strings = { type: 'array', items: { type: 'string' } } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
/** Go's time.ParseDuration, which Chaos Mesh uses: "5m", "1h30m", "250ms". */
const duration = { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$' } as const;
/** Percentages and correlations are strings holding a number ("25", "0.5"). */
const floatString = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' } as const;
const mode = { enum: ['one', 'all', 'fixed', 'fixed-percent', 'random-max-percent'] } as const;

const selector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    namespaces: strings,
    labelSelectors: stringMap,
    expressionSelectors: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string' },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: strings,
        },
      },
    },
    annotationSelectors: stringMap,
    fieldSelectors: stringMap,
    nodeSelectors: stringMap,
    nodes: strings,
    pods: { type: 'object', additionalProperties: strings },
    podPhaseSelectors: strings,
  },
} as const;

/** PodSelector, inlined into every spec: which pods, and how many of them. */
const podSelector = { selector, mode, value: { type: 'string' } } as const;
const common = { ...podSelector, duration, remoteCluster: { type: 'string' } } as const;

const podChaosSpec = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'mode', 'selector'],
  properties: {
    ...common,
    action: { enum: ['pod-kill', 'pod-failure', 'container-kill'] },
    containerNames: strings,
    gracePeriod: { type: 'integer', minimum: 0 },
  },
} as const;

const netem = (field: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: [field],
    properties: { [field]: floatString, correlation: floatString },
  }) as const;

const networkChaosSpec = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'mode', 'selector'],
  properties: {
    ...common,
    action: { enum: ['netem', 'delay', 'loss', 'duplicate', 'corrupt', 'partition', 'bandwidth'] },
    device: { type: 'string' },
    delay: {
      type: 'object',
      additionalProperties: false,
      required: ['latency'],
      properties: {
        latency: duration,
        jitter: duration,
        correlation: floatString,
        reorder: {
          type: 'object',
          additionalProperties: false,
          required: ['reorder', 'gap'],
          properties: { reorder: floatString, correlation: floatString, gap: { type: 'integer' } },
        },
      },
    },
    loss: netem('loss'),
    duplicate: netem('duplicate'),
    corrupt: netem('corrupt'),
    bandwidth: {
      type: 'object',
      additionalProperties: false,
      required: ['rate', 'limit', 'buffer'],
      properties: {
        rate: { type: 'string' },
        limit: { type: 'integer', minimum: 1 },
        buffer: { type: 'integer', minimum: 1 },
        peakrate: { type: 'integer', minimum: 0 },
        minburst: { type: 'integer', minimum: 0 },
      },
    },
    direction: { enum: ['to', 'from', 'both'] },
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'selector'],
      properties: podSelector,
    },
    targetDevice: { type: 'string' },
    externalTargets: strings,
  },
  // The action's own parameters must be there: a `delay` action without `delay` does nothing.
  allOf: ['delay', 'loss', 'duplicate', 'corrupt', 'bandwidth'].map((action) => ({
    if: { properties: { action: { const: action } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable
    then: { required: [action] },
  })),
} as const;

const stressChaosSpec = {
  type: 'object',
  additionalProperties: false,
  required: ['mode', 'selector'],
  anyOf: [{ required: ['stressors'] }, { required: ['stressngStressors'] }],
  properties: {
    ...common,
    containerNames: strings,
    stressngStressors: { type: 'string' },
    stressors: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        cpu: {
          type: 'object',
          additionalProperties: false,
          required: ['workers'],
          properties: {
            workers: { type: 'integer', minimum: 1 },
            load: { type: 'integer', minimum: 0, maximum: 100 },
            options: strings,
          },
        },
        memory: {
          type: 'object',
          additionalProperties: false,
          required: ['workers'],
          properties: {
            workers: { type: 'integer', minimum: 1 },
            size: { type: 'string' },
            options: strings,
            oomScoreAdj: { type: 'integer' },
          },
        },
      },
    },
  },
} as const;

/** A Schedule embeds one experiment's spec under the lower-camel name of its `type`. */
const embedded = { PodChaos: 'podChaos', NetworkChaos: 'networkChaos', StressChaos: 'stressChaos' } as const;

const scheduleSpec = {
  type: 'object',
  additionalProperties: false,
  required: ['schedule', 'type'],
  properties: {
    schedule: { type: 'string', minLength: 1 },
    startingDeadlineSeconds: { type: ['integer', 'null'], minimum: 0 },
    concurrencyPolicy: { enum: ['Forbid', 'Allow'] },
    historyLimit: { type: 'integer', minimum: 1 },
    type: { enum: Object.keys(embedded) },
    podChaos: podChaosSpec,
    networkChaos: networkChaosSpec,
    stressChaos: stressChaosSpec,
  },
  allOf: Object.entries(embedded).map(([type, field]) => ({
    if: { properties: { type: { const: type } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable
    then: { required: [field] },
  })),
} as const;

const object = (kind: string, spec: object) => ({
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'chaos-mesh.org/v1alpha1' },
    kind: { const: kind },
    metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
    spec,
  },
});

// strictRequired off: the if/then rules require fields declared in the enclosing schema.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validators: Record<string, ValidateFunction> = {
  PodChaos: ajv.compile(object('PodChaos', podChaosSpec)),
  NetworkChaos: ajv.compile(object('NetworkChaos', networkChaosSpec)),
  StressChaos: ajv.compile(object('StressChaos', stressChaosSpec)),
  Schedule: ajv.compile(object('Schedule', scheduleSpec)),
};

export const chaosMeshKinds = Object.keys(validators);

/** Problems of a Chaos Mesh object against its schema; empty when it is valid. */
export const chaosMeshProblems = (object: { kind: string }): string[] => {
  const validate = validators[object.kind];
  if (!validate) return [`no schema for the Chaos Mesh kind ${object.kind}`];
  if (validate(object)) return [];
  return (validate.errors ?? []).map((error) => {
    const detail =
      error.keyword === 'additionalProperties'
        ? `unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`
        : error.message;
    return `${error.instancePath || '/'} ${detail}`;
  });
};
