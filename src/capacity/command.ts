import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadObjectives, SloFileError } from '../ops/slo/objectives.js';
import { packageRoot } from '../sim/package-root.js';
import { loadScenario, ScenarioFileError } from '../sim/scenario.js';
import { loadTrace, TraceFileError } from '../sim/trace.js';
import { runCluster } from './cluster.js';
import { costsOf } from './costs.js';
import { derivationNotes } from './demand.js';
import { HpaFileError, parseHpaManifest } from './hpa-manifest.js';
import { renderCapacityHtml } from './html.js';
import { type ClientMode, defaultParameters, type ModelParameters } from './parameters.js';
import { PodCapacityFileError, parsePodCapacity } from './pod-capacity.js';
import { recommend } from './recommend.js';
import { buildReport, renderText } from './report.js';
import { runServerless } from './serverless.js';
import { planObjectives } from './slo.js';

/**
 * `peakride capacity <scenario>`: reads the scenario, the HPA manifest, the measured pod capacity
 * and the SLO file, runs the model (pure, in this directory) and prints and writes what it found.
 * The only module of the model that touches files.
 */

export interface CapacityArguments {
  hpa?: string | undefined;
  'pod-capacity'?: string | undefined;
  objectives?: string | undefined;
  out?: string | undefined;
  json?: boolean | undefined;
  scale?: string | undefined;
  offers?: string | undefined;
  'book-share'?: string | undefined;
  'pod-start-seconds'?: string | undefined;
  'node-provisioning-seconds'?: string | undefined;
  'pods-per-node'?: string | undefined;
  'spare-pods'?: string | undefined;
  'max-nodes'?: string | undefined;
  'cpu-request'?: string | undefined;
  'cold-start-seconds'?: string | undefined;
  'serverless-concurrency'?: string | undefined;
  'fail-on-slo'?: boolean | undefined;
}

/** Relative to the working directory (a checkout's root), else to the installed package. */
export const capacityDefaults = {
  hpa: 'deploy/kubernetes/base/api-hpa.yaml',
  podCapacity: 'deploy/capacity/pod-capacity.json',
  objectives: 'slo/objectives.yaml',
  out: 'capacity-report',
} as const;

class UsageError extends Error {}

const defaultFile = (relative: string) => {
  if (existsSync(relative)) return relative;
  const shipped = join(packageRoot(), relative);
  return existsSync(shipped) ? shipped : relative;
};

