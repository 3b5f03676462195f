import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from './package-root.js';

/** The platform must be ready within this; PGlite's first start (initdb) takes a few seconds. */
const READY_TIMEOUT_MS = 60_000;

/**
 * `peakride serve` on embedded defaults, in a process of its own on a free port, with its data
 * in a temporary directory removed afterwards. A separate process, so the simulator's own work
 * never delays the platform's event loop and a stall of the platform cannot hide in the client.
 * Its log goes to `logFile`.
 */
export const startEmbeddedPlatform = async (logFile: string, env: Record<string, string> = {}) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'peakride-sim-'));
  const log = createWriteStream(logFile);
  // Embedded means embedded: a DATABASE_URL or REDIS_URL in the caller's environment is not used.
  const { DATABASE_URL: _database, REDIS_URL: _redis, ...inherited } = process.env;
  const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'peakride.js'), 'serve'], {
    env: {
      ...inherited,
      PORT: '0',
      HOST: '127.0.0.1',
      AUTH_MODE: 'dev',
      LOG_LEVEL: 'info',
      PEAKRIDE_DATA_DIR: dataDir,
      PEAKRIDE_DRAIN_DELAY_SECONDS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(log, { end: false });
  // The platform never outlives the run: not on an error, not on Ctrl-C or a SIGTERM of the run.
  const killAtExit = () => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\npeakride sim: ${signal}: stopping the embedded platform; no report\n`);
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('exit', killAtExit);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const stop = async () => {
    process.off('exit', killAtExit);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    log.end();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the embedded platform was not ready within 60 s')),
        READY_TIMEOUT_MS,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the embedded platform exited with ${code} before it was ready; see ${logFile}`));
      });
      // Every line is kept in the log, and the pipe is always read: a full pipe would stall the server.
      createInterface({ input: child.stdout }).on('line', (line) => {
        log.write(`${line}\n`);
        if (!line.includes('peakride ready')) return;
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'peakride ready' && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {}
      });
    });
    return { url, stop, pid: child.pid };
  } catch (error) {
    await stop();
    throw error;
  }
};
