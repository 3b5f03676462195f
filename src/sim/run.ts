import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cities } from '../domain/city.js';
import { defaultMaxConnections, openFileLimit } from '../ops/open-files.js';
import { loadObjectives } from '../ops/slo/objectives.js';
import { createFleet } from './agents/fleet.js';
import { startRider } from './agents/rider.js';
import type { BookedRide, World } from './agents/world.js';
import { createApiClient } from './api-client.js';
import { createArrivals } from './arrivals.js';
import { audit } from './audit.js';
import { startEmbeddedPlatform } from './embedded.js';
import { createRandom } from './random.js';
import { createProgress } from './report/progress.js';
import { createRecorder } from './report/recorder.js';
import { buildReport, formatSummary, type Report } from './report/report.js';
import { evaluateObjectives } from './report/slo.js';
import { writeReport } from './report/write.js';
import { loadScenario, scenarioFrom } from './scenario.js';
import { createScheduler } from './scheduler.js';
import { loadTrace } from './trace.js';
import type { Scenario } from './types.js';

export interface SimOptions {
  /** A shipped scenario's name or a scenario file's path. */
  scenario: string;
  /** The API to drive; unset starts an embedded platform for the run. */
  target?: string;
  /** Simulated seconds to run; the scenario's length (from `fromSeconds`) when unset. */
  durationSeconds?: number;
  /** Where in the scenario the run starts (seconds, whole minutes); 0 when unset. */
  fromSeconds?: number;
  /** Simulated seconds per wall second; the scenario's own speed when unset. */
  speed?: number;
  seed: number;
  /** Multiplies the scenario's demand and drivers. */
  scale: number;
  /** Where report.json, report.html and (embedded) platform.log go. */
  out: string;
  offers: 'websocket' | 'polling';
  /** The SLO file the run is judged against. */
  objectives: string;
  /** Live progress goes here (stderr); the summary to `output`. */
  progress?: NodeJS.WriteStream;
  output: NodeJS.WritableStream;
}

export interface SimResult {
  report: Report;
  files: { json: string; html: string };
}

const cpuSeconds = ({ user, system }: NodeJS.CpuUsage) => (user + system) / 1e6;

/** In-flight requests get this long (wall) to finish once the run settles. */
const WIND_DOWN_MS = 3000;
/** While settling, the run looks this often (wall) for rides still searching. */
const SETTLE_CHECK_SECONDS = 0.25;
const API_CONNECTIONS = 128;
const AUDIT_CONNECTIONS = 16;

/**
 * Every simulated app holds a WebSocket, but this process has only so many files: the sockets
 * stop short of the open-file limit (less the reserve and the HTTP connections), and the agents
 * past it poll, as an app whose socket cannot connect does.
 */
const webSocketBudget = () =>
  (defaultMaxConnections(openFileLimit()) ?? Number.POSITIVE_INFINITY) - API_CONNECTIONS - AUDIT_CONNECTIONS;

/** Series buckets: about this many over the run, whatever its length. */
const BUCKETS = 240;

/**
 * One simulator run (docs/simulator.md): the scenario's riders and drivers drive the public API
 * of the target on one scheduler, then the audit checks the invariants and the report is
 * written. The caller decides the exit code from `report.verdict`.
 */
export const runSimulation = async (options: SimOptions): Promise<SimResult> => {
  const scenario = scenarioFrom(await loadScenario(options.scenario), options.fromSeconds ?? 0);
  const city = cities.find((candidate) => candidate.id === scenario.city);
  if (!city) throw new Error(`scenario ${scenario.name}: no served city "${scenario.city}"`);
  const trace = scenario.demand.trace
    ? await loadTrace(scenario.demand.trace.file, { city: city.id })
    : undefined;
  if (trace && trace.skipped.length > 0) {
    const first = trace.skipped.slice(0, 5).map((row) => `line ${row.line}: ${row.reason}`);
    options.progress?.write(
      `${trace.file}: ${trace.skipped.length} row(s) skipped (${first.join('; ')}${trace.skipped.length > 5 ? '; …' : ''})\n`,
    );
  }
  const objectives = await loadObjectives(options.objectives);
  const simulatedSeconds = Math.min(
    options.durationSeconds ?? scenario.durationSeconds,
    scenario.durationSeconds,
  );
  await mkdir(options.out, { recursive: true });

  const platform = options.target
    ? undefined
    : await startEmbeddedPlatform(join(resolve(options.out), 'platform.log'));
  const target = options.target ?? platform?.url ?? '';
  try {
    const report = await drive(
      options,
      scenario,
      city,
      trace,
      objectives,
      simulatedSeconds,
      target,
      platform !== undefined,
    );
    const files = await writeReport(options.out, report);
    options.output.write(`${formatSummary(report)}\n\nreport: ${files.html}\n        ${files.json}\n`);
    return { report, files };
  } finally {
    await platform?.stop();
  }
};

