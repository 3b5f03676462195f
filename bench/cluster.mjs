// npm run bench:cluster: the distributed mode (`serve --role api|dispatch|worker` against PostgreSQL and
// Redis) on this machine. Location-update and booking throughput with one api process against two (one
// dispatch and one worker in both cases), each against a bare Fastify anchor split the same way, and the
// time a dispatcher killed with SIGKILL takes to be replaced. Every cluster gets a PostgreSQL schema and a
// Redis prefix of its own, dropped afterwards; configurations are interleaved round by round.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench:cluster
//   BENCH_RUNS=1 BENCH_DURATION=3 BENCH_FAILOVER_TRIALS=1 node bench/cluster.mjs   # a quick look
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Agent, request } from 'undici';
import { median, writeSection } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DRIVERS = Number(process.env.BENCH_DRIVERS ?? 2000);
const FAILOVER_TRIALS = Number(process.env.BENCH_FAILOVER_TRIALS ?? 3);
const LEASES = (process.env.BENCH_LEASES ?? '6,2').split(',').map(Number);
const QUIET_LOAD = Number(process.env.BENCH_QUIET_LOAD ?? 1.5);
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_SECONDS ?? 300);
/** Before each measurement, wait (up to IDLE_WAIT_S) until other tenants use less than this many cores. */
const IDLE_CORES = Number(process.env.BENCH_IDLE_CORES ?? 0.25);
const IDLE_WAIT_S = Number(process.env.BENCH_IDLE_WAIT_SECONDS ?? 120);
/** A run during which the rest of the machine took more cores than this is measured again (twice at most). */
const MAX_REST = Number(process.env.BENCH_MAX_REST_CORES ?? 0.3);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const cli = new URL('../dist/peakride.js', import.meta.url).pathname;
const anchorScript = new URL('./bare-fastify.mjs', import.meta.url).pathname;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => process.stderr.write(`[cluster] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Places: drivers and pickups spread over a 3 km disc around the centre of Paris.

const paris = { lat: 48.8566, lng: 2.3522 };
const offset = (point, northMeters, eastMeters) => ({
  lat: point.lat + northMeters / 111_320,
  lng: point.lng + eastMeters / (111_320 * Math.cos((point.lat * Math.PI) / 180)),
});
/** The i-th of n points spread evenly over a disc (sunflower spiral). */
const spread = (i, n, radius, centre = paris) => {
  const r = radius * Math.sqrt((i + 0.5) / n);
  const angle = i * 2.399963;
  return offset(centre, r * Math.cos(angle), r * Math.sin(angle));
};

// ---------------------------------------------------------------------------------------------
// HTTP set-up calls (not measured): undici with keep-alive, a bounded number in flight.

const agent = new Agent({ connections: 64, pipelining: 1 });

const call = async (base, method, path, { body, token, headers = {} } = {}) => {
  const response = await request(`${base}${path}`, {
    method,
    dispatcher: agent,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.body.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: response.statusCode, body: json };
};

const expectStatus = async (promise, status, what) => {
  const reply = await promise;
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
};

/** Runs fn(i) for i in [0, count) with at most `concurrency` at once; results in order. */
const inParallel = async (count, concurrency, fn) => {
  const results = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await fn(i);
      }
    }),
  );
  return results;
};

const token = (base, role, subject) =>
  expectStatus(call(base, 'POST', '/v1/dev/tokens', { body: { role, subject } }), 201, 'dev token').then(
    (body) => body.token,
  );

const waitFor = async (check, timeoutMs, what, intervalMs = 20) => {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
};

// ---------------------------------------------------------------------------------------------
// Processes: the built CLI per role (as test/support/processes.ts does), and the bare anchor.

const startProcess = (args, env, name) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        PEAKRIDE_DRAIN_DELAY_SECONDS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail = [];
    let exited = false;
    const exit = once(child, 'exit').then(([code, signal]) => {
      exited = true;
      return code ?? signal;
    });
    const remember = (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
    };
    // Both streams are read to the end, so a chatty process never blocks on a full pipe.
    createInterface({ input: child.stderr }).on('line', remember);
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'peakride ready' && typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve({
            name,
            url: entry.url,
            pid: child.pid,
            get exited() {
              return exited;
            },
            async stop(signal = 'SIGTERM') {
              if (exited) return exit;
              child.kill(signal);
              const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
              const code = await exit;
              clearTimeout(killer);
              return code;
            },
          });
        }
      } catch {}
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} not ready in 30 s:\n${tail.join('\n')}`));
    }, 30_000);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${tail.join('\n')}`));
    });
  });

/** A PostgreSQL schema and a Redis prefix of its own; start(role) runs a role process against them. */
const createCluster = async (extraEnv = {}) => {
  const suffix = randomBytes(5).toString('hex');
  const schema = `peakride_bench_cluster_${suffix}`;
  const prefix = `peakride-bench-${suffix}:`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  // Names this cluster's connections, so their backends' CPU can be told from other tenants'.
  url.searchParams.set('application_name', schema);
  const env = {
    DATABASE_URL: url.toString(),
    REDIS_URL,
    PEAKRIDE_REDIS_PREFIX: prefix,
    AUTH_MODE: 'dev',
    ...extraEnv,
  };
  const processes = [];
  return {
    async postgresPids() {
      const { rows } = await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = $1 OR backend_type <> 'client backend'`,
        [schema],
      );
      return rows.map((row) => row.pid);
    },
    /**
     * Samples what this cluster's PostgreSQL backends are doing every 50 ms until the returned
     * function is called: the average number of them per state / wait event.
     */
    sampleBackends() {
      const counts = new Map();
      let samples = 0;
      let running = true;
      const loop = (async () => {
        while (running) {
          const { rows } = await admin.query(
            `SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ': ' || wait_event, 'running')
                         ELSE state || coalesce(' (' || wait_event || ')', '') END AS what, count(*)::int AS n
               FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle' AND pid <> pg_backend_pid()
              GROUP BY 1`,
            [schema],
          );
          samples++;
          for (const row of rows) counts.set(row.what, (counts.get(row.what) ?? 0) + row.n);
          await sleep(50);
        }
      })();
      return async () => {
        running = false;
        await loop;
        return Object.fromEntries([...counts].map(([what, n]) => [what, n / samples]));
      };
    },
    async start(role) {
      const started = await startProcess([cli, 'serve', '--role', role], env, role);
      processes.push(started);
      return started;
    },
    async cleanup() {
      await Promise.all(processes.map((child) => child.stop()));
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
      const redis = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = nextCursor;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
};

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): who used the two cores during a measured run.

