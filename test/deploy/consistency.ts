import { type K8sObject, type Sourced, where } from './schema.js';

/**
 * Cross-object checks on a kustomize build: what no schema sees, because each object is
 * valid alone. Names, labels, ports and numbers that must agree between objects; the security
 * settings every pod must have; the graceful-shutdown arithmetic. Each problem names the
 * object, and its first words say which rule it broke.
 */

type Labels = Record<string, string>;
interface Port {
  name?: string;
  containerPort: number;
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface EnvSource {
  configMapKeyRef?: { name: string; key: string; optional?: boolean };
  secretKeyRef?: { name: string; key: string; optional?: boolean };
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: Port[];
  env?: { name: string; value?: string; valueFrom?: EnvSource }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Labels; limits?: Labels };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  priorityClassName?: string;
  volumes?: { name: string; emptyDir?: object }[];
}
interface Workload {
  sourced: Sourced;
  kind: string;
  name: string;
  labels: Labels;
  selector?: Labels;
  replicas?: number;
  pod: PodSpec;
}

export interface Context {
  /** The variables src/config.ts reads (`configVariables`). */
  configVariables: readonly string[];
  /** The objective names of slo/objectives.yaml. */
  objectives: string[];
  /** Secrets the user creates; referring to them without them in the build is expected. */
  userSecrets: string[];
  /** Namespaces outside the build that objects may name (the prometheus-adapter rules'). */
  externalNamespaces: string[];
  /** Overlay builds: every namespaced object must sit in a Namespace of the build. */
  namespaced: boolean;
  /** Check that Chaos Mesh targets select pods of the build (when the backends are in it). */
  chaosTargets: boolean;
}

const clusterScoped = new Set(['Namespace', 'PriorityClass']);
const selectorMatches = (selector: Labels | undefined, labels: Labels | undefined) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

const spec = (object: K8sObject) => (object.spec ?? {}) as Record<string, unknown>;
const name = (object: K8sObject) => object.metadata?.name ?? '?';

const workloadsOf = (objects: Sourced[]): Workload[] =>
  objects.flatMap((sourced) => {
    const { object } = sourced;
    if (object.kind !== 'Deployment' && object.kind !== 'Job') return [];
    const { template, selector, replicas } = spec(object) as {
      template?: { metadata?: { labels?: Labels }; spec?: PodSpec };
      selector?: { matchLabels?: Labels };
      replicas?: number;
    };
    if (!template?.spec) return [];
    return [
      {
        sourced,
        kind: object.kind,
        name: name(object),
        labels: template.metadata?.labels ?? {},
        ...(selector?.matchLabels ? { selector: selector.matchLabels } : {}),
        ...(replicas !== undefined ? { replicas } : {}),
        pod: template.spec,
      },
    ];
  });

const isPeakride = (workload: Workload) => workload.labels['app.kubernetes.io/name'] === 'peakride';
const preStopSleep = (container: Container) => {
  const command = container.lifecycle?.preStop?.exec?.command;
  return command?.[0] === 'sleep' ? Number(command[1]) : undefined;
};
const portNamed = (pod: PodSpec, port: string | number | undefined) =>
  pod.containers.some((container) =>
    (container.ports ?? []).some((candidate) =>
      typeof port === 'number' ? candidate.containerPort === port : candidate.name === port,
    ),
  );

/** Seconds of a Go/protobuf duration ("1h30m", "250ms", "15s"); undefined when it is not one. */
const goDurationSeconds = (text: string) => {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)];
  if (parts.length === 0 || parts.map(([part]) => part).join('') !== text) return undefined;
  return parts.reduce((total, [, value, unit]) => total + Number(value) * (units[unit!] ?? 0), 0);
};

