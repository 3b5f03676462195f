import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { quoteIdentifier } from '../../src/adapters/postgres/database.js';
import { driverClient, type Reply, riderClient, type TestPlatform, uniqueId } from './platform.js';

/**
 * Real `peakride serve` processes for the distributed-mode tests: each role runs the built CLI
 * (`dist/peakride.js`, as in production) on port 0 against its own PostgreSQL schema and Redis prefix,
 * so test files and runs never meet. `npm test` builds first.
 */

const CLI = fileURLToPath(new URL('../../dist/peakride.js', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export interface RoleProcess {
  role: string;
  /** Base URL of its HTTP server (every role answers /healthz, /readyz, /metrics). */
  url: string;
  pid: number;
  /** Every log line so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code (or the signal that ended it). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  readonly exited: boolean;
}

/** A PostgreSQL schema and a Redis prefix of its own, and the environment that points at them. */
export interface Cluster {
  env: Record<string, string>;
  start(role: 'api' | 'dispatch' | 'worker' | 'all', env?: Record<string, string>): Promise<RoleProcess>;
  /** Runs a role expected not to start: its exit code and everything it printed. */
  runToExit(
    role: 'api' | 'dispatch' | 'worker' | 'all',
    env: Record<string, string>,
  ): Promise<{ code: number | string; output: string; ms: number }>;
  /** Stops every process still running (SIGKILL after a grace period), drops the schema and keys. */
  cleanup(): Promise<void>;
}

/**
 * Spawns `peakride serve --role <role>` with exactly `env` (plus PATH) and resolves once it logs
 * that it is ready; `track` is told of the child first, so a caller can always clean it up.
 */
export const spawnServe = async (
  role: 'api' | 'dispatch' | 'worker' | 'all',
  env: Record<string, string>,
  track: (child: ChildProcess) => void = () => {},
  readyTimeoutMs = READY_TIMEOUT_MS,
): Promise<RoleProcess> => {
  const child = spawn(process.execPath, [CLI, 'serve', '--role', role], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const logs: Array<Record<string, unknown>> = [];
  let exited = false;
  const exit = once(child, 'exit').then(([code, signal]) => {
    exited = true;
    return (code ?? signal) as number | string;
  });
  let pending = '';
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${role} not ready in ${readyTimeoutMs} ms:\n${JSON.stringify(logs, null, 1)}`)),
      readyTimeoutMs,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'peakride ready' && typeof entry.url === 'string') {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          logs.push({ raw: line });
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => logs.push({ stderr: chunk.toString() }));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited (${code}) before ready:\n${JSON.stringify(logs, null, 1)}`));
    });
  });
  const address = await ready;
  return {
    role,
    url: address,
    pid: child.pid ?? -1,
    logs,
    get exited() {
      return exited;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!exited) child.kill(signal);
      return exit;
    },
  };
};

/**
 * Test processes share two cores with the test runner and each other: a starved process must not
 * shed the tests' own requests. The shedding tests turn it back on.
 */
export const noShedding = {
  PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS: '0',
  PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION: '0',
};

/** Every test process: port 0, dev tokens, no drain delay (tests that drain set one), no shedding. */
const testProcessEnv = {
  AUTH_MODE: 'dev',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  PEAKRIDE_DRAIN_DELAY_SECONDS: '0',
  ...noShedding,
};

/** A fresh PGlite data directory runs initdb first: about 10 s on a busy 2-core machine. */
const EMBEDDED_READY_TIMEOUT_MS = 90_000;

/**
 * The embedded platform (`serve --role all`, PGlite in a data directory of its own) as a real
 * process on port 0, with dev tokens; no drain delay unless `env` sets one. `cleanup` kills it if
 * still running and deletes its data.
 */
export const startEmbedded = async (env: Record<string, string> = {}) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'peakride-embedded-'));
  let child: ChildProcess | undefined;
  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const server = await spawnServe(
      'all',
      {
        ...testProcessEnv,
        PEAKRIDE_DATA_DIR: dataDir,
        ...env,
      },
      (spawned) => {
        child = spawned;
      },
      EMBEDDED_READY_TIMEOUT_MS,
    );
    return Object.assign(server, { cleanup });
  } catch (error) {
    await cleanup();
    throw error;
  }
};

export const clusterAvailable = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
export const clusterSkipReason = 'skipped: DATABASE_URL and REDIS_URL must both be set';

export const createCluster = async (baseEnv: Record<string, string> = {}): Promise<Cluster> => {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) throw new Error('DATABASE_URL and REDIS_URL must both be set');
  const suffix = randomBytes(5).toString('hex');
  const schema = `peakride_cluster_${suffix}`;
  const prefix = `peakride-test-${suffix}:`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const env: Record<string, string> = {
    DATABASE_URL: url.toString(),
    REDIS_URL: redisUrl,
    PEAKRIDE_REDIS_PREFIX: prefix,
    ...testProcessEnv,
    ...baseEnv,
  };
  const processes: ChildProcess[] = [];

  const start: Cluster['start'] = (role, extra = {}) =>
    spawnServe(role, { ...env, ...extra }, (child) => processes.push(child));

  const runToExit: Cluster['runToExit'] = async (role, extra) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, 'serve', '--role', role], {
      env: { PATH: process.env.PATH ?? '', ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    processes.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code, signal] = await once(child, 'exit');
    return { code: (code ?? signal) as number | string, output, ms: Date.now() - started };
  };

  return {
    env,
    start,
    runToExit,
    async cleanup() {
      await Promise.all(
        processes.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await once(child, 'exit');
          clearTimeout(killer);
        }),
      );
      await admin.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
      await admin.end();
      const redis = new Redis(redisUrl);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
};

/** The test harness's `request` over real HTTP, for the clients of test/support/platform.ts. */
export const remoteRequest =
  (baseUrl: string): TestPlatform['request'] =>
  async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(new URL(path, baseUrl), {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return {
      status: response.status,
      body: parsed,
      headers: Object.fromEntries(response.headers) as Reply['headers'],
    };
  };

/** Rider, driver and ops clients talking to one API process. */
export const clientsOf = (api: RoleProcess) => {
  const request = remoteRequest(api.url);
  const token = async (role: 'rider' | 'driver' | 'ops', subject: string) => {
    const reply = await request('POST', '/v1/dev/tokens', { body: { role, subject } });
    if (reply.status !== 201) throw new Error(`token: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body.token as string;
  };
  return {
    request,
    token,
    rider: async (subject = uniqueId('rider')) =>
      riderClient(request, subject, await token('rider', subject)),
    driver: async (subject = uniqueId('driver')) =>
      driverClient(request, subject, await token('driver', subject)),
  };
};
