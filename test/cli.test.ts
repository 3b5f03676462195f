import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configVariables } from '../src/config.js';
import { CLI, type CliRun, startCli } from './support/cli.js';

const migrationsDir = new URL('../src/adapters/postgres/migrations/', import.meta.url);
/** A fresh PGlite data directory runs initdb first: about 10 s on a busy 2-core machine. */
const FIRST_START_MS = 120_000;

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];

/** The parent's environment without any peakride variable (DATABASE_URL above all), plus `env`. */
const cleanEnv = (env: Record<string, string>) => {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of configVariables) delete base[name];
  return { ...base, ...env };
};

const start = (args: string[], env: Record<string, string> = {}) =>
  startCli(args, { env: cleanEnv(env), running });

/** Runs the CLI to its end; fails (and kills it) if it takes longer than `timeoutMs`. */
const run = async (args: string[], env: Record<string, string> = {}, timeoutMs = 15_000) => {
  const { child, exited } = start(args, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const finished = await exited;
    if (finished.signal === 'SIGKILL') throw new Error(`peakride ${args.join(' ')} ran over ${timeoutMs} ms`);
    return finished;
  } finally {
    clearTimeout(timer);
  }
};

const freshDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peakride-cli-'));
  tempDirs.push(dir);
  return dir;
};

/** Resolves with the first JSON log line that satisfies `match`. */
const waitForLogLine = (
  output: { stdout: string },
  exited: Promise<CliRun>,
  match: (line: Record<string, unknown>) => boolean,
  timeoutMs: number,
) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void exited.then((finished) => {
      if (!done) reject(new Error(`exited with ${finished.code} before logging it: ${finished.stderr}`));
    });
    const poll = () => {
      for (const text of output.stdout.split('\n')) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        if (match(line)) {
          done = true;
          resolve(line);
          return;
        }
      }
      if (Date.now() > deadline) {
        done = true;
        reject(new Error(`no such log line within ${timeoutMs} ms; stdout: ${output.stdout}`));
        return;
      }
      setTimeout(poll, 50);
    };
    poll();
  });

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does).`);
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('peakride without a database', () => {
  it('When run with --help, then it prints the usage with every command and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage:');
    for (const command of ['peakride serve', 'peakride migrate']) expect(result.stdout).toContain(command);
    expect(result.stderr).toBe('');
  });

  it("When run with serve --help, then it prints serve's usage and exits 0 without starting", async () => {
    const result = await run(['serve', '--help'], { PORT: '0' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: peakride serve');
    expect(result.stdout).not.toContain('peakride ready');
  });

  it('When run with no command, then it prints the usage and exits non-zero', async () => {
    const result = await run([]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('Usage:');
  });

  it('When PORT is not a number, then serve exits non-zero with an error naming PORT', async () => {
    const dataDir = join(await freshDir(), 'data');
    const result = await run(['serve'], { PORT: 'abc', PEAKRIDE_DATA_DIR: dataDir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\bPORT\b/);
    expect(result.stderr).toContain('abc');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('When serve is given an unknown role, then it exits non-zero naming --role before touching any data', async () => {
    const dataDir = join(await freshDir(), 'data');
    const result = await run(['serve', '--role', 'nope'], { PORT: '0', PEAKRIDE_DATA_DIR: dataDir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--role');
    expect(result.stdout).not.toContain('peakride ready');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('When the command is unknown, then it exits non-zero naming it', async () => {
    const result = await run(['fly']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('fly');
  });
});

// These share one data directory so that initdb runs only once: migrate creates it, serve reuses it.
describe('peakride on an embedded data directory', () => {
  let dataDir: string;
  let migrations: string[];
  beforeAll(async () => {
    dataDir = join(await freshDir(), 'data');
    migrations = (await readdir(migrationsDir)).filter((name) => name.endsWith('.sql')).sort();
  });

  it(
    'When migrate runs on a fresh data directory and then again, then the first run applies every migration and the second none',
    async () => {
      const first = await run(['migrate'], { PEAKRIDE_DATA_DIR: dataDir }, FIRST_START_MS);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain(
        `pglite: applied ${migrations.length} migration(s): ${migrations.join(', ')}; 0 already applied`,
      );

      const second = await run(['migrate'], { PEAKRIDE_DATA_DIR: dataDir }, 60_000);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain(`pglite: applied 0 migration(s); ${migrations.length} already applied`);
    },
    2 * FIRST_START_MS,
  );

  it(
    'When serve starts on PORT=0, then it logs its url as ready, answers /readyz with 200 and exits 0 on SIGTERM',
    async () => {
      // No drain delay: this is about exiting cleanly (test/http/shutdown.test.ts drains).
      const server = start(['serve'], {
        PORT: '0',
        HOST: '127.0.0.1',
        PEAKRIDE_DATA_DIR: dataDir,
        PEAKRIDE_DRAIN_DELAY_SECONDS: '0',
      });
      try {
        const ready = await waitForLogLine(
          server.output,
          server.exited,
          (line) => line.msg === 'peakride ready',
          FIRST_START_MS,
        );
        expect(ready.url).toEqual(expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/));
        expect(ready.role).toBe('all');
        expect(ready.url).not.toBe('http://127.0.0.1:0');

        const readyz = await fetch(`${ready.url}/readyz`);
        expect(readyz.status).toBe(200);
        expect(await readyz.json()).toEqual({ status: 'ready' });

        const stopAsked = Date.now();
        server.child.kill('SIGTERM');
        const finished = await Promise.race([
          server.exited,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('still running 5 s after SIGTERM')), 5000),
          ),
        ]);
        expect(finished.code, finished.stderr).toBe(0);
        expect(Date.now() - stopAsked).toBeLessThan(5000);
        await expect(fetch(`${ready.url}/healthz`)).rejects.toThrow();
      } finally {
        if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
      }
    },
    FIRST_START_MS + 30_000,
  );
});
