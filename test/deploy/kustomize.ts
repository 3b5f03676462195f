import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { K8sObject, Sourced } from './schema.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const kubernetesDir = join(root, 'deploy/kubernetes');
/** Repository-relative, for messages. */
export const show = (path: string) => relative(root, path) || '.';

/** What a path in a kustomization points at. */
export type PathKind = 'file' | 'kustomization' | 'component' | 'directory';
export type Role = 'resource' | 'patch' | 'generator' | 'transformer';
export interface Reference {
  /** Absolute path of a file (kustomization directories are followed, not listed). */
  path: string;
  role: Role;
}

/** Reads the kind of what `path` points at from the file system. */
export const pathKind = (path: string): PathKind | undefined => {
  if (!existsSync(path)) return undefined;
  if (!statSync(path).isDirectory()) return 'file';
  const file = join(path, 'kustomization.yaml');
  if (!existsSync(file)) return 'directory';
  return (parse(readFileSync(file, 'utf8')) as { kind?: string })?.kind === 'Component'
    ? 'component'
    : 'kustomization';
};

const fields = new Set([
  'apiVersion',
  'kind',
  'resources',
  'components',
  'patches',
  'images',
  'namespace',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'transformers',
  'generators',
  'labels',
  'commonAnnotations',
  'replicas',
  'namePrefix',
  'nameSuffix',
  'sortOptions',
  'buildMetadata',
]);
/** Deprecated in kustomize 5 (`kustomize edit fix` replaces them). */
const deprecated = new Set(['bases', 'patchesStrategicMerge', 'patchesJson6902', 'commonLabels', 'vars']);
const types = {
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
  Component: 'kustomize.config.k8s.io/v1alpha1',
} as const;

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The problems of one kustomization (`dir/kustomization.yaml`, parsed) and the files it
 * references: every path must exist and be what its field expects (a file; a kustomization
 * under `resources`, a Component under `components`), nothing remote, no deprecated field.
 */
