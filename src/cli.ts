#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';

const startedAtMs = performance.now();

const usage = `peakride — ride-hailing booking and dispatch that holds demand peaks

Usage:
  peakride serve [--role all|api|dispatch|worker]
                                run the platform (npm start: all); configuration from the environment
  peakride migrate              apply database migrations and exit
  peakride slo [--objectives FILE] [--out DIR] [--check]
                                generate Prometheus SLO rules and alerts and the Grafana dashboard
  peakride sim <scenario> [--target URL] [--duration S] [--speed X] [--seed N] [--scale F] [--out DIR]
                                replay a scenario (strike-day, flash-peak…) against the API
  peakride --help | --version

Without DATABASE_URL, data lives in an embedded PostgreSQL (PGlite) under PEAKRIDE_DATA_DIR.
See the README's configuration table for every variable.`;

const commandHelp: Record<string, string> = {
  serve: `Usage: peakride serve [--role all|api|dispatch|worker]

  all       the whole platform in one process (default; embedded PGlite without DATABASE_URL)
  api       the public HTTP API and WebSockets              } the distributed mode:
  dispatch  matching, for the cities it holds the lease of  } DATABASE_URL (PostgreSQL)
  worker    timeouts, search windows, the outbox relay      } and REDIS_URL are required

Listens on HOST:PORT (default 127.0.0.1:8080; every role answers /healthz, /readyz, /metrics),
applies migrations first, answers /readyz once it can take traffic, drains on SIGTERM.`,
  migrate: `Usage: peakride migrate

Applies pending SQL migrations to DATABASE_URL (or PGlite in PEAKRIDE_DATA_DIR) and exits.
Safe to run from several processes at once: one migrates, the others wait.`,
  slo: `Usage: peakride slo [--objectives FILE] [--out DIR] [--check]

Turns the SLO file (default slo/objectives.yaml) into Prometheus recording rules and burn-rate
alerts (peakride-slo-rules.yaml) and a Grafana dashboard (peakride-dashboard.json), written to
DIR (default deploy/monitoring). Needs no database and no configuration.

  --check   write nothing; exit 1 if the files in DIR differ from what the SLO file generates

Exits 78 when the SLO file is invalid, naming the field. The format: docs/slo.md.`,
  sim: `Usage: peakride sim <scenario> [options]

Replays a scenario against the public API: drivers go online, move and take offers, riders
quote, book, wait and cancel, on the scenario's demand curve (open model: latency counts from
each request's scheduled time). Without --target it starts an embedded \`peakride serve\` on a
free port and stops it afterwards. <scenario> is a shipped one (steady, strike-day,
city-launch, flash-peak, nyc-2014-04-04) or a scenario file (YAML or JSON; docs/simulator.md).

  --target URL      the API to drive (it must issue development tokens: AUTH_MODE=dev)
  --from T          start this far into the scenario (seconds or 17h50m, whole minutes):
                    rehearse one stretch of a long day, such as its peak, in real time
  --duration S      simulated seconds (or 10m, 1h30m) to run (default: to the scenario's end)
  --speed X         simulated seconds per wall second (default: the scenario's, else 1)
  --seed N          the run's randomness (default 1): the same seed, the same demand
  --scale F         multiplies the scenario's riders and drivers (default 1)
  --out DIR         where report.json and report.html go (default sim-report)
  --offers MODE     websocket (default; polling when it drops) or polling
  --objectives FILE the SLO file the run is judged by (default slo/objectives.yaml)
  --fail-on-slo     exit 1 when an SLO is missed, not only when an invariant breaks

Exits 0 when every invariant held, 1 when one broke (or an SLO was missed with --fail-on-slo),
2 for bad arguments, 78 for an invalid scenario or trace file.`,
};

const fail = (message: string, code = 1): never => {
  process.stderr.write(`peakride: ${message}\n`);
  process.exit(code);
};

/** Bad arguments are a usage error (exit 2), like every other usage problem. */
const parseArguments = () => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        role: { type: 'string', default: 'all' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
        objectives: { type: 'string' },
        out: { type: 'string' },
        check: { type: 'boolean', default: false },
        target: { type: 'string' },
        duration: { type: 'string' },
        from: { type: 'string' },
        speed: { type: 'string' },
        seed: { type: 'string' },
        scale: { type: 'string' },
        offers: { type: 'string' },
        'fail-on-slo': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error), 2);
  }
};

const main = async () => {
  const { values, positionals } = parseArguments();
  const [command] = positionals;
  if (values.version) {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  if (!command || (values.help && !commandHelp[command])) {
    process.stdout.write(`${usage}\n`);
    if (!command && !values.help) process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${commandHelp[command]}\n`);
    return;
  }

  // Before the configuration: generating files needs no environment.
  if (command === 'slo') {
    const { sloCommand } = await import('./ops/slo/command.js');
    process.exitCode = await sloCommand(values);
    return;
  }

  // The simulator is a client of the platform: it needs none of the platform's configuration.
  if (command === 'sim') {
    const { simCommand } = await import('./sim/command.js');
    process.exitCode = await simCommand(positionals[1], values);
    return;
  }

  const config = loadConfig();
  if (command === 'serve') {
    const { roleNames, serve } = await import('./roles/serve.js');
    const role = values.role as (typeof roleNames)[number];
    if (!roleNames.includes(role)) fail(`--role must be one of ${roleNames.join(', ')}`, 2);
    await serve(config, role, startedAtMs);
    return;
  }
  if (command === 'migrate') {
    const { openDatabase } = await import('./roles/database.js');
    const { database, migrations } = await openDatabase(config);
    await database.close();
    process.stdout.write(
      `${database.kind}: applied ${migrations.applied.length} migration(s)${migrations.applied.length ? `: ${migrations.applied.join(', ')}` : ''}; ${migrations.alreadyApplied} already applied\n`,
    );
    return;
  }
  fail(`unknown command "${command}"\n\n${usage}`, 2);
};

main().catch((error: unknown) => {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`, 78);
  fail(error instanceof Error ? error.message : String(error));
});
