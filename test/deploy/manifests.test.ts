import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { configVariables } from '../../src/config.js';
import { loadObjectives } from '../../src/ops/slo/objectives.js';
import { type Context, consistencyProblems } from './consistency.js';
import {
  build,
  buildWith,
  checkKustomization,
  checkTree,
  envFile,
  kubectlVersion,
  kubernetesDir,
  type PathKind,
  patchProblems,
  readDocuments,
  root,
  show,
} from './kustomize.js';
import { type K8sObject, knownKinds, type Sourced, schemaProblems, unknownFieldProblems } from './schema.js';

/**
 * deploy/kubernetes checked offline: every file parses and every object validates against its
 * kind's schema (kubernetes-models and its Istio, KEDA and Prometheus Operator siblings; Chaos
 * Mesh against schemas of our own), no field is unknown, every kustomization names only files
 * that exist, and the objects agree with each other. With kubectl on PATH, every overlay and
 * every component is built with `kubectl kustomize` and the output goes through the same
 * checks. Each checker is also fed a broken input, so a checker that cannot fail fails here.
 */

const objectives = (await loadObjectives(join(root, 'slo/objectives.yaml'))).objectives.map(
  ({ name }) => name,
);
const context = (overrides: Partial<Context> = {}): Context => ({
  configVariables,
  objectives,
  userSecrets: ['peakride-secrets'],
  externalNamespaces: ['monitoring'],
  namespaced: false,
  chaosTargets: false,
  ...overrides,
});

const tree = checkTree();
const filesOf = (role: string) =>
  [...tree.references].filter(([, fileRole]) => fileRole === role).map(([path]) => path);
const load = (file: string): Sourced[] =>
  readDocuments(file).values.map((object) => ({ object: object as K8sObject, source: show(file) }));
const resourceObjects = filesOf('resource').flatMap(load);

/** base/ as kustomize builds it, without kustomize: its resources plus the generated ConfigMap. */
const loadBase = (...extra: string[]): Sourced[] => {
  const dir = join(kubernetesDir, 'base');
  const { resources } = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
  };
  const { entries } = envFile(readFileSync(join(dir, 'config.env'), 'utf8'));
  return [
    ...resources.flatMap((file) => load(join(dir, file))),
    ...extra.flatMap((file) => load(join(kubernetesDir, file))),
    {
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'peakride-config' },
        data: Object.fromEntries(entries),
      },
      source: 'deploy/kubernetes/base/config.env',
    },
  ];
};

const find = (objects: Sourced[], kind: string, name: string) => {
  const found = objects.find(({ object }) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`${kind}/${name} is not among the objects`);
  return found.object;
};
/**
 * Sets (or, with undefined, deletes) a path in an object: dotted, `spec.template.spec.containers.0.image`,
 * or a list of keys when a key holds dots (label names).
 */
const set = (target: unknown, path: string | string[], value: unknown) => {
  const keys = Array.isArray(path) ? path : path.split('.');
  let node = target as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
};
const container = 'spec.template.spec.containers.0';

describe('the files under deploy/kubernetes', () => {
  it('When every kustomization is read, then each path it names exists and is what its field expects, and every file is referenced by one', () => {
    expect(tree.kustomizations.length).toBeGreaterThanOrEqual(9);
    expect(tree.problems).toEqual([]);
  });

  it('When every resource file is parsed, then each object validates against the schema of its kind', () => {
    const problems = filesOf('resource').flatMap((file) => readDocuments(file).problems);
    expect(problems).toEqual([]);
    expect(resourceObjects.length).toBeGreaterThan(30);
    expect(resourceObjects.flatMap(schemaProblems)).toEqual([]);
  });

  it('When every object is compiled against the models, then no field is unknown or of the wrong type', () => {
    expect(unknownFieldProblems(resourceObjects)).toEqual([]);
  }, 60_000);

  it('When every patch file is read, then each is a JSON patch or names the object it patches', () => {
    const patches = filesOf('patch');
    expect(patches.length).toBeGreaterThan(5);
    for (const file of patches) {
      const { values, problems } = readDocuments(file);
      expect([...problems, ...patchProblems(file, values)]).toEqual([]);
    }
  });

  it('When the configuration env file is read, then every line is KEY=value', () => {
    for (const file of filesOf('generator')) expect(envFile(readFileSync(file, 'utf8')).problems).toEqual([]);
  });

  it('When base/ is assembled as kustomize would, then its objects agree with each other', () => {
    expect(consistencyProblems(loadBase(), context())).toEqual([]);
  });

  it('When the api HPA is read where `peakride capacity` reads it, then it scales the api Deployment', () => {
    const [hpa] = load(join(kubernetesDir, 'base/api-hpa.yaml'));
    expect(hpa?.object).toMatchObject({
      kind: 'HorizontalPodAutoscaler',
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'peakride-api' } },
    });
  });
});

