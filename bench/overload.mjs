// npm run bench:overload (and npm run bench): priority load shedding under 3x overload of quotes.
// Open-model load: every request leaves at its scheduled time and its latency counts from that
// time, so a server that stalls cannot hide behind a client that waits (docs/load-shedding.md).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import {
  benchBackends,
  cpuPins,
  load,
  median,
  onCpus,
  pinSelf,
  post,
  startServer,
  writeSection,
} from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Seconds of each phase (normal load, then overload) of a run. */
/** 20 s: a p99 over fewer samples is little more than the slowest request of the phase. */
const DURATION = Number(process.env.BENCH_DURATION ?? 20);
const OVERLOAD = 3;
/** Share of the measured quote capacity sent as quotes at normal load. */
const NORMAL = 0.5;
const BOOKINGS_PER_SECOND = 5;
const DRIVERS = 100;
/** Each online driver reports its position every second. */
const LOCATIONS_PER_SECOND = DRIVERS;
const cli = new URL('../dist/peakride.js', import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
/**
 * The server gets a core of its own, as a pod with a CPU limit of 1 would; this process (bookings,
 * locations, capacity) and the quote flood share the other. Unpinned, three busy processes on two
 * cores preempt each other for hundreds of milliseconds, and the p99s measure that.
 */
const PINS = cpuPins();

const paris = { lat: 48.8566, lng: 2.3522 };
const near = (i) => ({ lat: paris.lat + (i % 100) / 2000, lng: paris.lng + ((i * 7) % 100) / 2000 });

const percentile = (values, p) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/**
 * Sends `rate` requests a second of each stream for `seconds`, each at its scheduled time;
 * resolves with, per stream, each answer's status and its latency from the scheduled time.
 */
const openLoad = async (pool, streams, seconds) => {
  const results = Object.fromEntries(streams.map((stream) => [stream.name, []]));
  const pending = [];
  const startedAt = performance.now();
  const sent = streams.map(() => 0);
  const endAt = startedAt + seconds * 1000;
  while (performance.now() < endAt) {
    const now = performance.now();
    streams.forEach((stream, s) => {
      while (sent[s] < stream.rate * seconds && startedAt + (sent[s] * 1000) / stream.rate <= now) {
        const scheduledAt = startedAt + (sent[s] * 1000) / stream.rate;
        const request = stream.next(sent[s]++);
        if (!request) continue;
        pending.push(
          pool
            .request(request)
            .then(async (response) => {
              await response.body.dump();
              results[stream.name].push({
                status: response.statusCode,
                ms: performance.now() - scheduledAt,
                retryAfter: response.headers['retry-after'],
              });
            })
            .catch(() => results[stream.name].push({ status: 0, ms: performance.now() - scheduledAt })),
        );
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  return results;
};

const quoteStream = (quoters, rate) => ({
  name: 'quote',
  rate,
  next: (i) => ({
    path: '/v1/quotes',
    ...json(quoters[i % quoters.length], { pickup: near(i), dropoff: near(i + 11) }),
  }),
});

/** Runs the quote stream in a child process; resolves once it sends, with its results to come. */
const startFlood = async (url, rate, seconds, quoters) => {
  const [command, args] = onCpus(PINS?.load, process.execPath, [
    SELF,
    '--flood',
    url,
    String(rate),
    String(seconds),
  ]);
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify(quoters));
  const lines = createInterface({ input: child.stdout });
  const [first] = await once(lines, 'line');
  if (first !== 'sending') throw new Error(`flood: ${first}`);
  const results = once(lines, 'line').then(([line]) =>
    JSON.parse(line).map(([status, retryAfter]) => ({ status, retryAfter: retryAfter === 1 })),
  );
  return { results };
};

const flood = async ([url, rate, seconds]) => {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const pool = new Pool(url, { connections: 256 });
  process.stdout.write('sending\n');
  const results = await openLoad(pool, [quoteStream(JSON.parse(input), Number(rate))], Number(seconds));
  await pool.close();
  process.stdout.write(`${JSON.stringify(results.quote.map((r) => [r.status, r.retryAfter ? 1 : 0]))}\n`);
};

/** A fresh process may shed while its JIT warms up: preparation retries after the Retry-After. */
const untilServed = async (attempt) => {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= 10 || !String(error.message).includes(': 503 ')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
};

const json = (token, body, headers = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
  body: JSON.stringify(body),
});

/**
 * What the server's event loop went through in a phase, from its own /metrics (prom-client's
 * default metrics; the delay histogram restarts at each scrape, the GC counters do not): the
 * longest delay, and the garbage collectors' time so far. Explains a p99 that a stall made.
 */
const loopStats = async (url) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (pattern) => {
    const line = text.split('\n').find((candidate) => pattern.test(candidate));
    return line ? Number(line.split(' ').at(-1)) : Number.NaN;
  };
  return {
    maxLoopDelayMs: value(/^nodejs_eventloop_lag_max_seconds /) * 1000,
    gcSeconds: ['minor', 'major', 'incremental', 'weakcb']
      .map((kind) => value(new RegExp(`^nodejs_gc_duration_seconds_sum\\{kind="${kind}"\\}`)))
      .filter(Number.isFinite)
      .reduce((sum, seconds) => sum + seconds, 0),
  };
};

/** Quote throughput of a server that sheds nothing: what "capacity" means here. */
const measureCapacity = async (env) => {
  const server = await startServer(
    [cli, 'serve'],
    { ...env, PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS: '0', PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION: '0' },
    PINS?.server,
  );
  const rider = (await post(server.url, '/v1/dev/tokens', { role: 'rider', subject: `cap-${randomUUID()}` }))
    .token;
  const quotes = {
    url: `${server.url}/v1/quotes`,
    ...json(rider, { pickup: near(3), dropoff: near(41) }),
  };
  // A cold process (JIT, PGlite's caches) answers far slower than a warm one: warm it first.
  await load({ ...quotes, duration: 2 });
  const result = await load({ ...quotes, duration: Math.min(DURATION, 5) });
  await server.stop();
  return result.requestsPerSecond;
};

/** Stops the server whatever happens in a run: a server left behind would skew every run after it. */
const run = async (env, capacity) => {
  const server = await startServer([cli, 'serve'], env, PINS?.server);
  const pool = new Pool(server.url, { connections: 256 });
  try {
    return await measure(server, pool, capacity);
  } finally {
    await pool.close();
    await server.stop();
  }
};

const measure = async (server, pool, capacity) => {
  const token = async (role, subject) => (await post(server.url, '/v1/dev/tokens', { role, subject })).token;
  const drivers = [];
  for (let i = 0; i < DRIVERS; i++) {
    const driver = await token('driver', `bench-driver-${randomUUID().slice(0, 8)}`);
    await post(server.url, '/v1/drivers/me/online', near(i), { authorization: `Bearer ${driver}` });
    drivers.push(driver);
  }
  const quoters = [];
  for (let i = 0; i < 20; i++) quoters.push(await token('rider', `bench-quoter-${randomUUID().slice(0, 8)}`));
  // One rider per booking (a rider holds one open ride), quoted before any load starts: a quote
  // taken between the phases could be shed by the tail of the one before.
  const bookers = async (count) => {
    const list = [];
    for (let i = 0; i < count; i++) {
      const rider = await token('rider', `bench-booker-${randomUUID().slice(0, 8)}`);
      const quote = await untilServed(() =>
        post(
          server.url,
          '/v1/quotes',
          { pickup: near(i), dropoff: near(i + 30) },
          { authorization: `Bearer ${rider}` },
        ),
      );
      list.push({ rider, quoteId: quote.quoteId });
    }
    return list;
  };
  const bookingsFor = {
    normal: await bookers(BOOKINGS_PER_SECOND * DURATION),
    overload: await bookers(BOOKINGS_PER_SECOND * DURATION),
  };
  const phase = async (quoteRate, booking) => {
    // The quote flood comes from a process of its own, as it would from other clients: sending
    // thousands of requests a second would otherwise delay this process's own bookings and
    // location updates and charge that delay to the server.
    const flood = await startFlood(server.url, quoteRate, DURATION, quoters);
    const critical = await openLoad(
      pool,
      [
        {
          name: 'booking',
          rate: BOOKINGS_PER_SECOND,
          next: (i) =>
            booking[i] && {
              path: '/v1/rides',
              ...json(booking[i].rider, { quoteId: booking[i].quoteId }, { 'idempotency-key': randomUUID() }),
            },
        },
        {
          name: 'location',
          rate: LOCATIONS_PER_SECOND,
          next: (i) => ({
            path: '/v1/drivers/me/location',
            ...json(drivers[i % DRIVERS], { ...near(i), heading: 90 }),
          }),
        },
      ],
      DURATION,
    );
    return { ...critical, quote: await flood.results, loop: await loopStats(server.url) };
  };
  // Warm-up at normal load, not measured: the first seconds of a fresh process are the slowest.
  await openLoad(
    pool,
    [
      {
        name: 'quote',
        rate: capacity * NORMAL,
        next: (i) => ({
          path: '/v1/quotes',
          ...json(quoters[i % quoters.length], { pickup: near(i), dropoff: near(i + 5) }),
        }),
      },
      {
        name: 'location',
        rate: LOCATIONS_PER_SECOND,
        next: (i) => ({ path: '/v1/drivers/me/location', ...json(drivers[i % DRIVERS], near(i)) }),
      },
    ],
    2,
  );
  // The loop-delay histogram restarts at each scrape: start it afresh for the normal phase.
  await loopStats(server.url);
  const normal = await phase(capacity * NORMAL, bookingsFor.normal);
  const overload = await phase(capacity * OVERLOAD, bookingsFor.overload);
  const summary = (results) => ({
    bookingP99: percentile(
      results.booking.map((r) => r.ms),
      99,
    ),
    locationP99: percentile(
      results.location.map((r) => r.ms),
      99,
    ),
    quotesShed: results.quote.filter((r) => r.status === 503).length / results.quote.length,
    quotesServed: results.quote.filter((r) => r.status === 201).length / DURATION,
    criticalFailures: [...results.booking, ...results.location].filter(
      (r) => r.status < 200 || r.status > 299,
    ).length,
    shedWithoutRetryAfter: results.quote.filter((r) => r.status === 503 && !r.retryAfter).length,
    ...results.loop,
  });
  return { normal: summary(normal), overload: summary(overload) };
};

const main = async () => {
  const loadAtStart = loadavg()[0].toFixed(2);
  if (PINS) pinSelf(PINS.load);
  const rows = [];
  for (const backend of await benchBackends()) {
    const dataDir = await mkdtemp(join(tmpdir(), 'peakride-bench-overload-'));
    try {
      const env = { PEAKRIDE_DATA_DIR: dataDir, ...backend.env };
      // The first start migrates (and for PGlite runs initdb); the measured starts are warm.
      await (await startServer([cli, 'serve'], env)).stop();
      const runs = [];
      for (let i = 0; i < RUNS; i++) {
        const capacity = await measureCapacity(env);
        runs.push({ capacity, ...(await run(env, capacity)) });
        process.stderr.write(`${backend.name} run ${i + 1}: ${JSON.stringify(runs.at(-1))}\n`);
      }
      const m = (pick) => median(runs.map(pick));
      rows.push({
        backend: backend.name,
        capacity: m((r) => r.capacity),
        bookingNormal: m((r) => r.normal.bookingP99),
        bookingOverload: m((r) => r.overload.bookingP99),
        bookingRatio: m((r) => r.overload.bookingP99 / r.normal.bookingP99),
        locationNormal: m((r) => r.normal.locationP99),
        locationOverload: m((r) => r.overload.locationP99),
        locationRatio: m((r) => r.overload.locationP99 / r.normal.locationP99),
        loopNormal: m((r) => r.normal.maxLoopDelayMs),
        loopOverload: m((r) => r.overload.maxLoopDelayMs),
        // GC time per second of the overload phase: the counters are cumulative, so the difference.
        gcShare: m((r) => (r.overload.gcSeconds - r.normal.gcSeconds) / DURATION),
        shedNormal: m((r) => r.normal.quotesShed),
        shedOverload: m((r) => r.overload.quotesShed),
        quotesServed: m((r) => r.overload.quotesServed),
        failures: runs.reduce((sum, r) => sum + r.normal.criticalFailures + r.overload.criticalFailures, 0),
        noRetryAfter: runs.reduce(
          (sum, r) => sum + r.normal.shedWithoutRetryAfter + r.overload.shedWithoutRetryAfter,
          0,
        ),
      });
    } finally {
      await backend.cleanup?.();
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  await writeReport(rows, loadAtStart);
};

const pct = (share) => `${Math.round(share * 100)}%`;
const ms = (value) => Math.round(value);

const writeReport = async (rows, loadAtStart) => {
  const when = new Date().toISOString().slice(0, 10);
  const table = rows
    .map(
      (row) =>
        `| ${row.backend} | ${Math.round(row.capacity)} | ${ms(row.bookingNormal)} → ${ms(row.bookingOverload)} | **${row.bookingRatio.toFixed(2)}** | ${ms(row.locationNormal)} → ${ms(row.locationOverload)} | **${row.locationRatio.toFixed(2)}** | ${pct(row.shedNormal)} / **${pct(row.shedOverload)}** | ${Math.round(row.quotesServed)} | ${ms(row.loopNormal)} → ${ms(row.loopOverload)} | ${pct(row.gcShare)} | ${row.failures} | ${row.noRetryAfter} |`,
    )
    .join('\n');
  const body = `Measured by \`npm run bench:overload\` (\`bench/overload.mjs\`) on ${when}: one \`peakride serve\` process
(default shedding thresholds, see [docs/load-shedding.md](docs/load-shedding.md)), the quote flood from a
process of its own and the bookings and location updates from another, on the same 2-core machine
(1-minute load average ${loadAtStart} at the start); ${PINS ? `the server pinned to core ${PINS.server}, the load generators to core ${PINS.load} (taskset)` : 'processes not pinned: they shared every core'}; median of ${RUNS} runs.
Capacity is the quote throughput of the same server with shedding off (autocannon, 32 connections). Each run
has two ${DURATION} s phases of open-model load (each request leaves at its scheduled time; latency counts from
that time): **normal**, quotes at ${NORMAL * 100}% of capacity, plus ${BOOKINGS_PER_SECOND} bookings/s (each with a
quote taken beforehand) and ${LOCATIONS_PER_SECOND} location updates/s from ${DRIVERS} online drivers; then
**overload**, quotes at ${OVERLOAD}x capacity with the same bookings and locations. Target: p99 of bookings and
locations under overload at most 2x their value at normal load.

\`\`\`sh
npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:overload
\`\`\`

| database | quote capacity (req/s) | booking p99 ms, normal → overload | booking p99 ratio | location p99 ms, normal → overload | location p99 ratio | quotes shed, normal / overload | quotes served under overload (req/s) | longest event-loop delay ms, normal → overload | GC time under overload | bookings + locations not 2xx | 503 without Retry-After |
|---|---|---|---|---|---|---|---|---|---|---|---|
${table}
`;
  await writeSection('Overload: priority load shedding', body);
  process.stdout.write(body);
};

if (process.argv[2] === '--flood') await flood(process.argv.slice(3));
else await main();