const number = (
  name: string,
  text: string | undefined,
  rule: { min?: number; above?: number; max?: number; integer?: boolean },
): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    (rule.min === undefined || value >= rule.min) &&
    (rule.above === undefined || value > rule.above) &&
    (rule.max === undefined || value <= rule.max) &&
    (!rule.integer || Number.isInteger(value));
  if (!ok) {
    const what = [
      rule.integer ? 'a whole number' : 'a number',
      rule.min !== undefined ? `>= ${rule.min}` : '',
      rule.above !== undefined ? `> ${rule.above}` : '',
      rule.max !== undefined ? `<= ${rule.max}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    throw new UsageError(`--${name} must be ${what}, got "${text}"`);
  }
  return value;
};

/** The model's parameters: the defaults (parameters.ts), then the command line. */
const parametersFrom = (args: CapacityArguments): ModelParameters => {
  const clients = args.offers ?? 'websocket';
  if (clients !== 'websocket' && clients !== 'polling')
    throw new UsageError(`--offers must be websocket or polling, got "${clients}"`);
  const given: Partial<ModelParameters> = {};
  const set = <K extends keyof ModelParameters>(key: K, value: ModelParameters[K] | undefined) => {
    if (value !== undefined) given[key] = value;
  };
  set('scale', number('scale', args.scale, { above: 0 }));
  set('bookShare', number('book-share', args['book-share'], { min: 0, max: 1 }));
  set('podStartSeconds', number('pod-start-seconds', args['pod-start-seconds'], { min: 0, max: 3600 }));
  set(
    'nodeProvisioningSeconds',
    number('node-provisioning-seconds', args['node-provisioning-seconds'], { min: 0, max: 3600 }),
  );
  set('podsPerNode', number('pods-per-node', args['pods-per-node'], { min: 1, integer: true }));
  set('sparePods', number('spare-pods', args['spare-pods'], { min: 0, integer: true }));
  set('maxNodes', number('max-nodes', args['max-nodes'], { min: 1, max: 100_000, integer: true }));
  set('cpuRequestCores', number('cpu-request', args['cpu-request'], { above: 0, max: 64 }));
  set('coldStartSeconds', number('cold-start-seconds', args['cold-start-seconds'], { min: 0, max: 600 }));
  set(
    'serverlessConcurrency',
    number('serverless-concurrency', args['serverless-concurrency'], { min: 1, max: 1000, integer: true }),
  );
  return { ...defaultParameters, clients: clients as ClientMode, ...given };
};

const readText = async (file: string, fail: (problem: string) => Error) => {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw fail(`cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
};

/**
 * Returns the exit code: 0 done (1 with --fail-on-slo when the HPA misses a modelled SLO), 2 for
 * bad arguments, 78 for a scenario, trace, HPA, pod-capacity or SLO file that cannot be used.
 */
export const capacityCommand = async (
  scenarioName: string | undefined,
  args: CapacityArguments,
): Promise<number> => {
  try {
    if (!scenarioName)
      throw new UsageError(
        'name a scenario (steady, strike-day, city-launch, flash-peak, nyc-2014-04-04) or a scenario file',
      );
    // Arguments first: a typo fails before any file is read.
    const parameters = parametersFrom(args);
    const hpaFile = args.hpa ?? defaultFile(capacityDefaults.hpa);
    const capacityFile = args['pod-capacity'] ?? defaultFile(capacityDefaults.podCapacity);
    const objectivesFile = args.objectives ?? defaultFile(capacityDefaults.objectives);
    const out = args.out ?? capacityDefaults.out;

    const scenario = await loadScenario(scenarioName);
    const trace = scenario.demand.trace
      ? await loadTrace(scenario.demand.trace.file, { city: scenario.city })
      : undefined;

    const capacityText = await readText(
      capacityFile,
      (problem) => new PodCapacityFileError(capacityFile, '', problem),
    );
    let capacityDocument: unknown;
    try {
      capacityDocument = JSON.parse(capacityText);
    } catch (error) {
      throw new PodCapacityFileError(
        capacityFile,
        '',
        `not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const capacity = parsePodCapacity(capacityDocument, capacityFile);

    const hpaText = await readText(hpaFile, (problem) => new HpaFileError(hpaFile, '', problem));
    const { spec, notes } = parseHpaManifest(hpaText, hpaFile, parameters.downscaleStabilizationSeconds);
    const objectives = await loadObjectives(objectivesFile);

    const input = { scenario, ...(trace ? { trace } : {}) };
    const costs = costsOf(capacity);
    const plans = planObjectives(objectives);
    const cluster = runCluster(input, parameters, spec, capacity, costs, plans, { series: true });
    const serverless = runServerless(input, parameters, costs, plans, { series: true });
    if (!args.json)
      process.stderr.write(
        'peakride capacity: searching HPA settings for the cheapest that meets the SLOs…\n',
      );
    const recommendation = recommend(input, parameters, spec, capacity, costs, plans);
    const report = buildReport({
      scenario,
      parameters,
      hpaFile,
      hpa: spec,
      hpaNotes: notes,
      podCapacityFile: capacityFile,
      capacity,
      objectivesFile,
      derivation: derivationNotes(parameters),
      cluster,
      serverless,
      recommendation,
    });

    await mkdir(out, { recursive: true });
    const files = { json: resolve(join(out, 'capacity.json')), html: resolve(join(out, 'capacity.html')) };
    const json = JSON.stringify(report, null, 2);
    await writeFile(files.json, `${json}\n`);
    await writeFile(files.html, renderCapacityHtml(report));
    process.stdout.write(args.json ? `${json}\n` : renderText(report, files));
    return args['fail-on-slo'] && !report.hpa.holds ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`peakride capacity: ${error.message}\n`);
      return 2;
    }
    if (
      error instanceof ScenarioFileError ||
      error instanceof TraceFileError ||
      error instanceof HpaFileError ||
      error instanceof PodCapacityFileError ||
      error instanceof SloFileError
    ) {
      process.stderr.write(`peakride capacity: ${error.message}\n`);
      return 78;
    }
    throw error;
  }
};