export const checkKustomization = (
  dir: string,
  kustomization: unknown,
  kindOf: (path: string) => PathKind | undefined = pathKind,
) => {
  const name = `${show(dir)}/kustomization.yaml`;
  const problems: string[] = [];
  const references: Reference[] = [];
  if (!isRecord(kustomization)) return { problems: [`${name}: not a mapping`], references };
  const kind = kustomization.kind as keyof typeof types;
  if (!(kind in types) || kustomization.apiVersion !== types[kind])
    problems.push(
      `${name}: must be a Kustomization (${types.Kustomization}) or a Component (${types.Component})`,
    );
  for (const field of Object.keys(kustomization)) {
    if (deprecated.has(field)) problems.push(`${name}: ${field} is deprecated in kustomize 5`);
    else if (!fields.has(field)) problems.push(`${name}: unknown field ${field}`);
  }

  const expect = (entry: unknown, field: string, role: Role, allowed: PathKind[]) => {
    if (typeof entry !== 'string' || entry === '') return problems.push(`${name}: ${field}: not a path`);
    if (/^[a-z]+:\/\/|^github\.com\//.test(entry))
      return problems.push(`${name}: ${field}: ${entry} is remote; everything must be in the repository`);
    const path = resolve(dir, entry);
    const found = kindOf(path);
    if (!found) return problems.push(`${name}: ${field}: ${entry} does not exist`);
    if (!allowed.includes(found))
      return problems.push(`${name}: ${field}: ${entry} is a ${found}, expected a ${allowed.join(' or ')}`);
    if (found === 'file') references.push({ path, role });
  };

  for (const entry of asArray(kustomization.resources))
    expect(entry, 'resources', 'resource', ['file', 'kustomization']);
  for (const entry of asArray(kustomization.components))
    expect(entry, 'components', 'resource', ['component']);
  for (const patch of asArray(kustomization.patches)) {
    if (!isRecord(patch) || (patch.path === undefined) === (patch.patch === undefined))
      problems.push(`${name}: patches: each needs exactly one of path and patch`);
    else if (patch.path !== undefined) expect(patch.path, 'patches', 'patch', ['file']);
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    for (const generator of asArray(kustomization[field])) {
      if (!isRecord(generator) || typeof generator.name !== 'string') {
        problems.push(`${name}: ${field}: each needs a name`);
        continue;
      }
      for (const entry of asArray(generator.envs)) expect(entry, field, 'generator', ['file']);
      // `files` entries may rename the key: `key=path`.
      for (const entry of asArray(generator.files))
        expect(typeof entry === 'string' ? entry.slice(entry.indexOf('=') + 1) : entry, field, 'generator', [
          'file',
        ]);
    }
  }
  for (const field of ['transformers', 'generators']) {
    for (const entry of asArray(kustomization[field])) {
      // An inline configuration holds a newline; anything else is a path.
      if (typeof entry === 'string' && entry.includes('\n')) continue;
      expect(entry, field, 'transformer', ['file', 'kustomization']);
    }
  }
  return { problems, references };
};

/** Every file under `dir`, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );

/**
 * Every kustomization under deploy/kubernetes checked, and every other file there referenced
 * by one: a manifest nobody lists is never deployed, which is a mistake either way.
 */
export const checkTree = (dir = kubernetesDir) => {
  const files = filesUnder(dir);
  const problems: string[] = [];
  const references = new Map<string, Role>();
  for (const file of files.filter((path) => path.endsWith('/kustomization.yaml'))) {
    let parsed: unknown;
    try {
      parsed = parse(readFileSync(file, 'utf8'));
    } catch (error) {
      problems.push(`${show(file)}: not valid YAML: ${(error as Error).message}`);
      continue;
    }
    const result = checkKustomization(dirname(file), parsed);
    problems.push(...result.problems);
    for (const { path, role } of result.references) references.set(path, role);
  }
  for (const file of files) {
    if (file.endsWith('/kustomization.yaml') || references.has(file)) continue;
    problems.push(`${show(file)}: no kustomization references it`);
  }
  return {
    problems,
    references,
    kustomizations: files.filter((path) => path.endsWith('/kustomization.yaml')),
  };
};

/** The YAML documents of a manifest file; a syntax error is a problem naming the file. */
export const readDocuments = (file: string, text = readFileSync(file, 'utf8')) => {
  const documents = parseAllDocuments(text);
  const problems: string[] = [];
  const values: unknown[] = [];
  for (const [index, document] of documents.entries()) {
    if (document.errors.length > 0) {
      problems.push(`${show(file)}: document ${index + 1}: ${document.errors[0]?.message}`);
      continue;
    }
    const value = document.toJS();
    if (value !== null && value !== undefined) values.push(value);
  }
  return { values, problems };
};

const jsonPatchOps = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * A patch file's shape: a JSON 6902 patch (a list of operations) or strategic-merge patches
 * (objects naming the apiVersion, kind and name they patch). What they do is checked by
 * building the overlays, whose output is validated whole.
 */
export const patchProblems = (file: string, values: unknown[]): string[] => {
  const [first] = values;
  if (values.length === 1 && Array.isArray(first)) {
    return first.flatMap((operation, index) =>
      isRecord(operation) && jsonPatchOps.has(String(operation.op)) && String(operation.path).startsWith('/')
        ? []
        : [`${show(file)}: operation ${index + 1} is not a JSON patch operation (op and path)`],
    );
  }
  return values.flatMap((value, index) =>
    isRecord(value) &&
    typeof value.apiVersion === 'string' &&
    typeof value.kind === 'string' &&
    isRecord(value.metadata) &&
    typeof value.metadata.name === 'string'
      ? []
      : [`${show(file)}: patch ${index + 1} does not name the apiVersion, kind and metadata.name it patches`],
  );
};

/** `KEY=value` lines of an env file (kustomize `envs`); comments and blank lines aside. */
export const envFile = (text: string) => {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) problems.push(`line ${index + 1}: not KEY=value`);
    else entries.set(match[1]!, match[2]!);
  });
  return { entries, problems };
};

const run = promisify(execFile);

/** kubectl, when it is on PATH and can build a kustomization (kubectl kustomize, kustomize 5). */
export const kubectlVersion = async () => {
  try {
    const { stdout } = await run('kubectl', ['version', '--client'], { timeout: 20_000 });
    return /Kustomize Version: (\S+)/.exec(stdout)?.[1] ?? 'unknown';
  } catch {
    return undefined;
  }
};

/** `kubectl kustomize dir`, parsed. */
export const build = async (dir: string, name = show(dir)): Promise<Sourced[]> => {
  const { stdout } = await run('kubectl', ['kustomize', dir], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as K8sObject)
    .filter(Boolean)
    .map((object) => ({ object, source: `kustomize build ${name}` }));
};

/**
 * Builds a throwaway overlay (resources and components given relative to deploy/kubernetes),
 * for the components no shipped overlay uses. kustomize refuses absolute paths, so the
 * overlay refers to the tree by relative ones from the temporary directory.
 */
export const buildWith = async (
  name: string,
  { resources, components, namespace }: { resources: string[]; components: string[]; namespace: string },
) => {
  const dir = await mkdtemp(join(tmpdir(), 'peakride-kustomize-'));
  try {
    const rel = (path: string) => relative(dir, join(kubernetesDir, path));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      stringify({
        apiVersion: types.Kustomization,
        kind: 'Kustomization',
        namespace,
        resources: resources.map(rel),
        components: components.map(rel),
      }),
    );
    return await build(dir, name);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
