// npm run bench:capacity (and npm run bench): what one api pod can take, for `peakride capacity`.
// One `peakride serve` process on a core of its own (a pod with a CPU request of one core): per
// request class, its event-loop and CPU cost per request, and the latency at light load, at the
// HPA's target utilisation and near saturation. Writes deploy/capacity/pod-capacity.json (read by
// `peakride capacity`) and its section of BENCHMARKS.md. With DATABASE_URL and REDIS_URL the
// process is `serve --role api` on PostgreSQL and Redis, as a production api pod; without them,
// `serve --role all` on PGlite (said in the file and the section).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { benchBackends, cpuPins, load, median, pinSelf, post, startServer, writeSection } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Seconds of each measured phase: more than the 10 s the server's utilisation gauge covers. */
const PHASE = Math.max(11, Number(process.env.BENCH_DURATION ?? 11));
const DRIVERS = 200;
const cli = new URL('../dist/peakride.js', import.meta.url).pathname;
const anchor = new URL('./bare-fastify.mjs', import.meta.url).pathname;
const hpaFile = new URL('../deploy/kubernetes/base/api-hpa.yaml', import.meta.url).pathname;
const output = new URL('../deploy/capacity/pod-capacity.json', import.meta.url).pathname;
/** The server on core 0, as a pod with one core; this process, the databases and a second api on the other. */
const PINS = cpuPins();

/** Light load per class (req/s): enough samples for a p99, far from queueing. */
const LIGHT = { quote: 100, booking: 30, location: 1000, read: 200 };
/** Open-model rates this generator can send reliably from one thread on a shared core. */
const MAX_OPEN_RATE = { quote: 4000, booking: 400, location: 9000, read: 6000 };

const paris = { lat: 48.8566, lng: 2.3522 };
const near = (i) => ({ lat: paris.lat + (i % 100) / 2000, lng: paris.lng + ((i * 7) % 100) / 2000 });
const json = (token, body, headers = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
  body: JSON.stringify(body),
});

const percentile = (values, p) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** The HPA's target utilisation: the event-loop gauge's, else CPU's, from the manifest; else 0.6. */
const hpaTarget = async () => {
  if (!existsSync(hpaFile)) return { target: 0.6, from: 'default 0.6 (no HPA manifest yet)' };
  const { parseHpaManifest } = await import('../dist/capacity/hpa-manifest.js');
  const { spec } = parseHpaManifest(await readFile(hpaFile, 'utf8'), hpaFile);
  const pods = spec.metrics.find((metric) => metric.type === 'Pods');
  if (pods)
    return { target: pods.target.averageValue, from: `${pods.name} in deploy/kubernetes/base/api-hpa.yaml` };
  const cpu = spec.metrics.find(
    (metric) => metric.type === 'Resource' && metric.target.type === 'Utilization',
  );
  if (cpu)
    return {
      target: cpu.target.averageUtilization / 100,
      from: 'cpu in deploy/kubernetes/base/api-hpa.yaml',
    };
  return { target: 0.6, from: 'default 0.6' };
};

/** The server's event-loop utilisation gauge (the last ~10 s) and its CPU seconds so far. */
const serverStats = async (url) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    return line ? Number(line.split(' ').at(-1)) : Number.NaN;
  };
  return { elu: value('peakride_event_loop_utilization'), cpuSeconds: value('process_cpu_seconds_total') };
};

/**
 * Open-model load (bench/overload.mjs does the same): `rate` requests a second for `seconds`, each
 * at its scheduled time, latency counted from that time. Resolves with each answer's status and
 * latency, and the rate actually answered.
 */
const openLoad = async (pool, rate, seconds, next) => {
  const results = [];
  const pending = [];
  const startedAt = performance.now();
  const total = Math.round(rate * seconds);
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && startedAt + (sent * 1000) / rate <= now) {
      const scheduledAt = startedAt + (sent * 1000) / rate;
      const request = next(sent++);
      pending.push(
        pool
          .request(request)
          .then(async (response) => {
            await response.body.dump();
            results.push({ status: response.statusCode, ms: performance.now() - scheduledAt });
          })
          .catch(() => results.push({ status: 0, ms: performance.now() - scheduledAt })),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - startedAt) / 1000;
  const ok = results.filter((r) => r.status >= 200 && r.status < 300);
  return {
    answered: ok.length / Math.max(elapsed, seconds),
    failures: results.length - ok.length,
    p50: percentile(
      ok.map((r) => r.ms),
      50,
    ),
    p99: percentile(
      ok.map((r) => r.ms),
      99,
    ),
  };
};

