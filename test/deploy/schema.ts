import { fileURLToPath } from 'node:url';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { Gateway } from '@kubernetes-models/istio/networking.istio.io/v1/Gateway';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import ts from 'typescript';
import { chaosMeshKinds, chaosMeshProblems } from './chaos-mesh.js';

/** A Kubernetes object as parsed from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** An object and where it came from (a file and document, or a kustomize build). */
export interface Sourced {
  object: K8sObject;
  source: string;
}

interface Model {
  apiVersion: string;
  kind: string;
  new (data: never): { validate(): void };
}

/**
 * Every kind deploy/kubernetes may contain, with its model (`validate()` checks the object
 * against the kind's OpenAPI schema) and the module whose `I<Kind>` type the strict check
 * compiles against. A kind not listed here is an error: add it on purpose.
 */
const models: [Model, string][] = [
  [ConfigMap, 'kubernetes-models/v1/ConfigMap'],
  [Namespace, 'kubernetes-models/v1/Namespace'],
  [Secret, 'kubernetes-models/v1/Secret'],
  [Service, 'kubernetes-models/v1/Service'],
  [ServiceAccount, 'kubernetes-models/v1/ServiceAccount'],
  [Deployment, 'kubernetes-models/apps/v1/Deployment'],
  [Job, 'kubernetes-models/batch/v1/Job'],
  [PodDisruptionBudget, 'kubernetes-models/policy/v1/PodDisruptionBudget'],
  [HorizontalPodAutoscaler, 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'],
  [PriorityClass, 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass'],
  [Gateway, '@kubernetes-models/istio/networking.istio.io/v1/Gateway'],
  [VirtualService, '@kubernetes-models/istio/networking.istio.io/v1/VirtualService'],
  [DestinationRule, '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule'],
  [PeerAuthentication, '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication'],
  [AuthorizationPolicy, '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy'],
  [ScaledObject, '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject'],
  [ServiceMonitor, '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'],
  [PodMonitor, '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor'],
  [PrometheusRule, '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'],
];

const typeKey = (apiVersion: unknown, kind: unknown) => `${String(apiVersion)} ${String(kind)}`;
const registry = new Map(
  models.map(([model, module]) => [typeKey(model.apiVersion, model.kind), { model, module }]),
);
const chaosMeshApiVersion = 'chaos-mesh.org/v1alpha1';

/** The kinds the registry knows, as `apiVersion kind`. */
export const knownKinds = () => [
  ...registry.keys(),
  ...chaosMeshKinds.map((kind) => typeKey(chaosMeshApiVersion, kind)),
];

export const where = ({ object, source }: Sourced) =>
  `${source}: ${object?.kind ?? '?'}/${object?.metadata?.name ?? '?'}`;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Schema problems of one object: not an object, no kind or name, a kind nobody registered, or
 * what its model's `validate()` (or the Chaos Mesh schema) refuses. Empty when it is valid.
 */
export const schemaProblems = (sourced: Sourced): string[] => {
  const { object } = sourced;
  const at = where(sourced);
  if (!isObject(object)) return [`${sourced.source}: a document that is not an object`];
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string')
    return [`${at}: no apiVersion or kind`];
  const problems: string[] = [];
  if (!object.metadata?.name) problems.push(`${at}: no metadata.name`);
  if (object.apiVersion === chaosMeshApiVersion) {
    if (!chaosMeshKinds.includes(object.kind))
      return [`${at}: unknown kind ${typeKey(object.apiVersion, object.kind)}`];
    return [...problems, ...chaosMeshProblems(object).map((problem) => `${at}: ${problem}`)];
  }
  const entry = registry.get(typeKey(object.apiVersion, object.kind));
  if (!entry) return [`${at}: unknown kind ${typeKey(object.apiVersion, object.kind)}`];
  try {
    new entry.model(object as never).validate();
  } catch (error) {
    problems.push(`${at}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return problems;
};

const root = fileURLToPath(new URL('../../', import.meta.url));
/** The last program: the next one reuses its parsed declaration files (seconds, not tens). */
let previous: ts.Program | undefined;

/**
 * Unknown fields and wrong types, which the models' `validate()` lets through (their schemas
 * allow additional properties; the API server would refuse or prune them). Each object becomes
 * a typed constant, `const o3: IDeployment = {…}`, and the TypeScript compiler checks it
 * against the models' declarations: excess property checks catch a misspelt field at any
 * depth (`readOnlyRootFileSystem`), assignability a wrong type. Chaos Mesh objects are
 * checked by their own strict schemas instead.
 */
export const unknownFieldProblems = (objects: Sourced[]): string[] => {
  // The same object in several builds is compiled once.
  const seen = new Set<string>();
  const typed = objects.filter(({ object }) => {
    if (!registry.has(typeKey(object?.apiVersion, object?.kind))) return false;
    const key = JSON.stringify(object);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const modules = [
    ...new Set(typed.map(({ object }) => registry.get(typeKey(object.apiVersion, object.kind))!.module)),
  ];
  const alias = (module: string) => `M${modules.indexOf(module)}`;
  const header = modules.map((module) => `import type * as ${alias(module)} from '${module}';\n`).join('');
  const starts: number[] = [];
  let body = '';
  typed.forEach(({ object }, index) => {
    const module = registry.get(typeKey(object.apiVersion, object.kind))!.module;
    starts.push(header.length + body.length);
    body += `export const o${index}: ${alias(module)}.I${object.kind} = ${JSON.stringify(object)};\n`;
  });
  const source = header + body;
  const file = `${root}test/deploy/__manifests__.ts`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file
      ? ts.createSourceFile(name, source, language)
      : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host, previous);
  previous = program;
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ').slice(0, 400);
    if (diagnostic.file?.fileName !== file || diagnostic.start === undefined) return message;
    const index = starts.findLastIndex((start) => start <= diagnostic.start!);
    const sourced = typed[index];
    return sourced ? `${where(sourced)}: ${message}` : message;
  });
};