describe('the schema checks, given broken objects', () => {
  const deployment = () => structuredClone(find(loadBase(), 'Deployment', 'peakride-api'));
  const chaos = () => load(join(kubernetesDir, 'components/chaos/network-delay-postgresql.yaml'))[0]!.object;
  it.each<[string, () => unknown, string]>([
    [
      'an unknown kind',
      () => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
      'unknown kind example.com/v1 Widget',
    ],
    [
      'a known group in an unknown version',
      () => ({ ...deployment(), apiVersion: 'apps/v1beta9' }),
      'unknown kind apps/v1beta9 Deployment',
    ],
    ['no name', () => ({ ...deployment(), metadata: {} }), 'no metadata.name'],
    [
      'a port given as text',
      () => {
        const object = deployment();
        set(object, `${container}.ports.0.containerPort`, '8080');
        return object;
      },
      'containerPort must be integer',
    ],
    [
      'an unknown Chaos Mesh kind',
      () => ({
        apiVersion: 'chaos-mesh.org/v1alpha1',
        kind: 'TimeTravelChaos',
        metadata: { name: 't' },
        spec: {},
      }),
      'unknown kind chaos-mesh.org/v1alpha1 TimeTravelChaos',
    ],
    [
      'a misspelt Chaos Mesh field',
      () => {
        const object = chaos();
        set(object, 'spec.durration', '5m');
        return object;
      },
      'unknown field "durration"',
    ],
    [
      'a Chaos Mesh loss given as a number',
      () => {
        const object = chaos();
        set(object, 'spec.action', 'loss');
        set(object, 'spec.loss', { loss: 10 });
        return object;
      },
      '/spec/loss/loss must be string',
    ],
    [
      'a Chaos Mesh delay action without its delay',
      () => {
        const object = chaos();
        set(object, 'spec.delay', undefined);
        return object;
      },
      "must have required property 'delay'",
    ],
  ])('When given %s, then it is refused', (_, make, message) => {
    const problems = schemaProblems({ object: make() as K8sObject, source: 'test' });
    expect(problems.join('\n')).toContain(message);
  });

  it('When a field is misspelt deep inside an object, then the type check names it', () => {
    const object = deployment();
    set(object, `${container}.securityContext.readOnlyRootFileSystem`, true);
    const problems = unknownFieldProblems([{ object, source: 'test' }]);
    expect(problems.join('\n')).toContain('\'"readOnlyRootFileSystem"\' does not exist in type');
    expect(problems[0]).toMatch(/^test: Deployment\/peakride-api: /);
  }, 60_000);

  it('When the registry is asked, then it knows every kind the manifests use', () => {
    const used = new Set(resourceObjects.map(({ object }) => `${object.apiVersion} ${object.kind}`));
    for (const kind of used) expect(knownKinds()).toContain(kind);
  });
});

