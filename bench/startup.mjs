// npm run bench:startup (and npm run bench): spawn-to-ready time of `peakride serve` on PostgreSQL
// and on PGlite against a bare Fastify server spawned the same way, and PGlite's own open time,
// interleaved round by round so load drifts hit all alike; medians of BENCH_STARTS rounds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { benchBackends, median, startServer, writeSection } from './lib.mjs';

const STARTS = Number(process.env.BENCH_STARTS ?? 10);
const cli = new URL('../dist/peakride.js', import.meta.url).pathname;
const anchor = new URL('./bare-fastify.mjs', import.meta.url).pathname;
const pgliteOpen = new URL('./pglite-open.mjs', import.meta.url).pathname;

/** Spawn to PGlite's first answer, in a process of its own like the server's. */
const timePgliteOpen = async (dataDir) => {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [pgliteOpen, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, 'line');
  const ms = performance.now() - startedAt;
  await once(child, 'exit');
  if (line !== 'open') throw new Error(`pglite-open printed ${line}`);
  return ms;
};

const timeStart = async (args, env) => {
  const server = await startServer(args, env);
  await server.stop();
  return server.readyMs;
};

const main = async () => {
  const loadAtStart = loadavg()[0].toFixed(2);
  const dataDir = await mkdtemp(join(tmpdir(), 'peakride-bench-start-'));
  let cleanup = async () => {};
  try {
    // An empty DATABASE_URL counts as unset: the PGlite runs must not inherit the caller's PostgreSQL.
    const subjects = [
      { name: 'bare Fastify (anchor)', time: () => timeStart([anchor], {}) },
      {
        name: 'peakride serve, PGlite',
        time: () => timeStart([cli, 'serve'], { DATABASE_URL: '', PEAKRIDE_DATA_DIR: dataDir }),
      },
      { name: "PGlite's own open (no peakride code)", time: () => timePgliteOpen(dataDir) },
    ];
    const postgres = (await benchBackends()).find((backend) => backend.name === 'PostgreSQL');
    if (postgres) {
      cleanup = postgres.cleanup;
      subjects.splice(1, 0, {
        name: 'peakride serve, PostgreSQL',
        time: () => timeStart([cli, 'serve'], postgres.env),
      });
    }
    // The first starts migrate (and PGlite runs initdb): measure warm starts, like a pod restart.
    for (const subject of subjects) await subject.time();
    const times = new Map(subjects.map((s) => [s.name, []]));
    for (let round = 0; round < STARTS; round++) {
      for (const subject of subjects) times.get(subject.name).push(await subject.time());
    }
    await writeReport(subjects, times, loadAtStart);
  } finally {
    await cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
};

const writeReport = async (subjects, times, loadAtStart) => {
  const when = new Date().toISOString().slice(0, 10);
  const anchorMs = median(times.get(subjects[0].name));
  const rows = subjects.map((s) => {
    const ms = median(times.get(s.name));
    return `| ${s.name} | ${(ms / anchorMs).toFixed(2)} | ${Math.round(ms)} | ${Math.round(Math.min(...times.get(s.name)))}–${Math.round(Math.max(...times.get(s.name)))} |`;
  });
  const serveLite = times.get('peakride serve, PGlite');
  const open = times.get("PGlite's own open (no peakride code)");
  const beyondOpen = median(serveLite.map((ms, i) => ms - open[i]));
  const body = `Spawn of a process to its first answer (\`/readyz\` 200 for a server; PGlite's first query for the
open alone), median of ${STARTS} rounds, each round starting every process once in turn so load drifts hit all
alike (\`bench/startup.mjs\`, ${when}, 1-minute load average ${loadAtStart} at the start). Warm starts: the
database is already migrated and PGlite's data directory initialised, like a pod restart. The target: on
PostgreSQL, at most 3× the bare Fastify server.

\`\`\`sh
npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:startup
\`\`\`

| process | time vs bare Fastify | median ms | range ms |
|---|---|---|---|
${rows.join('\n')}

On PGlite, the start beyond PGlite's own open (Node, peakride's modules, migrations check, listening) is
${Math.round(beyondOpen)} ms, the median of the per-round differences. (\`npm start\` adds npm's own start, about
0.2 s; PGlite's very first start also runs initdb, several seconds.)
`;
  await writeSection('Start-up', body);
  process.stdout.write(body);
};

await main();