/** A phase: load for PHASE seconds, then the server's utilisation over it and its CPU per request. */
const phase = async (url, run) => {
  const before = await serverStats(url);
  const startedAt = performance.now();
  const result = await run();
  const seconds = (performance.now() - startedAt) / 1000;
  const after = await serverStats(url);
  return { ...result, elu: after.elu, cpu: (after.cpuSeconds - before.cpuSeconds) / seconds };
};

const measureRun = async (backend, target, dataDir) => {
  const distributed = backend.name === 'PostgreSQL' && Boolean(process.env.REDIS_URL);
  const prefix = `peakride-bench-${randomUUID().slice(0, 8)}:`;
  const env = {
    PEAKRIDE_DATA_DIR: dataDir,
    // Costs of the request paths themselves: a shed request would cost a refusal instead.
    PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS: '0',
    PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION: '0',
    // Bookings use quotes taken before the phase.
    PEAKRIDE_QUOTE_TTL_SECONDS: '3600',
    ...(distributed ? { REDIS_URL: process.env.REDIS_URL, PEAKRIDE_REDIS_PREFIX: prefix } : {}),
    ...backend.env,
  };
  const role = distributed ? 'api' : 'all';
  const server = await startServer([cli, 'serve', '--role', role], env, PINS?.server);
  const pool = new Pool(server.url, { connections: 256 });
  let remote;
  try {
    const token = async (kind, subject) =>
      (await post(server.url, '/v1/dev/tokens', { role: kind, subject })).token;
    const drivers = [];
    for (let i = 0; i < DRIVERS; i++) {
      const driver = await token('driver', `cap-driver-${randomUUID().slice(0, 8)}`);
      await post(server.url, '/v1/drivers/me/online', near(i), { authorization: `Bearer ${driver}` });
      drivers.push(driver);
    }
    const rider = await token('rider', `cap-rider-${randomUUID().slice(0, 8)}`);
    /** Riders with a quote each (a rider holds one open ride), prepared 16 at a time. */
    const bookers = async (count) => {
      const list = new Array(count);
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < count) {
            const i = next++;
            const subject = `cap-booker-${randomUUID().slice(0, 8)}`;
            const riderToken = await token('rider', subject);
            const quote = await post(
              server.url,
              '/v1/quotes',
              { pickup: near(i), dropoff: near(i + 30) },
              { authorization: `Bearer ${riderToken}` },
            );
            list[i] = { token: riderToken, quoteId: quote.quoteId };
          }
        }),
      );
      return list;
    };
    const streams = {
      quote: (i) => ({ path: '/v1/quotes', ...json(rider, { pickup: near(i), dropoff: near(i + 11) }) }),
      location: (i) => ({
        path: '/v1/drivers/me/location',
        ...json(drivers[i % DRIVERS], { ...near(i), heading: 90 }),
      }),
    };
    const bookingStream = (list) => (i) => {
      const booker = list[i];
      return {
        path: '/v1/rides',
        ...json(booker.token, { quoteId: booker.quoteId }, { 'idempotency-key': randomUUID() }),
      };
    };

    // Warm-up (JIT, pools), then the idle pod.
    await openLoad(pool, LIGHT.quote, 2, streams.quote);
    await openLoad(pool, LIGHT.location, 2, streams.location);
    await new Promise((resolve) => setTimeout(resolve, PHASE * 1000));
    const idleStats = await (async () => {
      const before = await serverStats(server.url);
      await new Promise((resolve) => setTimeout(resolve, PHASE * 1000));
      const after = await serverStats(server.url);
      return { elu: after.elu, cpu: (after.cpuSeconds - before.cpuSeconds) / PHASE };
    })();
    const idle = idleStats.elu;

    /**
     * The rate that brings the loop to the target, from the cost seen at light load; a request
     * costs more at light load (less batching per loop turn), so a first try that lands well
     * below the target is tried again from its own cost.
     */
    const towardsTarget = async (kind, light, stream) => {
      const cost = (point) => Math.max((point.elu - idle) / point.answered, 1e-7);
      let rate = Math.min(MAX_OPEN_RATE[kind], (target - idle) / cost(light));
      let point = await phase(server.url, () => openLoad(pool, rate, PHASE, stream));
      if (point.elu < 0.8 * target && rate < MAX_OPEN_RATE[kind]) {
        rate = Math.min(MAX_OPEN_RATE[kind], (target - idle) / cost(point));
        point = await phase(server.url, () => openLoad(pool, rate, PHASE, stream));
      }
      return point;
    };

    /** Cost per request from the most loaded phase that rose clear of idle; latency from the light one. */
    const costs = (light, atTarget) => {
      const loaded = atTarget.elu - idle > 0.05 ? atTarget : light;
      return {
        utilizationPerRequest: Math.max(loaded.elu - idle, 1e-7) / loaded.answered,
        cpuSecondsPerRequest: Math.max(loaded.cpu - idleStats.cpu, 1e-7) / loaded.answered,
        latencyMs: { p50: light.p50, p99: light.p99 },
        light,
        atTarget,
      };
    };

    /** Light load, then the rate that should reach the target, then near saturation (closed loop). */
    const measureClass = async (kind, stream, saturate) => {
      const light = await phase(server.url, () => openLoad(pool, LIGHT[kind], PHASE, stream));
      const atTarget = await towardsTarget(kind, light, stream);
      const saturation = saturate ? await phase(server.url, saturate) : undefined;
      return {
        ...costs(light, atTarget),
        saturation,
        failures: light.failures + atTarget.failures + (saturation?.failures ?? 0),
      };
    };
    const closed = (options) => async () => {
      const result = await load({ duration: PHASE, ...options });
      return {
        answered: result.requestsPerSecond,
        p50: Number.NaN,
        p99: result.p99Ms,
        failures: result.non2xx + result.errors,
      };
    };

    const quote = await measureClass(
      'quote',
      streams.quote,
      closed({ url: `${server.url}/v1/quotes`, ...json(rider, { pickup: near(3), dropoff: near(41) }) }),
    );
    let driverTurn = 0;
    const location = await measureClass(
      'location',
      streams.location,
      closed({
        url: server.url,
        requests: [
          {
            method: 'POST',
            path: '/v1/drivers/me/location',
            setupRequest: (request) => {
              const i = driverTurn++ % DRIVERS;
              return { ...request, ...json(drivers[i], { ...near(i + driverTurn), heading: 90 }) };
            },
          },
        ],
      }),
    );
    // Bookings: light, then the target rate as far as the database on the other core follows;
    // every booking by a rider of its own (one open ride each), enough for two tries at the target.
    const lightBookers = await bookers(Math.ceil(LIGHT.booking * PHASE));
    const targetBookers = await bookers(Math.ceil(MAX_OPEN_RATE.booking * PHASE * 2));
    let nextBooker = 0;
    const booking = await (async () => {
      const light = await phase(server.url, () =>
        openLoad(pool, LIGHT.booking, PHASE, (i) => bookingStream(lightBookers)(i)),
      );
      const atTarget = await towardsTarget('booking', light, () =>
        bookingStream(targetBookers)(nextBooker++ % targetBookers.length),
      );
      return { ...costs(light, atTarget), failures: light.failures + atTarget.failures };
    })();
    // Ride reads: riders of their own rides, booked for it.
    const rides = [];
    for (const reader of await bookers(200)) {
      const ride = await post(
        server.url,
        '/v1/rides',
        { quoteId: reader.quoteId },
        {
          authorization: `Bearer ${reader.token}`,
          'idempotency-key': randomUUID(),
        },
      );
      rides.push({ token: reader.token, id: ride.id });
    }
    const readStream = (i) => {
      const ride = rides[i % rides.length];
      return {
        path: `/v1/rides/${ride.id}`,
        method: 'GET',
        headers: { authorization: `Bearer ${ride.token}` },
      };
    };
    let readTurn = 0;
    const read = await measureClass(
      'read',
      readStream,
      closed({
        url: server.url,
        requests: [
          {
            method: 'GET',
            path: '/v1/rides',
            setupRequest: (request) => {
              const ride = rides[readTurn++ % rides.length];
              return {
                ...request,
                path: `/v1/rides/${ride.id}`,
                headers: { authorization: `Bearer ${ride.token}` },
              };
            },
          },
        ],
      }),
    );

    // The mix of a strike-day evening rush (the model's own derivation), measured classes only.
    const shares = await mixShares();
    const mixBookers = await bookers(Math.ceil((shares.booking ?? 0) * 3000 * PHASE) + 10);
    let mixBooking = 0;
    const mixRate =
      (target - idle) /
      Object.entries(shares).reduce(
        (sum, [kind, share]) => sum + share * { quote, booking, location, read }[kind].utilizationPerRequest,
        0,
      );
    const cumulative = [];
    for (const [kind, share] of Object.entries(shares))
      cumulative.push([kind, (cumulative.at(-1)?.[1] ?? 0) + share]);
    const mix = await phase(server.url, () =>
      openLoad(pool, Math.min(mixRate, MAX_OPEN_RATE.location), PHASE, (i) => {
        const draw = ((i * 0.6180339887) % 1) * cumulative.at(-1)[1];
        const kind = cumulative.find(([, upTo]) => draw < upTo)?.[0] ?? 'location';
        if (kind === 'booking' && mixBooking < mixBookers.length)
          return bookingStream(mixBookers)(mixBooking++);
        if (kind === 'read') return readStream(i);
        return (streams[kind] ?? streams.location)(i);
      }),
    );

    // Every api pod applies the location updates the others serve (its supply replica).
    let replicaApply = 0;
    if (distributed) {
      remote = await startServer([cli, 'serve', '--role', 'api'], env, PINS?.load);
      const remotePool = new Pool(remote.url, { connections: 128 });
      const remoteDrivers = [];
      for (let i = 0; i < DRIVERS; i++) {
        const driver = (
          await post(remote.url, '/v1/dev/tokens', {
            role: 'driver',
            subject: `cap-remote-${randomUUID().slice(0, 8)}`,
          })
        ).token;
        await post(remote.url, '/v1/drivers/me/online', near(i), { authorization: `Bearer ${driver}` });
        remoteDrivers.push(driver);
      }
      const rate = 4000;
      const applied = await phase(server.url, () =>
        openLoad(remotePool, rate, PHASE, (i) => ({
          path: '/v1/drivers/me/location',
          ...json(remoteDrivers[i % DRIVERS], { ...near(i), heading: 90 }),
        })),
      );
      await remotePool.close();
      replicaApply = Math.max(applied.elu - idle, 0) / applied.answered;
    }

    return {
      startupMs: server.readyMs,
      idle: idleStats,
      classes: { quote, booking, location, read },
      mix: {
        shares,
        measured: Math.max(mix.elu - idle, 1e-7) / mix.answered,
        rate: mix.answered,
        p99: mix.p99,
      },
      replicaApply,
      setup: distributed
        ? '`peakride serve --role api` on PostgreSQL and Redis (both on the other core, with the load generator)'
        : '`peakride serve --role all` on PGlite (no DATABASE_URL and REDIS_URL: not the production api pod)',
    };
  } finally {
    await pool.close();
    await remote?.stop();
    await server.stop();
    if (distributed) await dropRedisPrefix(prefix);
  }
};

