// npm run bench:sim (and npm run bench): what the city simulator itself costs. One scheduler
// drives every agent, so one core must drive 20,000 drivers reporting every 4 s: 5,000 location
// updates a second (docs/simulator.md).
//
// Each run, for each fleet size: a `peakride serve` (embedded) on core 0; on core 1, in turn,
// 1. `peakride sim` of a scenario with that many drivers and almost no riders, against it;
// 2. the anchor: a bare undici client sending the same location updates on the same schedule —
//    no agents, no scheduler, no WebSocket, no histogram — through a pool of the same size.
// The figure is the simulator's CPU (in cores, over the scenario's wall time) and its ratio to the
// anchor's: what the agents, the scheduler and the recording add to the HTTP client's own cost.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { cpuPins, median, onCpus, startServer, writeSection } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Seconds of each measured scenario. */
const DURATION = Number(process.env.BENCH_DURATION ?? 60);
const SIZES = (process.env.BENCH_SIM_DRIVERS ?? '5000,20000').split(',').map(Number);
/** As the simulator's drivers: every 4 s of simulated time, real time here. */
const REPORT_EVERY_SECONDS = 4;
/** The simulator's own pool (src/sim/run.ts). */
const CONNECTIONS = 128;
const cli = new URL('../dist/peakride.js', import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const PINS = cpuPins();

const scenarioYaml = (drivers) => `name: fleet-${drivers}
description: ${drivers} drivers online and a rider a minute, for the simulator's own cost.
city: paris
durationSeconds: ${DURATION}
startsAt: "11:00"
demand:
  baseRequestsPerMinute: 1
drivers:
  count: ${drivers}
`;

const serve = (dataDir) =>
  startServer(
    [cli, 'serve'],
    { DATABASE_URL: '', REDIS_URL: '', PEAKRIDE_DATA_DIR: dataDir, AUTH_MODE: 'dev' },
    PINS?.server,
  );

/** Runs a child on the load core to its end; resolves with its stdout. */
const runOnLoadCore = async (args) => {
  const [command, commandArgs] = onCpus(PINS?.load, process.execPath, args);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  return stdout;
};

const measureSimulator = async (drivers, run, work) => {
  const dataDir = join(work, `data-sim-${drivers}-${run}`);
  const out = join(work, `sim-${drivers}-${run}`);
  const scenario = join(work, `fleet-${drivers}.yaml`);
  await writeFile(scenario, scenarioYaml(drivers));
  const server = await serve(dataDir);
  try {
    await runOnLoadCore([cli, 'sim', scenario, '--target', server.url, '--out', out, '--seed', String(run)]);
  } finally {
    await server.stop();
  }
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
  const locations = report.requests.location;
  return {
    cores: report.simulatorCpu.cores,
    // Over the scenario: the settle phase after it is not in the CPU figure either.
    updatesPerSecond: locations.sent / (report.wallSeconds + report.settleSeconds),
    p99Ms: report.latencyMs.location.p99,
    failed: locations.serverError + locations.network,
    webSockets: report.webSockets,
  };
};

const measureAnchor = async (drivers, run, work) => {
  const server = await serve(join(work, `data-anchor-${drivers}-${run}`));
  try {
    return JSON.parse(await runOnLoadCore([SELF, '--bare', server.url, String(drivers)]));
  } finally {
    await server.stop();
  }
};

/**
 * The anchor's process: tokens for `drivers` drivers (setup, not timed), then each posts its
 * position every 4 s, spread evenly, each request leaving at its scheduled time, for DURATION s.
 * Its drivers are not online, so the answers are 409: the client's work per request is the same.
 */
const bare = async ([url, count]) => {
  const drivers = Number(count);
  const pool = new Pool(url, { connections: CONNECTIONS });
  const tokens = [];
  for (let i = 0; i < drivers; i += 64) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(64, drivers - i) }, async (_, j) => {
        const response = await pool.request({
          method: 'POST',
          path: '/v1/dev/tokens',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ role: 'driver', subject: `bare-${i + j}` }),
        });
        return (await response.body.json()).token;
      }),
    );
    tokens.push(...batch);
  }
  const rate = drivers / REPORT_EVERY_SECONDS;
  const latencies = [];
  let failed = 0;
  const pending = new Set();
  const cpuAtStart = process.cpuUsage();
  const startedAt = performance.now();
  const total = Math.floor(rate * DURATION);
  let sent = 0;
  await new Promise((done) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && startedAt + (sent * 1000) / rate <= now) {
        const scheduledAt = startedAt + (sent * 1000) / rate;
        const i = sent++ % drivers;
        const request = pool
          .request({
            method: 'POST',
            path: '/v1/drivers/me/location',
            headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
            body: JSON.stringify({ lat: 48.85 + (i % 100) / 1000, lng: 2.35 + (i % 77) / 1000, heading: 90 }),
          })
          .then(async (response) => {
            await response.body.dump();
            latencies.push(performance.now() - scheduledAt);
          })
          .catch(() => failed++)
          .finally(() => pending.delete(request));
        pending.add(request);
      }
      if (sent < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  await Promise.all(pending);
  await pool.close();
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      cores: (cpu.user + cpu.system) / 1e6 / wallSeconds,
      updatesPerSecond: sent / wallSeconds,
      p99Ms: latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)],
      failed,
    })}\n`,
  );
};

const main = async () => {
  const work = await mkdtemp(join(tmpdir(), 'peakride-bench-sim-'));
  const loadAtStart = loadavg()[0].toFixed(2);
  const results = Object.fromEntries(SIZES.map((size) => [size, { sim: [], bare: [] }]));
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const drivers of SIZES) {
        const sim = await measureSimulator(drivers, run, work);
        const anchor = await measureAnchor(drivers, run, work);
        results[drivers].sim.push(sim);
        results[drivers].bare.push(anchor);
        console.log(
          `run ${run}, ${drivers} drivers: simulator ${sim.cores.toFixed(2)} cores at ${Math.round(sim.updatesPerSecond)} updates/s, ` +
            `bare client ${anchor.cores.toFixed(2)} cores at ${Math.round(anchor.updatesPerSecond)}/s`,
        );
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const loadAtEnd = loadavg()[0].toFixed(2);
  const rows = SIZES.map((drivers) => {
    const { sim, bare: anchor } = results[drivers];
    const simCores = median(sim.map((r) => r.cores));
    const bareCores = median(anchor.map((r) => r.cores));
    const simRate = median(sim.map((r) => r.updatesPerSecond));
    const bareRate = median(anchor.map((r) => r.updatesPerSecond));
    const perUpdate = simCores / simRate / (bareCores / bareRate);
    const sockets = sim.at(-1).webSockets;
    return `| ${drivers.toLocaleString('en')} | ${Math.round(simRate).toLocaleString('en')} | **${simCores.toFixed(2)}** | ${median(sim.map((r) => r.p99Ms)).toFixed(0)} | ${sockets.peakOpen.toLocaleString('en')} / ${sockets.overBudget.toLocaleString('en')} | ${Math.round(bareRate).toLocaleString('en')} | ${bareCores.toFixed(2)} | ${perUpdate.toFixed(2)} |`;
  });
  const body = `Measured by \`npm run bench:sim\` (\`bench/sim-fleet.mjs\`) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version},
${PINS ? `the embedded platform pinned to core ${PINS.server}, the simulator and the anchor to core ${PINS.load}` : 'unpinned (no taskset or one core)'};
1-minute load average ${loadAtStart} at the start and ${loadAtEnd} at the end. Median of ${RUNS} runs, each on a fresh
platform. A scenario of N drivers online in Paris (one rider a minute), ${DURATION} s in real time: every driver
reports its position every 4 s and holds a WebSocket for offers. The anchor is a bare undici client (pool of
${CONNECTIONS}, as the simulator's) sending the same number of location updates per second on the same open-model
schedule, and nothing else; its drivers are not online, so its answers are 409s. Simulator CPU is over the
scenario's wall time, warm-up excluded.

| drivers | location updates/s (simulator) | simulator CPU, cores | location p99, ms | WebSockets open / agents polling | updates/s (bare client) | bare client CPU, cores | CPU per update, simulator ÷ bare client |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

The location p99 is the platform's, one embedded process on one core holding every WebSocket and
answering every update: what this section measures is the simulator's CPU, which stays under one core.
"Agents polling": the simulator keeps its WebSockets under its open-file limit (less a reserve), and the
drivers past it poll for offers every 2 s; raise \`ulimit -n\` to give each its socket. Reproduce with
\`BENCH_SIM_DRIVERS=${SIZES.join(',')} BENCH_RUNS=${RUNS} BENCH_DURATION=${DURATION} npm run bench:sim\`
(the defaults: 5000,20000 drivers, 3 runs, 60 s).`;
  await writeSection('City simulator: its own cost', body);
  console.log(body);
};

if (process.argv[2] === '--bare') await bare(process.argv.slice(3));
else await main();