describe('the kustomization checks, given broken kustomizations', () => {
  const dir = join(kubernetesDir, 'overlays/example');
  const kinds: Record<string, PathKind> = {
    [join(kubernetesDir, 'base')]: 'kustomization',
    [join(kubernetesDir, 'components/istio')]: 'component',
    [join(dir, 'patch.yaml')]: 'file',
  };
  const kindOf = (path: string) => kinds[path];
  const valid = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['../../base'],
  };
  it.each<[string, Record<string, unknown>, string]>([
    [
      'a missing resource',
      { ...valid, resources: ['../../base', 'missing.yaml'] },
      'resources: missing.yaml does not exist',
    ],
    [
      'a component listed as a resource',
      { ...valid, resources: ['../../components/istio'] },
      'is a component, expected a file or kustomization',
    ],
    [
      'a kustomization listed as a component',
      { ...valid, components: ['../../base'] },
      'is a kustomization, expected a component',
    ],
    ['a missing patch', { ...valid, patches: [{ path: 'nope.yaml' }] }, 'patches: nope.yaml does not exist'],
    [
      'a patch with both path and patch',
      { ...valid, patches: [{ path: 'patch.yaml', patch: '[]' }] },
      'exactly one of path and patch',
    ],
    [
      'a missing generator file',
      { ...valid, configMapGenerator: [{ name: 'c', envs: ['c.env'] }] },
      'configMapGenerator: c.env does not exist',
    ],
    ['a remote resource', { ...valid, resources: ['https://example.com/x.yaml'] }, 'is remote'],
    [
      'a deprecated field',
      { ...valid, patchesStrategicMerge: ['patch.yaml'] },
      'patchesStrategicMerge is deprecated',
    ],
    ['a misspelt field', { ...valid, patchs: [] }, 'unknown field patchs'],
    ['a wrong kind', { ...valid, kind: 'Kustomisation' }, 'must be a Kustomization'],
  ])('When it has %s, then the check says so', (_, kustomization, message) => {
    const { problems } = checkKustomization(dir, kustomization, kindOf);
    expect(problems.join('\n')).toContain(message);
  });

  it('When a manifest is in the tree but no kustomization lists it, then the tree check names it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peakride-tree-'));
    try {
      await writeFile(join(dir, 'kustomization.yaml'), stringify({ ...valid, resources: ['listed.yaml'] }));
      await writeFile(join(dir, 'listed.yaml'), '');
      await writeFile(join(dir, 'forgotten.yaml'), '');
      const { problems } = checkTree(dir);
      expect(problems).toEqual([`${show(join(dir, 'forgotten.yaml'))}: no kustomization references it`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('When a patch file neither names its target nor is a JSON patch, then the check says so', () => {
    expect(patchProblems('p.yaml', [{ spec: { replicas: 1 } }]).join()).toContain(
      'does not name the apiVersion, kind and metadata.name',
    );
    expect(patchProblems('p.yaml', [[{ op: 'upsert', path: '/spec' }]]).join()).toContain(
      'is not a JSON patch operation',
    );
  });

  it('When an env file has a line that is not KEY=value, then it is reported with its line', () => {
    expect(envFile('# fine\nA=1\nnot a setting\n').problems).toEqual(['line 3: not KEY=value']);
  });
});

describe('the consistency checks, given broken builds', () => {
  it.each<[string, string[], (objects: Sourced[]) => void, string]>([
    [
      'a pod template whose labels its selector misses',
      [],
      (o) =>
        set(find(o, 'Deployment', 'peakride-worker'), 'spec.template.metadata.labels', {
          'app.kubernetes.io/name': 'peakride',
        }),
      'selector does not match its pod template labels',
    ],
    [
      'a writable root filesystem',
      [],
      (o) =>
        set(
          find(o, 'Deployment', 'peakride-api'),
          `${container}.securityContext.readOnlyRootFilesystem`,
          false,
        ),
      'readOnlyRootFilesystem must be true',
    ],
    [
      'a pod that may run as root',
      [],
      (o) => {
        const job = find(o, 'Job', 'peakride-migrate');
        set(job, 'spec.template.spec.securityContext.runAsNonRoot', undefined);
        set(job, `${container}.securityContext.runAsNonRoot`, undefined);
      },
      'runAsNonRoot must be true',
    ],
    [
      'a service account token mounted',
      [],
      (o) =>
        set(
          find(o, 'Deployment', 'peakride-dispatch'),
          'spec.template.spec.automountServiceAccountToken',
          true,
        ),
      'automountServiceAccountToken must be false',
    ],
    [
      'a role on another image',
      [],
      (o) => set(find(o, 'Deployment', 'peakride-worker'), `${container}.image`, 'peakride-worker'),
      'every role must run one image',
    ],
    [
      'a PORT the containers do not listen on',
      [],
      (o) => set(find(o, 'ConfigMap', 'peakride-config'), 'data.PORT', '9090'),
      'container port http is 8080, PORT is 9090',
    ],
    [
      'an unknown configuration variable',
      [],
      (o) => set(find(o, 'ConfigMap', 'peakride-config'), 'data.PEAKRIDE_DRAIN_DELAY', '5'),
      'unknown configuration variable PEAKRIDE_DRAIN_DELAY',
    ],
    [
      'a readiness probe on the liveness endpoint',
      [],
      (o) =>
        set(find(o, 'Deployment', 'peakride-api'), `${container}.readinessProbe.httpGet.path`, '/healthz'),
      'readinessProbe must GET /readyz',
    ],
    [
      'a probe on a port nobody listens on',
      [],
      (o) => set(find(o, 'Deployment', 'peakride-api'), `${container}.livenessProbe.httpGet.port`, 'metrics'),
      'livenessProbe port metrics is no container port',
    ],
    [
      'a grace period shorter than the pause and the shutdown',
      [],
      (o) =>
        set(find(o, 'Deployment', 'peakride-api'), 'spec.template.spec.terminationGracePeriodSeconds', 30),
      'terminationGracePeriodSeconds 30 is less than the preStop sleep 5 + PEAKRIDE_SHUTDOWN_GRACE_SECONDS 30',
    ],
    [
      'a drain delay the shutdown grace does not cover',
      [],
      (o) => set(find(o, 'ConfigMap', 'peakride-config'), 'data.PEAKRIDE_DRAIN_DELAY_SECONDS', '30'),
      'shutdown grace 30 s must exceed the drain delay 30 s',
    ],
    [
      'no preStop pause',
      [],
      (o) => set(find(o, 'Deployment', 'peakride-dispatch'), `${container}.lifecycle`, undefined),
      'shutdown: no preStop sleep',
    ],
    [
      'no writable /tmp',
      [],
      (o) => set(find(o, 'Deployment', 'peakride-worker'), `${container}.volumeMounts`, []),
      'has no writable emptyDir at /tmp',
    ],
    [
      'a role label its arguments contradict',
      [],
      (o) =>
        set(find(o, 'Deployment', 'peakride-dispatch'), `${container}.args`, ['serve', '--role', 'worker']),
      'args: runs serve --role worker but is labelled component dispatch',
    ],
    [
      'a secret key of another name',
      [],
      (o) =>
        set(find(o, 'Deployment', 'peakride-api'), `${container}.env.0.valueFrom.secretKeyRef.key`, 'DB'),
      'env: DATABASE_URL (DB) is not a configuration variable of its own name',
    ],
    [
      'a ConfigMap that is not there',
      [],
      (o) =>
        set(
          find(o, 'Deployment', 'peakride-api'),
          `${container}.envFrom.0.configMapRef.name`,
          'peakride-settings',
        ),
      'reference: ConfigMap peakride-settings is not in the build',
    ],
    [
      'a Secret nobody creates',
      [],
      (o) =>
        set(find(o, 'Deployment', 'peakride-api'), `${container}.env.1.valueFrom.secretKeyRef.name`, 'redis'),
      'reference: Secret redis is not in the build',
    ],
    [
      'a Service on a port the pods do not have',
      [],
      (o) => set(find(o, 'Service', 'peakride-api'), 'spec.ports.0.targetPort', 'web'),
      'targetPort web is not a port of peakride-api',
    ],
    [
      'a Service selecting nothing',
      [],
      (o) =>
        set(
          find(o, 'Service', 'peakride-worker'),
          ['spec', 'selector', 'app.kubernetes.io/component'],
          'workers',
        ),
      'service: selector matches no pod template',
    ],
    [
      'a budget over every role',
      [],
      (o) =>
        set(find(o, 'PodDisruptionBudget', 'peakride-api'), 'spec.selector.matchLabels', {
          'app.kubernetes.io/name': 'peakride',
        }),
      'budget: selector must match exactly one Deployment, matches 3',
    ],
    [
      'an HPA scaling a Deployment that is not there',
      [],
      (o) =>
        set(find(o, 'HorizontalPodAutoscaler', 'peakride-api'), 'spec.scaleTargetRef.name', 'peakride-web'),
      'autoscaling: target Deployment/peakride-web is not in the build',
    ],
    [
      'replicas on an autoscaled Deployment',
      [],
      (o) => set(find(o, 'Deployment', 'peakride-api'), 'spec.replicas', 3),
      'autoscaling: sets replicas, which peakride-api owns',
    ],
    [
      'a ScaledObject beside the HPA',
      ['components/keda/api-scaledobject.yaml'],
      () => {},
      'autoscaling: peakride-api has 2 autoscalers',
    ],
    [
      'an HPA metric the adapter does not serve',
      ['components/prometheus-adapter/adapter-rules.yaml'],
      (o) => {
        const data = find(o, 'ConfigMap', 'peakride-prometheus-adapter').data as Record<string, string>;
        data['config.yaml'] = String(data['config.yaml']).replace(
          'as: peakride_event_loop_utilization',
          'as: elu',
        );
      },
      'the Pods metric peakride_event_loop_utilization is not served by the adapter rules',
    ],
    [
      'a ServiceMonitor on a port the pods do not have',
      ['components/monitoring/servicemonitor.yaml'],
      (o) => set(find(o, 'ServiceMonitor', 'peakride'), 'spec.endpoints.0.targetPort', 'metrics'),
      'monitoring: targetPort metrics is not a port behind peakride-api',
    ],
    [
      'a route to a Service port that does not exist',
      ['components/istio/virtualservice.yaml', 'components/istio/gateway.yaml'],
      (o) =>
        set(find(o, 'VirtualService', 'peakride-api'), 'spec.http.1.route.0.destination.port.number', 80),
      'istio: destination peakride-api:80 is no Service port',
    ],
    [
      'a route timeout Istio refuses',
      ['components/istio/virtualservice.yaml', 'components/istio/gateway.yaml'],
      (o) => set(find(o, 'VirtualService', 'peakride-api'), 'spec.http.0.timeout', '0s'),
      'istio: /spec/http/0/timeout 0s must be a duration of at least 1ms',
    ],
    [
      'a route through a gateway that does not exist',
      ['components/istio/virtualservice.yaml'],
      () => {},
      'istio: gateway peakride is not in the build',
    ],
    [
      'a traffic policy for a host that does not exist',
      ['components/istio/destinationrule.yaml'],
      (o) => set(find(o, 'DestinationRule', 'peakride-api'), 'spec.host', 'api'),
      'istio: host api is no Service',
    ],
    [
      'an authorization policy selecting no pod',
      ['components/istio/authorizationpolicy.yaml'],
      (o) =>
        set(find(o, 'AuthorizationPolicy', 'peakride-api-ingress'), 'spec.selector.matchLabels.app', 'api'),
      'istio: selector matches no pod template',
    ],
    [
      'placeholders sized unlike the api pods (base api pods are smaller than prod ones)',
      ['components/overprovisioning/priorityclass.yaml', 'components/overprovisioning/placeholder.yaml'],
      () => {},
      'overprovisioning: requests {"cpu":"1","memory":"1Gi"} differ from an api pod\'s {"cpu":"1","memory":"512Mi"}',
    ],
    [
      'a chaos experiment whose hypothesis names no objective of the SLO file',
      ['components/chaos/pod-kill-api.yaml'],
      (o) =>
        set(find(o, 'PodChaos', 'peakride-api-pod-kill'), 'metadata.annotations.peakride/slo', 'api-uptime'),
      'chaos: api-uptime is not an objective of slo/objectives.yaml',
    ],
    [
      'a chaos experiment without a hypothesis',
      ['components/chaos/stress-cpu-api.yaml'],
      (o) => set(find(o, 'StressChaos', 'peakride-api-cpu-stress'), 'metadata.annotations', {}),
      'chaos: needs the annotations peakride/slo and peakride/steady-state',
    ],
    [
      'a scheduled experiment selecting no pod',
      ['components/chaos/schedule-pod-kill-api.yaml'],
      (o) =>
        set(
          find(o, 'Schedule', 'peakride-api-pod-kill-schedule'),
          ['spec', 'podChaos', 'selector', 'labelSelectors', 'app.kubernetes.io/component'],
          'web',
        ),
      'chaos: selector matches no pod template',
    ],
  ])('When a build has %s, then the check says so', (_, extra, mutate, message) => {
    const objects = structuredClone(loadBase(...extra));
    mutate(objects);
    expect(consistencyProblems(objects, context()).join('\n')).toContain(message);
  });

  it('When an overlay leaves objects outside its namespace, then the check says so', () => {
    expect(consistencyProblems(loadBase(), context({ namespaced: true })).join('\n')).toContain(
      'namespace: none is not a Namespace of the build',
    );
  });
});

const kustomize = await kubectlVersion();
const skipped = kustomize
  ? ''
  : ' (skipped: kubectl is not on PATH, so no overlay can be built; install kubectl 1.27+)';

describe.skipIf(!kustomize)(`the kustomize builds${skipped}`, () => {
  const builds: Record<string, Sourced[]> = {};
  const components = ['istio', 'monitoring', 'prometheus-adapter', 'keda', 'overprovisioning', 'chaos'];
  beforeAll(async () => {
    const overlays = ['base', 'overlays/dev', 'overlays/prod'];
    const built = await Promise.all([
      ...overlays.map((dir) => build(join(kubernetesDir, dir))),
      ...components.map((component) =>
        buildWith(`base + components/${component}`, {
          resources: ['base'],
          components: [`components/${component}`],
          namespace: 'peakride-test',
        }),
      ),
      // The chaos experiments' targets are the dev overlay's PostgreSQL and Redis.
      buildWith('overlays/dev + components/chaos', {
        resources: ['overlays/dev'],
        components: ['components/chaos'],
        namespace: 'peakride-dev',
      }),
    ]);
    const names = [...overlays, ...components.map((component) => `base+${component}`), 'dev+chaos'];
    names.forEach((name, index) => {
      builds[name] = built[index]!;
    });
  }, 120_000);

  it('When every overlay and component is built, then every object of the output validates against its schema', () => {
    for (const objects of Object.values(builds)) {
      expect(objects.length).toBeGreaterThan(10);
      expect(objects.flatMap(schemaProblems)).toEqual([]);
    }
  });

  it('When every build is compiled against the models, then no field is unknown or of the wrong type', () => {
    expect(unknownFieldProblems(Object.values(builds).flat())).toEqual([]);
  }, 60_000);

  it('When the overlays are built, then their objects agree and sit in their namespace', () => {
    expect(consistencyProblems(builds.base!, context())).toEqual([]);
    expect(consistencyProblems(builds['overlays/dev']!, context({ namespaced: true }))).toEqual([]);
    expect(consistencyProblems(builds['overlays/prod']!, context({ namespaced: true }))).toEqual([]);
    expect(
      consistencyProblems(builds['dev+chaos']!, context({ namespaced: true, chaosTargets: true })),
    ).toEqual([]);
  });

  it('When each component is built on the base, then its objects agree with the base', () => {
    for (const component of components) {
      const problems = consistencyProblems(builds[`base+${component}`]!, context());
      // The placeholders are sized for overlays/prod's api pods, not the base's (checked on prod).
      expect(problems.filter((problem) => !problem.includes('overprovisioning:'))).toEqual([]);
    }
  });

  const kinds = (name: string) => builds[name]!.map(({ object }) => object.kind);
  const config = (name: string) =>
    builds[name]!.find(
      ({ object }) => object.kind === 'ConfigMap' && object.metadata?.name?.startsWith('peakride-config'),
    )?.object.data as Record<string, string>;
  const object = (name: string, kind: string, objectName: string) => find(builds[name]!, kind, objectName);

  it('When overlays/dev is built, then it runs one pod per role with development tokens, its own backends and no autoscaler', () => {
    expect(config('overlays/dev').AUTH_MODE).toBe('dev');
    expect(kinds('overlays/dev')).not.toContain('HorizontalPodAutoscaler');
    for (const role of ['api', 'dispatch', 'worker'])
      expect(object('overlays/dev', 'Deployment', `peakride-${role}`)).toMatchObject({
        spec: { replicas: 1 },
      });
    expect(object('overlays/dev', 'Secret', 'peakride-secrets')).toBeDefined();
    expect(object('overlays/dev', 'Deployment', 'peakride-postgresql')).toBeDefined();
    expect(object('overlays/dev', 'Deployment', 'peakride-redis')).toBeDefined();
  });

  it('When overlays/prod is built, then it verifies tokens, scales the api, runs in the mesh with monitoring, and runs no chaos', () => {
    expect(config('overlays/prod').AUTH_MODE).toBe('jwt');
    const prod = kinds('overlays/prod');
    for (const kind of [
      'HorizontalPodAutoscaler',
      'VirtualService',
      'DestinationRule',
      'PeerAuthentication',
      'ServiceMonitor',
      'PrometheusRule',
      'PriorityClass',
    ])
      expect(prod).toContain(kind);
    expect(
      builds['overlays/prod']!.some(({ object }) => object.apiVersion.startsWith('chaos-mesh.org')),
    ).toBe(false);
    expect(builds['overlays/prod']!.some(({ object }) => object.kind === 'Secret')).toBe(false);
    expect(object('overlays/prod', 'ConfigMap', 'peakride-prometheus-adapter').metadata?.namespace).toBe(
      'monitoring',
    );
    expect(object('overlays/prod', 'HorizontalPodAutoscaler', 'peakride-api')).toMatchObject({
      spec: { minReplicas: 6, maxReplicas: 60 },
    });
    const images = builds['overlays/prod']!.flatMap(({ object }) =>
      object.metadata?.name?.startsWith('peakride-') && object.kind === 'Deployment'
        ? [
            (object.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec
              .containers[0]!.image,
          ]
        : [],
    );
    expect(new Set(images)).toEqual(
      new Set(['registry.example.com/peakride:0.1.0', 'registry.k8s.io/pause:3.10']),
    );
  });

  it('When a kustomization names a component that does not exist, then the build fails', async () => {
    await expect(
      buildWith('base + components/nope', {
        resources: ['base'],
        components: ['components/nope'],
        namespace: 'x',
      }),
    ).rejects.toThrow(/components\/nope/);
  });

  it('When KEDA replaces the HPA, then there is one autoscaler and it behaves as the HPA does', () => {
    expect(kinds('base+keda')).not.toContain('HorizontalPodAutoscaler');
    const hpa = object('base', 'HorizontalPodAutoscaler', 'peakride-api').spec as Record<string, unknown>;
    const scaled = object('base+keda', 'ScaledObject', 'peakride-api').spec as {
      minReplicaCount: number;
      maxReplicaCount: number;
      advanced: { horizontalPodAutoscalerConfig: { behavior: unknown } };
    };
    expect(scaled.minReplicaCount).toBe(hpa.minReplicas);
    expect(scaled.maxReplicaCount).toBe(hpa.maxReplicas);
    expect(scaled.advanced.horizontalPodAutoscalerConfig.behavior).toEqual(hpa.behavior);
  });
});

const run = promisify(execFile);
const cli = join(root, 'dist/peakride.js');

describe('the generated monitoring component', () => {
  beforeAll(() => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does).`);
  });

  it('When peakride slo --check runs, then the PrometheusRule and dashboard ConfigMap are up to date with slo/objectives.yaml', async () => {
    const { stdout } = await run(process.execPath, [cli, 'slo', '--check'], { cwd: root, timeout: 60_000 });
    expect(stdout).toContain('deploy/kubernetes/components/monitoring');
  });

  it('When read, then the PrometheusRule holds the groups of the rules file and the ConfigMap the dashboard', () => {
    const monitoring = join(kubernetesDir, 'components/monitoring');
    const rules = parse(readFileSync(join(root, 'deploy/monitoring/peakride-slo-rules.yaml'), 'utf8')) as {
      groups: unknown;
    };
    const rule = find(load(join(monitoring, 'prometheus-rule.yaml')), 'PrometheusRule', 'peakride-slo');
    expect((rule.spec as { groups: unknown }).groups).toEqual(rules.groups);
    const board = find(load(join(monitoring, 'grafana-dashboard.yaml')), 'ConfigMap', 'peakride-dashboard');
    expect(board.metadata?.labels?.grafana_dashboard).toBe('1');
    expect((board.data as Record<string, string>)['peakride-dashboard.json']).toBe(
      readFileSync(join(root, 'deploy/monitoring/peakride-dashboard.json'), 'utf8'),
    );
  });
});