/** The measured classes' shares of a strike-day evening rush's requests, from the model itself. */
const mixShares = async () => {
  const { createDemand } = await import('../dist/capacity/demand.js');
  const { loadScenario } = await import('../dist/sim/scenario.js');
  const { defaultParameters } = await import('../dist/capacity/parameters.js');
  const { capacityClasses, classInfo } = await import('../dist/capacity/classes.js');
  const scenario = await loadScenario('strike-day');
  const demand = createDemand({ scenario }, defaultParameters);
  const rates = new Float64Array(capacityClasses.length);
  const at = 18 * 3600 + 30 * 60;
  for (let t = 0; t <= at; t++) {
    demand.offered(t, rates);
    demand.settle(t, { quoteRefused: 0, bookingFailed: 0 });
  }
  const shares = {};
  capacityClasses.forEach((kind, index) => {
    const measured = classInfo[kind].costedAs;
    shares[measured] = (shares[measured] ?? 0) + rates[index];
  });
  const total = Object.values(shares).reduce((sum, v) => sum + v, 0);
  for (const kind of Object.keys(shares)) shares[kind] /= total;
  return shares;
};

const dropRedisPrefix = async (prefix) => {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(process.env.REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
};

const anchorThroughput = async () => {
  const bare = await startServer([anchor], {}, PINS?.server);
  try {
    await load({
      url: `${bare.url}/echo`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(paris),
      duration: 2,
    });
    const result = await load({
      url: `${bare.url}/echo`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(paris),
      duration: Math.min(PHASE, 5),
    });
    return result.requestsPerSecond;
  } finally {
    await bare.stop();
  }
};

const main = async () => {
  const loadAtStart = loadavg()[0].toFixed(2);
  if (PINS) pinSelf(PINS.load);
  const { target, from } = await hpaTarget();
  const backends = await benchBackends();
  const backend = backends.find((b) => b.name === 'PostgreSQL') ?? backends[0];
  const runs = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const anchorRps = await anchorThroughput();
      const dataDir = await mkdtemp(join(tmpdir(), 'peakride-bench-capacity-'));
      try {
        const measured = await measureRun(backend, target, dataDir);
        runs.push({ anchorRps, ...measured });
        process.stderr.write(
          `run ${i + 1}: ${JSON.stringify({ anchorRps, startupMs: measured.startupMs, quote: measured.classes.quote.utilizationPerRequest, booking: measured.classes.booking.utilizationPerRequest, location: measured.classes.location.utilizationPerRequest, read: measured.classes.read.utilizationPerRequest, replicaApply: measured.replicaApply })}\n`,
        );
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    for (const b of backends) await b.cleanup?.();
  }
  await writeResults(runs, target, from, loadAtStart);
};

const writeResults = async (runs, target, targetFrom, loadAtStart) => {
  const m = (pick) => median(runs.map(pick).filter(Number.isFinite));
  const anchorRps = m((r) => r.anchorRps);
  const kinds = ['quote', 'booking', 'location', 'read'];
  const classes = Object.fromEntries(
    kinds.map((kind) => {
      const c = (pick) => m((r) => pick(r.classes[kind]));
      const points = [
        {
          utilization: c((x) => x.atTarget.elu),
          requestsPerSecond: c((x) => x.atTarget.answered),
          p99Ms: c((x) => x.atTarget.p99),
        },
        ...(runs[0].classes[kind].saturation
          ? [
              {
                utilization: c((x) => x.saturation.elu),
                requestsPerSecond: c((x) => x.saturation.answered),
                p99Ms: c((x) => x.saturation.p99),
              },
            ]
          : []),
      ].filter((point) => point.utilization > 0 && point.utilization <= 1 && point.p99Ms > 0);
      return [
        kind,
        {
          utilizationPerRequest: c((x) => x.utilizationPerRequest),
          cpuSecondsPerRequest: c((x) => x.cpuSecondsPerRequest),
          latencyMs: { p50: c((x) => x.latencyMs.p50), p99: c((x) => x.latencyMs.p99) },
          points,
          failures: runs.reduce((sum, r) => sum + r.classes[kind].failures, 0),
        },
      ];
    }),
  );
  const shares = runs[0].mix.shares;
  const predicted = Object.entries(shares).reduce(
    (sum, [kind, share]) => sum + share * classes[kind].utilizationPerRequest,
    0,
  );
  const file = {
    version: 1,
    measuredAt: new Date().toISOString().slice(0, 10),
    setup: `${runs[0].setup}, pinned to one core of a shared 2-core machine; median of ${runs.length} runs of ${PHASE} s phases (bench/pod-capacity.mjs)`,
    startupSeconds: m((r) => r.startupMs) / 1000,
    idleUtilization: m((r) => r.idle.elu),
    idleCpu: m((r) => r.idle.cpu),
    replicaApplyUtilizationPerUpdate: m((r) => r.replicaApply),
    refusalUtilizationPerRequest: 1 / anchorRps,
    anchor: { name: 'bare Fastify, same core, same run', requestsPerSecond: Math.round(anchorRps) },
    targetUtilization: target,
    classes: Object.fromEntries(
      Object.entries(classes).map(([kind, value]) => [kind, { ...value, failures: undefined }]),
    ),
    mix: {
      shares,
      utilizationPerRequest: m((r) => r.mix.measured),
      predictedUtilizationPerRequest: predicted,
    },
  };
  await mkdir(new URL('../deploy/capacity/', import.meta.url), { recursive: true });
  await writeFile(output, `${JSON.stringify(file, null, 2)}\n`);

  const when = file.measuredAt;
  const rate = (kind) => (target - file.idleUtilization) / classes[kind].utilizationPerRequest;
  const full = (kind) => 1 / classes[kind].utilizationPerRequest;
  const point = (kind, index) => classes[kind].points[index];
  const ms = (value) =>
    value === undefined || !Number.isFinite(value) ? '–' : value >= 10 ? Math.round(value) : value.toFixed(1);
  const rows = kinds
    .map((kind) => {
      const at = point(kind, 0);
      const sat = point(kind, 1);
      return `| ${kind} | ${Math.round(rate(kind))} | ${Math.round(full(kind))} | ${(full(kind) / anchorRps).toFixed(2)} | ${(classes[kind].utilizationPerRequest * 1e6).toFixed(0)} / ${(classes[kind].cpuSecondsPerRequest * 1e6).toFixed(0)} | ${ms(classes[kind].latencyMs.p50)} / ${ms(classes[kind].latencyMs.p99)} | ${at ? `${ms(at.p99Ms)} at ${at.utilization.toFixed(2)} (${Math.round(at.requestsPerSecond)}/s)` : '–'} | ${sat ? `${ms(sat.p99Ms)} at ${sat.utilization.toFixed(2)} (${Math.round(sat.requestsPerSecond)}/s)` : '–'} | ${classes[kind].failures} |`;
    })
    .join('\n');
  const mixError = file.mix.utilizationPerRequest / predicted - 1;
  const body = `Measured by \`npm run bench:capacity\` (\`bench/pod-capacity.mjs\`; \`npm run bench\` runs every benchmark) on ${when}: ${runs[0].setup},
the server pinned to one core (a pod with a CPU request of one core), the load generator on the other (1-minute load average ${loadAtStart} at the start); median of ${runs.length} runs, ${PHASE} s per phase, shedding off.
Per class: open-model load at a light rate, then at the rate that should bring the event loop to the HPA target (${target}, ${targetFrom}); then
(quotes, locations, reads) autocannon with 32 connections for the throughput near saturation. Utilisation is the server's own \`peakride_event_loop_utilization\`
(the last 10 s of each phase) less the idle pod's; CPU from \`process_cpu_seconds_total\`. The anchor is a bare Fastify server on the same core in the
same run (${Math.round(anchorRps)} req/s). Written to \`deploy/capacity/pod-capacity.json\`, which \`peakride capacity\` reads ([docs/capacity.md](docs/capacity.md)).

\`\`\`sh
npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench:capacity
\`\`\`

| class | req/s at target ${target} | req/s at 100% loop | capacity vs anchor | µs per request, loop / CPU | p50 / p99 ms, light load | p99 ms at target | p99 ms near saturation | not 2xx |
|---|---|---|---|---|---|---|---|---|
${rows}

Idle pod: event loop ${file.idleUtilization.toFixed(3)}, ${file.idleCpu.toFixed(3)} cores. Start-up to ready: ${Math.round(file.startupSeconds * 1000)} ms (median over the runs; BENCHMARKS.md "Start-up" measures it on its own).
Every api pod also applies the location updates the other pods serve to its supply replica: ${(file.replicaApplyUtilizationPerUpdate * 1e6).toFixed(1)} µs of event loop per update${file.replicaApplyUtilizationPerUpdate === 0 ? ' (not measured: one process)' : ' (a second api process took the updates)'}.
The mix of a strike-day evening rush (${Object.entries(shares)
    .map(([kind, share]) => `${kind} ${(share * 100).toFixed(1)}%`)
    .join(
      ', ',
    )}) cost ${(file.mix.utilizationPerRequest * 1e6).toFixed(1)} µs per request against ${(predicted * 1e6).toFixed(1)} µs from the per-class costs (${mixError >= 0 ? '+' : ''}${(mixError * 100).toFixed(0)}%): the model's assumption that costs add up.
On this machine the database, Redis and the load generator share the second core: where a rate at the target could not be reached (bookings above all), the cost per request still comes from the highest load measured, and the throughput at target is an extrapolation. Re-run on a quiet machine before trusting absolute numbers.
`;
  await writeSection('Pod capacity for the autoscaling model', body);
  process.stdout.write(body);
};

await main();
