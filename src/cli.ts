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
  peakride capacity <scenario> [--hpa FILE] [--pod-capacity FILE] [--scale F] [--json] [--out DIR]
                                model autoscaling on a scenario: HPA pods vs serverless, SLOs, the cheapest HPA
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
alerts (peakride-slo-rules.yaml) and a Grafana dashboard (peakride-dashboard.json) in
deploy/monitoring, and the same as Kubernetes objects for the monitoring component (a
PrometheusRule, prometheus-rule.yaml, and a dashboard ConfigMap, grafana-dashboard.yaml) in
deploy/kubernetes/components/monitoring. --out DIR writes all four to DIR instead. Needs no
database and no configuration.

  --check   write nothing; exit 1 if any of those files differs from what the SLO file generates

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
  capacity: `Usage: peakride capacity <scenario> [options]

Replays a scenario's demand, second by second, through a model of the api pods on Kubernetes
(the HPA v2 algorithm as the controller runs it, pod start-up, the cluster autoscaler's nodes,
load shedding, queueing) and through a serverless model (cold starts, scale-out limits), judges
both by the SLO file and searches for the cheapest HPA setting that meets every modelled SLO.
Needs no server: the per-pod cost of each request comes from \`npm run bench:capacity\`.
Prints a summary and a time table; writes capacity.json (the full series) and capacity.html
(a chart) to --out. The model, its assumptions and its limits: docs/capacity.md.

  --hpa FILE                  the HPA manifest (default deploy/kubernetes/base/api-hpa.yaml)
  --pod-capacity FILE         measured per-pod capacity (default deploy/capacity/pod-capacity.json)
  --objectives FILE           the SLO file (default slo/objectives.yaml)
  --scale F                   multiplies the scenario's riders and drivers (default 1)
  --offers MODE               websocket (default: updates pushed) or polling (apps poll rides, offers)
  --book-share S              share of quoted riders who book (default 1, an upper bound)
  --pod-start-seconds S       scheduling, image pull, container start before the process (default 5)
  --node-provisioning-seconds S
                              a node the cluster autoscaler adds is ready after S (default 75)
  --pods-per-node N           api pods that fit on a node (default 3)
  --spare-pods N              overprovisioning placeholders holding room for api pods (default 0)
  --max-nodes N               nodes the node group may grow to (default 1000); bounds the search's maxReplicas
  --cpu-request CORES         a pod's CPU request, for cpu Utilization targets (default 1)
  --cold-start-seconds S      serverless cold start (default 0.723: peakride serve's start-up)
  --serverless-concurrency N  requests per serverless instance (default 1)
  --json                      print the whole report (every series) as JSON instead of the summary
  --out DIR                   where capacity.json and capacity.html go (default capacity-report)
  --fail-on-slo               exit 1 when the HPA misses a modelled SLO

Exits 0 when done, 2 for bad arguments, 78 for a scenario, trace, HPA, pod-capacity or SLO file
that cannot be used (naming the file and the field).`,
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
        hpa: { type: 'string' },
        'pod-capacity': { type: 'string' },
        json: { type: 'boolean', default: false },
        'book-share': { type: 'string' },
        'pod-start-seconds': { type: 'string' },
        'node-provisioning-seconds': { type: 'string' },
        'pods-per-node': { type: 'string' },
        'spare-pods': { type: 'string' },
        'max-nodes': { type: 'string' },
        'cpu-request': { type: 'string' },
        'cold-start-seconds': { type: 'string' },
        'serverless-concurrency': { type: 'string' },
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

  // The autoscaling model reads files and computes: no server, no configuration.
  if (command === 'capacity') {
    const { capacityCommand } = await import('./capacity/command.js');
    process.exitCode = await capacityCommand(positionals[1], values);
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
