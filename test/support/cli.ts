import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, as a user runs it (`npm test` builds first). */
export const CLI = fileURLToPath(new URL('../../dist/peakride.js', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `peakride …args`. `output` grows as the process prints; `exited` resolves with all of it
 * once the process has ended and its output is closed. `running`, when given, holds the child
 * until then, so a test file can stop what a timeout cut short.
 */
export const startCli = (
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; running?: Set<ChildProcess> } = {},
) => {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.running?.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      options.running?.delete(child);
      resolve({ code, signal, ...output });
    });
  });
  return { child, output, exited };
};