const TICKS_PER_SECOND = 100;
const pidsNamed = (names) => {
  const pids = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) pids.push(Number(entry));
      } catch {}
    }
  } catch {}
  return pids;
};
const cpuTicks = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined; // gone
  }
};
const machineTicks = () => {
  try {
    const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
    const values = cpu.split(/\s+/).slice(1).map(Number);
    const idle = values[3] + values[4];
    return { busy: values.reduce((a, b) => a + b, 0) - idle };
  } catch {
    return { busy: 0 };
  }
};

/**
 * Starts counting; the returned function gives CPU seconds per second (1 = one core) per group.
 * `postgresPids` lists this cluster's PostgreSQL backends (and the server's own background
 * processes), read again at the end for connections opened meanwhile.
 */
const cpuMeter = async (groups, postgresPids) => {
  const redis = pidsNamed(['redis-server']);
  // First and last reading of every process followed, read every 250 ms: a PostgreSQL backend
  // can end during the run (idle pool connections are closed) and one can start.
  const first = new Map();
  const last = new Map();
  const postgres = new Set();
  const read = (pids, isNew = false) => {
    for (const pid of pids) {
      const ticks = cpuTicks(pid);
      if (ticks === undefined) continue;
      if (!first.has(pid)) first.set(pid, isNew ? 0 : ticks);
      last.set(pid, ticks);
    }
  };
  const refreshPostgres = async (isNew) => {
    const fresh = (await postgresPids()).filter((pid) => !postgres.has(pid));
    for (const pid of fresh) postgres.add(pid);
    read(fresh, isNew);
  };
  await refreshPostgres(false);
  read([...Object.values(groups).flat(), ...redis]);
  const self = process.cpuUsage();
  const machine = machineTicks();
  const startedAt = performance.now();
  let running = true;
  const sampler = (async () => {
    while (running) {
      await sleep(250);
      read(postgres);
      await refreshPostgres(true);
    }
  })();
  return async () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const own = process.cpuUsage(self);
    const busy = machineTicks().busy - machine.busy;
    read([...Object.values(groups).flat(), ...redis, ...postgres]);
    running = false;
    await sampler;
    const used = (pids) =>
      [...pids].reduce((sum, pid) => sum + (last.get(pid) ?? 0) - (first.get(pid) ?? 0), 0) /
      TICKS_PER_SECOND /
      seconds;
    return {
      ...Object.fromEntries(Object.entries(groups).map(([group, pids]) => [group, used(pids)])),
      PostgreSQL: used(postgres),
      Redis: used(redis),
      'load generator': (own.user + own.system) / 1e6 / seconds,
      machine: busy / TICKS_PER_SECOND / seconds,
    };
  };
};