const drive = async (
  options: SimOptions,
  scenario: Scenario,
  city: (typeof cities)[number],
  trace: Awaited<ReturnType<typeof loadTrace>> | undefined,
  objectives: Awaited<ReturnType<typeof loadObjectives>>,
  simulatedSeconds: number,
  target: string,
  embedded: boolean,
) => {
  let startedAtMs = performance.now();
  const speed = options.speed ?? scenario.speed ?? 1;
  const scheduler = createScheduler(speed);
  const recorder = createRecorder({
    bucketSeconds: Math.max(1, Math.ceil(simulatedSeconds / BUCKETS)),
    expectedSeconds: simulatedSeconds,
  });
  // Off while the fleet's first drivers go online: setting the city up is not the scenario.
  let measuring = false;
  const api = createApiClient(
    target,
    (kind, status, latencyMs, shed) => {
      if (!measuring) return;
      if (shed) recorder.shed(kind, scheduler.now());
      else recorder.request(kind, status, latencyMs, scheduler.now());
    },
    API_CONNECTIONS,
    webSocketBudget(),
  );
  // Subjects unique to the run, so a target that served an earlier run holds no ride of theirs.
  const runTag = `sim-${randomBytes(3).toString('hex')}`;
  let online = 0;
  const world: World = {
    scenario,
    city,
    scheduler,
    api,
    recorder,
    random: createRandom(options.seed),
    offers: options.offers,
    rides: new Map<string, BookedRide>(),
    stopping: false,
    live: new Set(),
    onlineDrivers: (delta) => {
      online += delta;
      return online;
    },
  };
  const fleet = createFleet(world, runTag, options.scale);
  const arrivals = createArrivals(scenario, {
    seed: options.seed,
    scale: options.scale,
    ...(trace ? { trace } : {}),
  });
  await fleet.warmUp();
  const metricsBefore = await api.metrics();

  const progress = options.progress
    ? createProgress(options.progress, () => ({
        scenario,
        simulatedSeconds: scheduler.now(),
        durationSeconds: simulatedSeconds,
        wallSeconds: (performance.now() - startedAtMs) / 1000,
        live: recorder.live(5),
        totals: recorder.totals(),
      }))
    : undefined;

  let riderCount = 0;
  /** Riders between their arrival and their booking's answer. */
  let arriving = 0;
  let cpuAtStart = process.cpuUsage();
  let wallSeconds = 0;
  let simulatorCpuSeconds = 0;
  let settleSeconds = 0;
  /**
   * Once the scenario's time is up no rider arrives, but the run goes on until every booked ride
   * has met its fate (a driver, expiry or the rider's cancel), bounded by the riders' patience:
   * the rides booked at the peak's end count in the time-to-match objective like the others.
   */
  const settle = (settled: () => void) => {
    const startedMs = performance.now();
    const limitMs = (scenario.riders.patienceSeconds + 10) * 1000;
    const check = () => {
      const open = arriving > 0 || [...world.rides.values()].some((ride) => ride.searching);
      if (open && performance.now() - startedMs < limitMs) scheduler.afterWall(SETTLE_CHECK_SECONDS, check);
      else {
        settleSeconds = (performance.now() - startedMs) / 1000;
        settled();
      }
    };
    check();
  };
  await new Promise<void>((done) => {
    measuring = true;
    startedAtMs = performance.now();
    cpuAtStart = process.cpuUsage();
    scheduler.start();
    fleet.start();
    // One arrival task in the queue at a time: each schedules the next.
    const feed = () => {
      const next = arrivals.next();
      if (!next || next.at >= simulatedSeconds) return;
      scheduler.at(next.at, (due) => {
        arriving++;
        void startRider(world, `${runTag}-rider-${riderCount++}`, next, due)
          .catch(() => recorder.outcome('failed', scheduler.now()))
          .finally(() => arriving--);
        feed();
      });
    };
    feed();
    scheduler.at(simulatedSeconds, () => {
      wallSeconds = (performance.now() - startedAtMs) / 1000;
      simulatorCpuSeconds = cpuSeconds(process.cpuUsage(cpuAtStart));
      settle(() => {
        world.stopping = true;
        setTimeout(done, WIND_DOWN_MS);
      });
    });
  });
  scheduler.stop();
  progress?.stop();
  for (const socket of world.live) socket.close();

  const metricsAfter = await api.metrics();
  // The audit reads are not part of the scenario's load: a client of their own, unrecorded.
  const auditor = createApiClient(target, () => {}, AUDIT_CONNECTIONS);
  const opsToken = await auditor.token('ops', `${runTag}-auditor`);
  const invariants = await audit(auditor, [...world.rides.values()], fleet.drivers, opsToken);
  await Promise.all([auditor.close(), api.close()]);

  const slo =
    metricsBefore !== undefined && metricsAfter !== undefined
      ? evaluateObjectives(objectives, metricsBefore, metricsAfter)
      : [];
  return buildReport(
    recorder,
    {
      scenario,
      seed: options.seed,
      speed,
      scale: options.scale,
      target,
      embedded,
      simulatedSeconds,
      wallSeconds,
      settleSeconds,
      webSockets: api.webSockets(),
      simulatorCpuSeconds,
      invariants,
      ...(metricsBefore !== undefined ? { metricsBefore } : {}),
      ...(metricsAfter !== undefined ? { metricsAfter } : {}),
    },
    slo,
  );
};
