#!/usr/bin/env node
// npm run cluster: the distributed mode on one machine. Makes sure PostgreSQL and Redis answer
// (scripts/ensure-backends.sh), then runs two `api`, one `dispatch` and one `worker` process of the
// built CLI on local ports, with their logs combined and prefixed; Ctrl-C stops them all.
//
//   npm run cluster                         # api on :8081 and :8082, dispatch :8091, worker :8092
//   CLUSTER_API=3 npm run cluster           # three api processes
//   DATABASE_URL=… REDIS_URL=… npm run cluster
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../dist/peakride.js', import.meta.url));
const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  AUTH_MODE: process.env.AUTH_MODE ?? 'dev',
};
const apiCount = Number(process.env.CLUSTER_API ?? 2);

const ensured = spawnSync('bash', ['scripts/ensure-backends.sh'], { cwd: root, env, stdio: 'inherit' });
if (ensured.status !== 0) {
  console.error('PostgreSQL or Redis could not be started; start them and set DATABASE_URL and REDIS_URL.');
  process.exit(1);
}

const colours = [36, 32, 35, 33, 34, 31];
const processes = [
  ...Array.from({ length: apiCount }, (_, i) => ({ name: `api-${i + 1}`, role: 'api', port: 8081 + i })),
  { name: 'dispatch', role: 'dispatch', port: 8091 },
  { name: 'worker', role: 'worker', port: 8092 },
];
const width = Math.max(...processes.map((p) => p.name.length));

/** One readable line per JSON log entry: time, level, message, and the fields worth seeing. */
const readable = (line) => {
  try {
    const { time, level, msg, pid, hostname, role, ...rest } = JSON.parse(line);
    const levelName =
      { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }[level] ?? level;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${new Date(time).toISOString().slice(11, 23)} ${levelName} ${msg ?? ''}${extra}`;
  } catch {
    return line;
  }
};

const children = processes.map(({ name, role, port }, i) => {
  const child = spawn(process.execPath, [cli, 'serve', '--role', role], {
    cwd: root,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tag = `\x1b[${colours[i % colours.length]}m${name.padEnd(width)}\x1b[0m |`;
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.on('data', (chunk) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) console.log(`${tag} ${readable(line)}`);
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${tag} exited (${code ?? signal})`);
    if (!stopping) stop(`${name} exited`);
  });
  return child;
});

console.log(
  `peakride cluster: ${processes.map((p) => `${p.name} http://127.0.0.1:${p.port}`).join(', ')}; Ctrl-C stops all`,
);

let stopping = false;
function stop(reason) {
  if (stopping) return;
  stopping = true;
  console.log(`stopping (${reason})…`);
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }, 15_000);
  deadline.unref();
  Promise.all(
    children.map((child) => (child.exitCode === null ? new Promise((r) => child.on('exit', r)) : null)),
  ).then(() => process.exit(0));
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