// ---------------------------------------------------------------------------------------------
// Load: one autocannon per target, in parallel, the connections split evenly among them.

const loadAcross = async (urls, path, makeRequest, duration) => {
  const connections = Math.max(1, Math.floor(CONNECTIONS / urls.length));
  const results = await Promise.all(
    urls.map((url) =>
      autocannon({
        url,
        connections,
        duration,
        requests: [{ method: 'POST', path, setupRequest: (req) => ({ ...req, ...makeRequest() }) }],
      }),
    ),
  );
  return {
    requestsPerSecond: results.reduce((sum, r) => sum + r.requests.average, 0),
    p99Ms: Math.max(...results.map((r) => r.latency.p99)),
    failures: results.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0),
  };
};

const measureAnchor = async (count) => {
  const servers = await Promise.all(
    Array.from({ length: count }, () => startProcess([anchorScript], {}, 'bare-fastify')),
  );
  let i = 0;
  const makeRequest = () => {
    i++;
    return {
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({ lat: paris.lat + (i % 32) * 0.00003, lng: paris.lng, heading: 90 }),
    };
  };
  const urls = servers.map((server) => server.url);
  await loadAcross(urls, '/echo', makeRequest, WARMUP);
  const meter = await cpuMeter({ anchor: servers.map((server) => server.pid) }, async () => []);
  const result = await loadAcross(urls, '/echo', makeRequest, DURATION);
  result.cpu = await meter();
  await Promise.all(servers.map((server) => server.stop()));
  return result;
};

/** Quotes are created ahead for this many bookings per second (raised as runs show more). */
let bookingRateEstimate = Number(process.env.BENCH_BOOKING_GUESS ?? 800);

