import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Cores for a load benchmark on a small machine: the server on core 0, the load generators on
 * the others, so they take turns on no core. Undefined where that cannot be done (one core, no
 * taskset): the benchmark then says its processes shared every core.
 */
export const cpuPins = () => {
  const cores = availableParallelism();
  if (cores < 2 || !existsSync('/usr/bin/taskset')) return undefined;
  return { server: '0', load: cores === 2 ? '1' : `1-${cores - 1}` };
};

/** Moves this process, every thread of it, to `cpus`. */
export const pinSelf = (cpus) => {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
};

/** `command args` run on `cpus` only (taskset execs it: same pid, signals reach it). */
export const onCpus = (cpus, command, args) =>
  cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];

/**
 * Spawns a server process and resolves when it logs "peakride ready" and answers its first
 * request, with the time from spawn to that first answer. `cpus` pins it (see cpuPins).
 */
export const startServer = async (args, env = {}, cpus = undefined) => {
  const startedAt = performance.now();
  const [command, commandArgs] = onCpus(cpus, process.execPath, args);
  const child = spawn(command, commandArgs, {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      PEAKRIDE_DRAIN_DELAY_SECONDS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`)),
    );
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'peakride ready') resolve(entry.url);
      } catch {}
    });
  });
  const response = await fetch(`${url}/readyz`);
  if (!response.ok) throw new Error(`${url}/readyz answered ${response.status}`);
  const readyMs = performance.now() - startedAt;
  return {
    url,
    readyMs,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
};

export const load = (options) =>
  autocannon({ connections: 32, duration: 5, ...options }).then((result) => ({
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }));

export const post = async (url, path, body, headers = {}) => {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
};

const REPORT = new URL('../BENCHMARKS.md', import.meta.url);
const HEADER = `# Benchmarks

Every figure here is written by a benchmark script in \`bench/\` and is the median of several runs,
reported as a ratio against an anchor measured in the same run: the machine is shared and noisy, so
absolute numbers are only indicative. Each section says how to reproduce it.
`;

/**
 * Replaces one section of BENCHMARKS.md (from its "## title" line to the next "## " heading),
 * or appends it, so each benchmark script owns its own part of the report.
 */
export const writeSection = async (title, body) => {
  let report;
  try {
    report = await readFile(REPORT, 'utf8');
  } catch {
    report = HEADER;
  }
  const heading = `## ${title}`;
  const section = `${heading}\n\n${body.trim()}\n`;
  const start = report.indexOf(`${heading}\n`);
  if (start === -1) {
    report = `${report.trimEnd()}\n\n${section}`;
  } else {
    const next = report.indexOf('\n## ', start + heading.length);
    report = `${report.slice(0, start)}${section}${next === -1 ? '' : report.slice(next + 1)}`;
  }
  await writeFile(REPORT, report);
};

/**
 * The database backends to benchmark: PGlite always, PostgreSQL too when DATABASE_URL is set
 * (in a schema of its own, dropped by `cleanup`).
 */
export const benchBackends = async () => {
  // An empty DATABASE_URL counts as unset: the PGlite rows must not inherit the caller's PostgreSQL.
  // BENCH_BACKENDS=pglite or =postgresql measures one of them only (a quicker look at one change).
  const only = process.env.BENCH_BACKENDS?.toLowerCase().split(',');
  const wanted = (name) => !only || only.includes(name.toLowerCase());
  const list = wanted('PGlite') ? [{ name: 'PGlite', env: { DATABASE_URL: '' } }] : [];
  if (process.env.DATABASE_URL && wanted('PostgreSQL')) {
    const { default: pg } = await import('pg');
    const schema = `peakride_bench_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(process.env.DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    list.push({
      name: 'PostgreSQL',
      env: { DATABASE_URL: url.toString() },
      cleanup: async () => {
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      },
    });
  }
  return list;
};