/** The build's problems; empty when every rule holds. */
export const consistencyProblems = (objects: Sourced[], context: Context): string[] => {
  const problems: string[] = [];
  const report = (sourced: Sourced, problem: string) => problems.push(`${where(sourced)}: ${problem}`);
  const workloads = workloadsOf(objects);
  const ofKind = (kind: string) => objects.filter(({ object }) => object.kind === kind);
  const named = (kind: string, wanted: string) => ofKind(kind).find(({ object }) => name(object) === wanted);

  // The configuration, as the pods receive it.
  const configMaps = ofKind('ConfigMap');
  const config = configMaps.find(({ object }) => name(object).startsWith('peakride-config'));
  const settings = (config?.object.data ?? {}) as Labels;
  if (config) {
    for (const key of Object.keys(settings))
      if (!context.configVariables.includes(key))
        report(config, `unknown configuration variable ${key}: not in src/config.ts's configVariables`);
  }
  const graceSeconds = Number(settings.PEAKRIDE_SHUTDOWN_GRACE_SECONDS ?? 30);
  const drainSeconds = Number(settings.PEAKRIDE_DRAIN_DELAY_SECONDS ?? 5);
  if (graceSeconds < drainSeconds + 1 && config)
    report(config, `shutdown grace ${graceSeconds} s must exceed the drain delay ${drainSeconds} s by 1 s`);

  // Every pod: locked down.
  for (const workload of workloads) {
    const { sourced, pod } = workload;
    if (workload.kind === 'Deployment' && !selectorMatches(workload.selector, workload.labels))
      report(sourced, 'selector does not match its pod template labels');
    if (pod.automountServiceAccountToken !== false)
      report(sourced, 'security: automountServiceAccountToken must be false');
    for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
      const effective = { ...pod.securityContext, ...container.securityContext };
      const at = `security: container ${container.name}`;
      if (effective.runAsNonRoot !== true) report(sourced, `${at}: runAsNonRoot must be true`);
      if (effective.runAsUser === 0) report(sourced, `${at}: runs as root`);
      if (effective.privileged) report(sourced, `${at}: privileged`);
      if (container.securityContext?.allowPrivilegeEscalation !== false)
        report(sourced, `${at}: allowPrivilegeEscalation must be false`);
      if (container.securityContext?.readOnlyRootFilesystem !== true)
        report(sourced, `${at}: readOnlyRootFilesystem must be true`);
      if (!container.securityContext?.capabilities?.drop?.includes('ALL'))
        report(sourced, `${at}: capabilities must drop ALL`);
      if ((container.securityContext?.capabilities?.add ?? []).length > 0)
        report(sourced, `${at}: adds capabilities`);
      if (effective.seccompProfile?.type !== 'RuntimeDefault')
        report(sourced, `${at}: seccompProfile must be RuntimeDefault`);
    }
  }

  // peakride's own pods: one image, its port, its probes, its shutdown, its configuration.
  const peakride = workloads.filter(isPeakride);
  const images = new Set(peakride.flatMap(({ pod }) => pod.containers.map(({ image }) => image)));
  if (images.size > 1)
    for (const workload of peakride)
      report(workload.sourced, `image: every role must run one image, found ${[...images].join(', ')}`);
  const port = Number(settings.PORT ?? 8080);
  for (const workload of peakride) {
    const { sourced, pod } = workload;
    for (const container of pod.containers) {
      const role = workload.labels['app.kubernetes.io/component'];
      if (workload.kind === 'Deployment') {
        const http = container.ports?.find((candidate) => candidate.name === 'http');
        if (http?.containerPort !== port)
          report(sourced, `port: container port http is ${http?.containerPort}, PORT is ${port}`);
        const args = container.args ?? [];
        if (args[0] !== 'serve' || args[args.indexOf('--role') + 1] !== role)
          report(sourced, `args: runs ${args.join(' ')} but is labelled component ${role}`);
        const probes = {
          startupProbe: '/healthz',
          readinessProbe: '/readyz',
          livenessProbe: '/healthz',
        } as const;
        for (const [probe, path] of Object.entries(probes) as [keyof typeof probes, string][]) {
          const get = container[probe]?.httpGet;
          if (get?.path !== path) report(sourced, `probe: ${probe} must GET ${path}, not ${get?.path}`);
          else if (!portNamed(pod, get.port))
            report(sourced, `probe: ${probe} port ${get.port} is no container port`);
        }
        const pause = preStopSleep(container);
        if (pause === undefined) report(sourced, 'shutdown: no preStop sleep');
        else if ((pod.terminationGracePeriodSeconds ?? 30) < pause + graceSeconds)
          report(
            sourced,
            `shutdown: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds ?? 30} is less than the preStop sleep ${pause} + PEAKRIDE_SHUTDOWN_GRACE_SECONDS ${graceSeconds}`,
          );
      }
      const tmp = container.volumeMounts?.find(({ mountPath }) => mountPath === '/tmp');
      if (!tmp || !pod.volumes?.some((volume) => volume.name === tmp.name && volume.emptyDir))
        report(sourced, `filesystem: container ${container.name} has no writable emptyDir at /tmp`);
      for (const variable of container.env ?? []) {
        const key = variable.valueFrom?.secretKeyRef?.key ?? variable.valueFrom?.configMapKeyRef?.key;
        if (!context.configVariables.includes(variable.name) || (key && key !== variable.name))
          report(
            sourced,
            `env: ${variable.name} (${key ?? 'a value'}) is not a configuration variable of its own name`,
          );
      }
    }
  }

  // References to ConfigMaps and Secrets.
  for (const { sourced, pod } of workloads) {
    for (const container of pod.containers) {
      const refs = [
        ...(container.envFrom ?? []).flatMap(({ configMapRef, secretRef }) => [
          ...(configMapRef ? [{ kind: 'ConfigMap', name: configMapRef.name }] : []),
          ...(secretRef ? [{ kind: 'Secret', name: secretRef.name }] : []),
        ]),
        ...(container.env ?? []).flatMap(({ valueFrom }) => [
          ...(valueFrom?.configMapKeyRef
            ? [{ kind: 'ConfigMap', name: valueFrom.configMapKeyRef.name }]
            : []),
          ...(valueFrom?.secretKeyRef ? [{ kind: 'Secret', name: valueFrom.secretKeyRef.name }] : []),
        ]),
      ];
      for (const ref of refs) {
        if (named(ref.kind, ref.name)) continue;
        if (ref.kind === 'Secret' && context.userSecrets.includes(ref.name)) continue;
        report(sourced, `reference: ${ref.kind} ${ref.name} is not in the build`);
      }
    }
  }

  // Services select pods, and their target ports exist there.
  const podsOf = (selector: Labels | undefined) =>
    workloads.filter((workload) => selectorMatches(selector, workload.labels));
  for (const service of ofKind('Service')) {
    const { selector, ports } = spec(service.object) as {
      selector?: Labels;
      ports?: { name?: string; targetPort?: string | number }[];
    };
    const pods = podsOf(selector);
    if (pods.length === 0) report(service, 'service: selector matches no pod template');
    for (const servicePort of ports ?? [])
      for (const pod of pods)
        if (!portNamed(pod.pod, servicePort.targetPort))
          report(service, `service: targetPort ${servicePort.targetPort} is not a port of ${pod.name}`);
  }

  // Disruption budgets cover exactly one Deployment.
  for (const budget of ofKind('PodDisruptionBudget')) {
    const selector = (spec(budget.object).selector as { matchLabels?: Labels })?.matchLabels;
    const covered = podsOf(selector).filter(({ kind }) => kind === 'Deployment');
    if (covered.length !== 1)
      report(budget, `budget: selector must match exactly one Deployment, matches ${covered.length}`);
  }

  // Autoscalers: an existing Deployment each, one each, and it leaves them the replica count.
  const owners = new Map<string, Sourced[]>();
  for (const scaler of [...ofKind('HorizontalPodAutoscaler'), ...ofKind('ScaledObject')]) {
    const target = (spec(scaler.object).scaleTargetRef ?? {}) as { kind?: string; name?: string };
    const deployment = workloads.find(
      ({ kind, name }) => kind === (target.kind ?? 'Deployment') && name === target.name,
    );
    if (!deployment) {
      report(scaler, `autoscaling: target ${target.kind ?? 'Deployment'}/${target.name} is not in the build`);
      continue;
    }
    owners.set(deployment.name, [...(owners.get(deployment.name) ?? []), scaler]);
    if (deployment.replicas !== undefined)
      report(deployment.sourced, `autoscaling: sets replicas, which ${name(scaler.object)} owns`);
  }
  for (const [deployment, scalers] of owners)
    if (scalers.length > 1)
      for (const scaler of scalers)
        report(scaler, `autoscaling: ${deployment} has ${scalers.length} autoscalers`);
  const adapterRules = configMaps.find(({ object }) => name(object) === 'peakride-prometheus-adapter');
  if (adapterRules) {
    const served = [
      ...String((adapterRules.object.data as Labels)?.['config.yaml']).matchAll(/\bas: (\S+)/g),
    ].map((match) => match[1]);
    for (const hpa of ofKind('HorizontalPodAutoscaler'))
      for (const metric of (spec(hpa.object).metrics ?? []) as { pods?: { metric?: { name?: string } } }[])
        if (metric.pods?.metric?.name && !served.includes(metric.pods.metric.name))
          report(
            hpa,
            `autoscaling: the Pods metric ${metric.pods.metric.name} is not served by the adapter rules`,
          );
  }

  // Prometheus scrapes existing Services on existing ports.
  for (const monitor of ofKind('ServiceMonitor')) {
    const { selector, endpoints } = spec(monitor.object) as {
      selector?: { matchLabels?: Labels };
      endpoints?: { port?: string; targetPort?: string | number }[];
    };
    const services = ofKind('Service').filter(({ object }) =>
      selectorMatches(selector?.matchLabels, object.metadata?.labels),
    );
    if (services.length === 0) report(monitor, 'monitoring: selector matches no Service');
    for (const endpoint of endpoints ?? []) {
      for (const service of services) {
        const pods = podsOf((spec(service.object) as { selector?: Labels }).selector);
        if (
          endpoint.targetPort !== undefined &&
          !pods.every(({ pod }) => portNamed(pod, endpoint.targetPort))
        )
          report(
            monitor,
            `monitoring: targetPort ${endpoint.targetPort} is not a port behind ${name(service.object)}`,
          );
      }
      if (
        endpoint.port !== undefined &&
        !services.some(({ object }) =>
          ((spec(object).ports ?? []) as { name?: string }[]).some((port) => port.name === endpoint.port),
        )
      )
        report(monitor, `monitoring: port ${endpoint.port} is no port of the selected Services`);
    }
  }

  // Istio: routes to existing Services and ports, policies on existing pods.
  const servicePort = (host: string, number: number | undefined) =>
    ofKind('Service').some(
      ({ object }) =>
        name(object) === host &&
        (number === undefined ||
          ((spec(object).ports ?? []) as { port: number }[]).some(({ port }) => port === number)),
    );
  for (const route of ofKind('VirtualService')) {
    const { gateways, http } = spec(route.object) as {
      gateways?: string[];
      http?: { route?: { destination?: { host?: string; port?: { number?: number } } }[] }[];
    };
    for (const gateway of gateways ?? [])
      if (gateway !== 'mesh' && !gateway.includes('/') && !named('Gateway', gateway))
        report(route, `istio: gateway ${gateway} is not in the build`);
    for (const { destination } of (http ?? []).flatMap(({ route }) => route ?? []))
      if (!servicePort(String(destination?.host), destination?.port?.number))
        report(
          route,
          `istio: destination ${destination?.host}:${destination?.port?.number} is no Service port`,
        );
  }
  // Istio's admission webhook refuses durations under 1 ms (`timeout: 0s` included) and below
  // millisecond precision; the schemas take any string.
  for (const sourced of [...ofKind('VirtualService'), ...ofKind('DestinationRule')]) {
    const walk = (node: unknown, path: string): void => {
      if (node && typeof node === 'object')
        for (const [key, value] of Object.entries(node)) walk(value, `${path}/${key}`);
      else if (typeof node === 'string' && /(Timeout|Time|interval|timeout|DurationSecs)$/.test(path)) {
        const seconds = goDurationSeconds(node);
        if (seconds === undefined || seconds < 0.001 || !Number.isInteger(Math.round(seconds * 1e6) / 1e3))
          report(sourced, `istio: ${path} ${node} must be a duration of at least 1ms, in whole ms`);
      }
    };
    walk(sourced.object.spec, '/spec');
  }
  for (const rule of ofKind('DestinationRule'))
    if (!servicePort(String(spec(rule.object).host), undefined))
      report(rule, `istio: host ${String(spec(rule.object).host)} is no Service`);
  for (const policy of [...ofKind('PeerAuthentication'), ...ofKind('AuthorizationPolicy')]) {
    const selector = (spec(policy.object).selector as { matchLabels?: Labels })?.matchLabels;
    if (podsOf(selector).length === 0) report(policy, 'istio: selector matches no pod template');
  }

  // Overprovisioning placeholders hold exactly one api pod's room each.
  const priorities = new Map(
    ofKind('PriorityClass').map(({ object }) => [name(object), Number(object.value)]),
  );
  const api = workloads.find(({ name }) => name === 'peakride-api');
  for (const workload of workloads) {
    const priority = priorities.get(workload.pod.priorityClassName ?? '');
    if (priority === undefined || priority >= 0 || !api) continue;
    const want = JSON.stringify(api.pod.containers[0]?.resources?.requests);
    const have = JSON.stringify(workload.pod.containers[0]?.resources?.requests);
    if (want !== have)
      report(workload.sourced, `overprovisioning: requests ${have} differ from an api pod's ${want}`);
  }

  // Chaos experiments: pods to act on, and a steady-state hypothesis written as objectives.
  for (const experiment of objects.filter(({ object }) => object.apiVersion === 'chaos-mesh.org/v1alpha1')) {
    const annotations = experiment.object.metadata?.annotations ?? {};
    const slos = (annotations['peakride/slo'] ?? '').split(',').filter(Boolean);
    if (slos.length === 0 || !annotations['peakride/steady-state'])
      report(experiment, 'chaos: needs the annotations peakride/slo and peakride/steady-state');
    for (const slo of slos)
      if (!context.objectives.includes(slo))
        report(experiment, `chaos: ${slo} is not an objective of slo/objectives.yaml`);
    const body = spec(experiment.object);
    const inner = (body.podChaos ?? body.networkChaos ?? body.stressChaos ?? body) as Record<string, unknown>;
    const selectors: [string, unknown][] = [['selector', inner.selector]];
    if (context.chaosTargets && inner.target)
      selectors.push(['target', (inner.target as { selector?: unknown }).selector]);
    for (const [field, selector] of selectors) {
      const labels = (selector as { labelSelectors?: Labels } | undefined)?.labelSelectors;
      if (podsOf(labels).length === 0) report(experiment, `chaos: ${field} matches no pod template`);
    }
  }

  // Overlays: everything in a namespace of the build (or a known outside one).
  if (context.namespaced) {
    const namespaces = new Set([
      ...ofKind('Namespace').map(({ object }) => name(object)),
      ...context.externalNamespaces,
    ]);
    for (const sourced of objects) {
      if (clusterScoped.has(sourced.object.kind)) continue;
      const namespace = sourced.object.metadata?.namespace;
      if (!namespace || !namespaces.has(namespace))
        report(sourced, `namespace: ${namespace ?? 'none'} is not a Namespace of the build`);
    }
  }
  return problems;
};