const measureCluster = async (apiCount) => {
  const cluster = await createCluster({
    // Quotes are all made before the runs; they must outlive them.
    PEAKRIDE_QUOTE_TTL_SECONDS: '3600',
  });
  try {
    const [worker, dispatch, ...apis] = await Promise.all([
      cluster.start('worker'),
      cluster.start('dispatch'),
      ...Array.from({ length: apiCount }, () => cluster.start('api')),
    ]);
    const urls = apis.map((api) => api.url);
    const via = (i) => urls[i % urls.length];

    // Drivers online over a 3 km disc, each through one of the api processes.
    const drivers = await inParallel(DRIVERS, 32, async (i) => {
      const driverToken = await token(via(i), 'driver', `bench-driver-${i}-${randomUUID().slice(0, 8)}`);
      const base = spread(i, DRIVERS, 3000);
      await expectStatus(
        call(via(i), 'POST', '/v1/drivers/me/online', { body: base, token: driverToken }),
        200,
        'online',
      );
      return { base, authorization: `Bearer ${driverToken}` };
    });

    const quotes = [];
    const createQuotes = async (count) => {
      const startedAt = performance.now();
      const made = await inParallel(count, 32, async (i) => {
        const api = via(i);
        const riderToken = await token(api, 'rider', `bench-rider-${randomUUID()}`);
        const pickup = spread((quotes.length + i) % 5000, 5000, 3000);
        const dropoff = offset(pickup, 2500, -1500);
        const quote = await expectStatus(
          call(api, 'POST', '/v1/quotes', { body: { pickup, dropoff }, token: riderToken }),
          201,
          'quote',
        );
        return { authorization: `Bearer ${riderToken}`, body: JSON.stringify({ quoteId: quote.quoteId }) };
      });
      quotes.push(...made);
      log(`  ${count} riders and quotes in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    };
    await createQuotes(Math.ceil(bookingRateEstimate * (WARMUP + DURATION) * 1.5) + 500);

    // Location updates: each request from the next driver, a few metres from its last position.
    let nextDriver = 0;
    const steps = new Uint16Array(DRIVERS);
    const locationRequest = () => {
      const i = nextDriver++ % DRIVERS;
      const step = steps[i]++ % 64;
      const driver = drivers[i];
      return {
        headers: { 'content-type': 'application/json', authorization: driver.authorization },
        body: JSON.stringify({
          lat: driver.base.lat + (step < 32 ? step : 64 - step) * 0.00003,
          lng: driver.base.lng + (step < 32 ? step : 64 - step) * 0.00002,
          heading: 34,
        }),
      };
    };
    await loadAcross(urls, '/v1/drivers/me/location', locationRequest, WARMUP);
    const groups = {
      [`api ×${apiCount}`]: apis.map((api) => api.pid),
      dispatch: [dispatch.pid],
      worker: [worker.pid],
    };
    let meter = await cpuMeter(groups, cluster.postgresPids);
    const location = await loadAcross(urls, '/v1/drivers/me/location', locationRequest, DURATION);
    location.cpu = await meter();
    location.load = loadavg()[0];

    // Bookings: each by another rider with a quote of its own, then dispatched to the drivers.
    let booking;
    for (let attempt = 0; ; attempt++) {
      let nextQuote = 0;
      let exhausted = 0;
      const bookingRequest = () => {
        let quote = quotes[nextQuote++];
        if (!quote) {
          // Out of quotes: the booking is refused (counted as a failure) and the run is done again.
          exhausted++;
          quote = quotes[0];
        }
        return {
          headers: {
            'content-type': 'application/json',
            authorization: quote.authorization,
            'idempotency-key': randomUUID(),
          },
          body: quote.body,
        };
      };
      await loadAcross(urls, '/v1/rides', bookingRequest, WARMUP);
      meter = await cpuMeter(groups, cluster.postgresPids);
      const backends = cluster.sampleBackends();
      booking = await loadAcross(urls, '/v1/rides', bookingRequest, DURATION);
      booking.cpu = await meter();
      booking.backends = await backends();
      booking.load = loadavg()[0];
      bookingRateEstimate = Math.max(bookingRateEstimate, booking.requestsPerSecond);
      quotes.splice(0, nextQuote);
      if (exhausted === 0 || attempt === 2) break;
      log(`  ran out of quotes (${exhausted} refused), again with more`);
      await createQuotes(Math.ceil(bookingRateEstimate * (WARMUP + DURATION) * 2) + 500);
    }
    return { location, booking };
  } finally {
    await cluster.cleanup();
  }
};

// ---------------------------------------------------------------------------------------------
// Fail-over: two dispatchers, kill the one holding Paris, time the takeover and the first offer.

const partitionsOf = async (dispatcher) => {
  const { body } = await call(dispatcher.url, 'GET', '/metrics');
  const held = {};
  for (const [, partition, value] of String(body).matchAll(
    /^peakride_dispatch_partitions_held\{partition="([^"]+)"\} (\d+)/gm,
  )) {
    held[partition] = value === '1';
  }
  return held;
};

const measureFailover = async (leaseSeconds) => {
  const cluster = await createCluster({ PEAKRIDE_DISPATCH_LEASE_SECONDS: String(leaseSeconds) });
  const trials = [];
  try {
    const [api] = await Promise.all([cluster.start('api'), cluster.start('worker')]);
    const dispatchers = [await cluster.start('dispatch'), await cluster.start('dispatch')];
    for (let trial = 0; trial < FAILOVER_TRIALS; trial++) {
      // Both live dispatchers hold a city each (the fair share of two cities), one of them Paris.
      const [holder, survivor] = await waitFor(
        async () => {
          const held = await Promise.all(dispatchers.map(partitionsOf));
          const counts = held.map((h) => Object.values(h).filter(Boolean).length);
          const parisAt = held.findIndex((h) => h.paris);
          if (parisAt === -1 || counts.some((count) => count !== 1)) return undefined;
          return [dispatchers[parisAt], dispatchers[1 - parisAt]];
        },
        60_000,
        'two dispatchers holding a city each',
        100,
      );
      // A free driver 300 m from the pickup (another spot each trial), and the rider's quote.
      const pickup = spread(trial, 8, 2000);
      const driverToken = await token(api.url, 'driver', `bench-failover-driver-${randomUUID()}`);
      await expectStatus(
        call(api.url, 'POST', '/v1/drivers/me/online', { body: offset(pickup, 300, 0), token: driverToken }),
        200,
        'online',
      );
      const riderToken = await token(api.url, 'rider', `bench-failover-rider-${randomUUID()}`);
      const quote = await expectStatus(
        call(api.url, 'POST', '/v1/quotes', {
          body: { pickup, dropoff: offset(pickup, 2500, -1500) },
          token: riderToken,
        }),
        201,
        'quote',
      );
      await sleep(500); // the driver's position reaches every replica

      const killedAt = performance.now();
      await holder.stop('SIGKILL');
      const ride = await expectStatus(
        call(api.url, 'POST', '/v1/rides', {
          body: { quoteId: quote.quoteId },
          token: riderToken,
          headers: { 'idempotency-key': randomUUID() },
        }),
        201,
        'booking',
      );
      const [takeoverMs, offer] = await Promise.all([
        waitFor(
          async () => ((await partitionsOf(survivor)).paris ? performance.now() - killedAt : undefined),
          60_000,
          'the survivor to hold Paris',
        ),
        waitFor(
          async () => {
            const { body } = await call(api.url, 'GET', '/v1/drivers/me/offers', { token: driverToken });
            const found = Array.isArray(body) && body.find((o) => o.rideId === ride.id);
            return found && { id: found.id, ms: performance.now() - killedAt };
          },
          60_000,
          'the offer',
        ),
      ]);
      trials.push({ takeoverMs, offerMs: offer.ms });
      log(
        `  lease ${leaseSeconds} s, trial ${trial + 1}: Paris taken over after ${Math.round(takeoverMs)} ms, offer after ${Math.round(offer.ms)} ms`,
      );
      // The driver takes the ride (so it is never offered again), and a new dispatcher replaces the dead one.
      await expectStatus(
        call(api.url, 'POST', `/v1/offers/${offer.id}/accept`, { token: driverToken }),
        200,
        'accept',
      );
      dispatchers.splice(dispatchers.indexOf(holder), 1, await cluster.start('dispatch'));
    }
  } finally {
    await cluster.cleanup();
  }
  return {
    leaseSeconds,
    takeoverMs: median(trials.map((t) => t.takeoverMs)),
    offerMs: median(trials.map((t) => t.offerMs)),
    trials,
  };
};

// ---------------------------------------------------------------------------------------------

const waitForQuiet = async () => {
  const startedAt = performance.now();
  while (loadavg()[0] >= QUIET_LOAD && performance.now() - startedAt < QUIET_WAIT_S * 1000) {
    if (Math.round((performance.now() - startedAt) / 1000) % 30 === 0)
      log(`waiting for the 1-minute load average (${loadavg()[0].toFixed(2)}) to fall below ${QUIET_LOAD}`);
    await sleep(1000);
  }
  return (performance.now() - startedAt) / 1000;
};

/** Cores busy over `ms` besides this process: other tenants, when no cluster of ours is running. */
const othersBusy = async (ms) => {
  const machine = machineTicks();
  const self = process.cpuUsage();
  const startedAt = performance.now();
  await sleep(ms);
  const seconds = (performance.now() - startedAt) / 1000;
  const own = process.cpuUsage(self);
  return (
    (machineTicks().busy - machine.busy) / TICKS_PER_SECOND / seconds -
    (own.user + own.system) / 1e6 / seconds
  );
};

/** Waits until the rest of the machine is idle enough to measure; the cores it used when we went ahead. */
const waitForIdle = async (what) => {
  const startedAt = performance.now();
  for (;;) {
    const others = await othersBusy(2000);
    const waited = (performance.now() - startedAt) / 1000;
    if (others < IDLE_CORES || waited >= IDLE_WAIT_S) {
      if (others >= IDLE_CORES)
        log(`  ${what}: other tenants still use ${others.toFixed(2)} cores; going ahead`);
      return { others, waited };
    }
    if (Math.round(waited) % 10 < 2) log(`  ${what}: other tenants use ${others.toFixed(2)} cores; waiting`);
  }
};

/** Cores busy during a run beyond what the meter attributed: other tenants (and unattributed kernel time). */
const restOf = (cpu) =>
  cpu.machine - Object.entries(cpu).reduce((sum, [k, v]) => (k === 'machine' ? sum : sum + v), 0);

/**
 * Measures, and measures again (at most twice more, after the machine is idle again) when other
 * tenants took more than MAX_REST cores meanwhile; counts what it threw away.
 */
const discarded = [];
const unlessDisturbed = async (what, measure, runsOf) => {
  for (let attempt = 0; ; attempt++) {
    const result = await measure();
    const rest = Math.max(...runsOf(result).map((run) => restOf(run.cpu)));
    if (rest <= MAX_REST || attempt === 2) return result;
    discarded.push({ what, rest });
    log(`  ${what}: the rest of the machine took ${rest.toFixed(2)} cores meanwhile; measuring again`);
    await waitForIdle(what);
  }
};

const main = async () => {
  const waitedS = await waitForQuiet();
  const loadAtStart = loadavg();
  log(`1-minute load average ${loadAtStart[0].toFixed(2)} at the start (waited ${Math.round(waitedS)} s)`);
  const samples = { anchor: { 1: [], 2: [] }, location: { 1: [], 2: [] }, booking: { 1: [], 2: [] } };
  const loads = [];
  const idle = [];
  for (let round = 0; round < RUNS; round++) {
    // Interleaved, and the order flipped every round, so drift of the shared machine hits both alike.
    const order = round % 2 ? [2, 1] : [1, 2];
    idle.push(await waitForIdle(`round ${round + 1}, anchors`));
    for (const count of order) {
      loads.push(loadavg()[0]);
      const what = `round ${round + 1}, bare Fastify ×${count}`;
      const anchor = await unlessDisturbed(
        what,
        () => measureAnchor(count),
        (result) => [result],
      );
      samples.anchor[count].push(anchor);
      log(`${what}: ${Math.round(anchor.requestsPerSecond)} req/s, cpu ${JSON.stringify(anchor.cpu)}`);
    }
    for (const count of order) {
      const what = `round ${round + 1}, ${count} api`;
      idle.push(await waitForIdle(what));
      loads.push(loadavg()[0]);
      const { location, booking } = await unlessDisturbed(
        what,
        () => measureCluster(count),
        (result) => [result.location, result.booking],
      );
      samples.location[count].push(location);
      samples.booking[count].push(booking);
      log(
        `${what}: locations ${Math.round(location.requestsPerSecond)} req/s p99 ${location.p99Ms} ms, bookings ${Math.round(booking.requestsPerSecond)} req/s p99 ${booking.p99Ms} ms`,
      );
      log(`  locations cpu ${JSON.stringify(location.cpu)}`);
      log(`  bookings cpu ${JSON.stringify(booking.cpu)}, backends ${JSON.stringify(booking.backends)}`);
    }
  }
  const failovers = [];
  for (const lease of LEASES) {
    idle.push(await waitForIdle(`fail-over, lease ${lease} s`));
    failovers.push(await measureFailover(lease));
  }
  loads.push(loadavg()[0]);
  await report(samples, failovers, { loadAtStart, waitedS, loads, idle });
  await agent.close();
};

const summarise = (runs) => ({
  requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
  p99Ms: median(runs.map((r) => r.p99Ms)),
  failures: runs.reduce((sum, r) => sum + r.failures, 0),
  cpu: runs[0].cpu
    ? Object.fromEntries(Object.keys(runs[0].cpu).map((k) => [k, median(runs.map((r) => r.cpu[k]))]))
    : undefined,
});

const fixed = (value, digits = 2) => value.toFixed(digits);
const int = (value) => Math.round(value).toLocaleString('en-US');

const report = async (samples, failovers, { loadAtStart, waitedS, loads, idle }) => {
  const when = new Date().toISOString().slice(0, 10);
  const rows = [];
  const anchor = { 1: summarise(samples.anchor[1]), 2: summarise(samples.anchor[2]) };
  const perRound = (kind) =>
    samples[kind][1].map((one, i) => samples[kind][2][i].requestsPerSecond / one.requestsPerSecond);
  for (const [kind, label] of [
    ['anchor', 'bare Fastify, POST /echo (anchor)'],
    ['location', 'POST /v1/drivers/me/location'],
    ['booking', 'POST /v1/rides (booking)'],
  ]) {
    const one = summarise(samples[kind][1]);
    const two = summarise(samples[kind][2]);
    const ratios = perRound(kind);
    rows.push(
      `| ${label} | ${int(one.requestsPerSecond)} | ${one.p99Ms} | ${int(two.requestsPerSecond)} | ${two.p99Ms} | **${fixed(two.requestsPerSecond / one.requestsPerSecond)}** (${ratios.map((r) => fixed(r)).join(', ')}) | ${fixed(one.requestsPerSecond / anchor[1].requestsPerSecond)} / ${fixed(two.requestsPerSecond / anchor[2].requestsPerSecond)} | ${one.failures + two.failures} |`,
    );
  }
  const cpuRows = [];
  for (const [kind, label] of [
    ['anchor', 'bare Fastify'],
    ['location', 'location updates'],
    ['booking', 'bookings'],
  ]) {
    for (const count of [1, 2]) {
      const { cpu } = summarise(samples[kind][count]);
      if (!cpu) continue;
      const anchorRow = kind === 'anchor';
      const server = anchorRow ? cpu.anchor : cpu[`api ×${count}`];
      const cell = (value) => (value === undefined ? '—' : fixed(value));
      cpuRows.push(
        `| ${label}, ${anchorRow ? `${count} process${count > 1 ? 'es' : ''}` : `${count} api`} | ${fixed(cpu['load generator'])} | ${fixed(server)} | ${cell(cpu.dispatch)} | ${cell(cpu.worker)} | ${anchorRow ? '—' : fixed(cpu.PostgreSQL)} | ${fixed(cpu.Redis)} | ${fixed(restOf(cpu))} | ${fixed(cpu.machine)} |`,
      );
    }
  }
  // What the cluster's PostgreSQL backends were doing during the booking runs, averaged over the runs.
  const backendStates = [1, 2].map((count) => {
    const sum = {};
    for (const run of samples.booking[count])
      for (const [what, n] of Object.entries(run.backends ?? {})) sum[what] = (sum[what] ?? 0) + n / RUNS;
    return sum;
  });
  const states = Object.keys({ ...backendStates[0], ...backendStates[1] })
    .map((what) => ({ what, one: backendStates[0][what] ?? 0, two: backendStates[1][what] ?? 0 }))
    .filter((state) => state.one + state.two >= 0.1)
    .sort((a, b) => b.one + b.two - (a.one + a.two));
  const backendRows = states.map(
    (state) => `| ${state.what} | ${fixed(state.one, 1)} | ${fixed(state.two, 1)} |`,
  );
  const failoverRows = failovers.map(
    (f) =>
      `| ${f.leaseSeconds}${f.leaseSeconds === 6 ? ' (default)' : ''} | ${fixed(f.takeoverMs / 1000, 1)} | ${fixed(f.offerMs / 1000, 1)} | ${f.trials.map((t) => `${fixed(t.takeoverMs / 1000, 1)} / ${fixed(t.offerMs / 1000, 1)}`).join(', ')} |`,
  );
  const range = `${fixed(Math.min(...loads))}–${fixed(Math.max(...loads))}`;
  // Reading it: figures derived from the same medians.
  const get = (kind, count) => summarise(samples[kind][count]);
  const perRequestUs = (kind, count, key) => {
    const run = get(kind, count);
    const cores = key ? run.cpu[key] : run.cpu.machine;
    return Math.round((cores / run.requestsPerSecond) * 1e6);
  };
  const ratioOf = (kind) => get(kind, 2).requestsPerSecond / get(kind, 1).requestsPerSecond;
  const bookingPg = (count) =>
    fixed((get('booking', count).cpu.PostgreSQL / get('booking', count).requestsPerSecond) * 1000);
  const waitingClient = backendStates.map((states) =>
    fixed(states['idle in transaction (ClientRead)'] ?? 0, 1),
  );
  const reading = `How to read it. The anchor's own 2 / 1 ratio (${fixed(ratioOf('anchor'))}) is this machine's ceiling: the load generator,
one Node thread, already uses ${fixed(get('anchor', 1).cpu['load generator'])} cores against a single bare server, so a second server
process gets no more requests to answer. Location updates cost ${perRequestUs('location', 1)} µs of machine CPU each with one api process and
${perRequestUs('location', 2)} µs with two (api processes ${perRequestUs('location', 1, 'api ×1')} → ${perRequestUs('location', 2, 'api ×2')} µs, Redis ${perRequestUs('location', 1, 'Redis')} → ${perRequestUs('location', 2, 'Redis')} µs): every
process that needs supply keeps a full replica fed by the Redis stream, so a second api process applies the
other's updates as well as its own, and with the two cores full that extra work, not added capacity, is what
shows (${fixed(ratioOf('location'))}). Bookings are bound by the CPU PostgreSQL shares with everything else: it takes
${fixed(get('booking', 1).cpu.PostgreSQL)} cores, ${bookingPg(1)} ms of PostgreSQL CPU per booking (the booking transaction, the dispatcher's offers
and sweeps, the outbox relay), and its backends spend most of their time inside a transaction waiting for the
next statement from Node (${waitingClient[0]} backends on average with one api process's pool of 10, ${waitingClient[1]} with two pools):
a second api process opens more transactions at once, not more throughput (${fixed(ratioOf('booking'))}). So this
shows what a second api process costs on a machine with no core to spare for it, not how api processes scale
on more cores.`;
  const body = `Measured by \`npm run bench:cluster\` (\`bench/cluster.mjs\`) on ${when}, Node ${process.version}: every
process — \`serve --role api|dispatch|worker\` of the built CLI, PostgreSQL 15, Redis and the load generator —
on the same shared 2-core machine. 1-minute load average ${fixed(loadAtStart[0])} at the start (after waiting
${Math.round(waitedS)} s for it to fall below ${QUIET_LOAD}), ${range} as each configuration began (the benchmark itself
keeps about 2 cores busy). Before each round and configuration the script waits (up to ${IDLE_WAIT_S} s) until the
rest of the machine uses under ${IDLE_CORES} cores over 2 s: it used ${fixed(Math.max(...idle.map((i) => i.others)))} cores at most when measuring began
(${Math.round(idle.reduce((sum, i) => sum + i.waited, 0))} s waited in all); a run during which the rest of the machine took more than ${MAX_REST} cores is measured
again, twice at most (${discarded.length} run${discarded.length === 1 ? '' : 's'} thrown away${discarded.length ? `: ${discarded.map((d) => `${d.what}, ${fixed(d.rest)} cores`).join('; ')}` : ''}).
Each cluster has a PostgreSQL schema and a Redis prefix of its own, dropped afterwards.

**Throughput, 1 api process against 2** (one \`dispatch\` and one \`worker\` running in both cases). Each run is a
fresh cluster: ${DRIVERS.toLocaleString('en-US')} drivers online over a 3 km disc in Paris, then ${WARMUP} s of warm-up and ${DURATION} s measured
per workload; median of ${RUNS} runs, configurations interleaved (order flipped every run). The load is one
autocannon per api process in parallel in one generator process, ${CONNECTIONS} connections in total split evenly
(${CONNECTIONS} against 1 process, ${CONNECTIONS / 2} + ${CONNECTIONS / 2} against 2); req/s are summed, p99 is the worse of the two. Location
updates: each request from the next driver, a few metres from its last position, \`at\` omitted. Bookings:
each by a distinct rider with a quote of its own created beforehand (\`PEAKRIDE_QUOTE_TTL_SECONDS=3600\`) and a
fresh \`Idempotency-Key\`; the dispatcher offers them to the drivers meanwhile. The anchor is the bare Fastify
server of \`bench/http.mjs\` (\`bench/bare-fastify.mjs\`) run as 1 and as 2 processes under the same generator and
split: its 2 / 1 ratio is what this machine can show for scale-out at all.

| workload | 1 api req/s | p99 ms | 2 api req/s | p99 ms | scale-out 2 / 1 (each run) | req/s vs anchor, 1 / 2 | non-2xx + errors |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Where the two cores went during the measured runs (CPU seconds per second, median of the runs; 2.00 is the
whole machine; "machine" is all busy CPU; PostgreSQL is the cluster's backends plus the server's background
processes; Redis is the whole server; "rest" is machine minus the rest of the row: other tenants, and kernel
time not charged to a process):

| run | load generator | api (or anchor) | dispatch | worker | PostgreSQL | Redis | rest | machine |
|---|---|---|---|---|---|---|---|---|
${cpuRows.join('\n')}

What the cluster's PostgreSQL backends were doing during the booking runs (sampled every 50 ms from
\`pg_stat_activity\`, average number of backends in each state; "running" is active without a wait event,
"idle in transaction (ClientRead)" is a transaction waiting for the next statement from its Node process):

| backend state | 1 api | 2 api |
|---|---|---|
${backendRows.join('\n')}

${reading}

**Dispatch fail-over.** An api, a worker and two dispatchers (defaults otherwise: sweep every 500 ms); once
each holds one city, the one holding Paris (\`peakride_dispatch_partitions_held{partition="paris"} 1\` in its
\`/metrics\`) is killed with SIGKILL and a ride is booked at once, 300 m from a free driver. Measured from the kill:
until the survivor's \`/metrics\` shows Paris held, and until the ride's offer is in the driver's
\`GET /v1/drivers/me/offers\` (both polled every 20 ms); median of ${FAILOVER_TRIALS} kills, a new dispatcher replacing the dead
one between kills.

| \`PEAKRIDE_DISPATCH_LEASE_SECONDS\` | Paris taken over, s | first offer, s | each kill: takeover / offer, s |
|---|---|---|---|
${failoverRows.join('\n')}

\`\`\`sh
DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench:cluster
\`\`\`
`;
  await writeSection('Distributed mode', body);
  process.stdout.write(`${body}\n`);
};

await main();
