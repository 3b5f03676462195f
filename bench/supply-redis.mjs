/**
 * Shared driver supply through Redis, at Paris scale (50,000 drivers in a Paris-sized box):
 *   (a) raw Redis: one GEOADD per location update, pipelined; GEOSEARCH … BYRADIUS 2 km ASC COUNT 10;
 *       and one XADD per update, pipelined (what the replicas would cost without batching);
 *   (b) the Redis supply replicas (src/adapters/redis/supply.ts): writer A in this process, reader B
 *       in a child process (its own event loop, as another pod would be):
 *       - saturation: updates/s A takes, and updates/s B has applied end to end;
 *       - lag at a steady rate (Paris: 50,000 drivers every 4 s = 12,500/s; a peak: every second =
 *         50,000/s): from A's upsert() to the position being visible in B, median and p99;
 *       - queries/s on B's replica (2 km, 10 nearest available), the local index's speed;
 *       - the start of a new replica: the last 30 s of the stream replayed, or a snapshot and the
 *         writes after it.
 * Prints the figures; writes nothing. Needs a build (npm run build) and REDIS_URL:
 *
 *   npm run build && REDIS_URL=redis://127.0.0.1:6379 node bench/supply-redis.mjs
 *   PEAKRIDE_DIST=/tmp/peakride-dist REDIS_URL=… node bench/supply-redis.mjs   # another build
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { BOX, mulberry32, STALE_AFTER_MS } from './supply-workload.mjs';

const SELF = new URL(import.meta.url).pathname;
const DIST = process.env.PEAKRIDE_DIST ?? new URL('../dist', import.meta.url).pathname;
const redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  console.error('Set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379 node bench/supply-redis.mjs');
  process.exit(2);
}
const { createRedisSupply } = await import(pathToFileURL(`${DIST}/adapters/redis/supply.js`).href);

const DRIVERS = Number(process.env.DRIVERS ?? 50_000);
const RAW_UPDATES = 300_000;
const SATURATION_UPDATES = 500_000;
const STEADY_SECONDS = Number(process.env.STEADY_SECONDS ?? 10);
const STEADY_RATES = [12_500, 50_000];
const QUERY_SECONDS = 2;
const PROBES = 64;
const silent = { info() {}, warn() {}, error() {} };
/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const wall = () => performance.timeOrigin + performance.now();
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => `${n.toFixed(2)} ms`;

const random = mulberry32(42);
const randomPoint = () => ({
  lat: BOX.south + random() * (BOX.north - BOX.south),
  lng: BOX.west + random() * (BOX.east - BOX.west),
});
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

// ---- the reader, in a child process -------------------------------------------------------------

if (process.argv[2] === 'reader') {
  const prefix = process.argv[3];
  const probes = Array.from({ length: PROBES }, (_, i) => `probe-${i}`);
  const probeSeen = new Float64Array(PROBES);
  let lags = [];
  let expecting;
  const supply = createRedisSupply({
    redis: { url: redisUrl },
    prefix,
    staleAfterMs: STALE_AFTER_MS,
    logger: silent,
    reconcileEveryMs: 0,
    snapshotEveryMs: 0,
    observer: {
      applied() {
        const now = wall();
        for (let i = 0; i < PROBES; i++) {
          const seen = supply.get(probes[i])?.seenAtMs;
          if (seen !== undefined && seen > probeSeen[i]) {
            probeSeen[i] = seen;
            lags.push(now - seen);
          }
        }
        if (expecting && supply.stats.applied >= expecting) {
          expecting = undefined;
          process.send({ type: 'reached', at: now });
        }
      },
    },
  });
  await supply.start();
  process.send({ type: 'ready' });
  process.on('message', async (message) => {
    if (message.type === 'expect') {
      expecting = message.applied;
      if (supply.stats.applied >= expecting) {
        expecting = undefined;
        process.send({ type: 'reached', at: wall() });
      }
    } else if (message.type === 'lags') {
      process.send({ type: 'lags', lags });
      lags = [];
    } else if (message.type === 'settle') {
      await supply.settled(60_000);
      process.send({ type: 'settled', size: supply.size, applied: supply.stats.applied });
    } else if (message.type === 'query') {
      const points = Array.from({ length: 10_000 }, randomPoint);
      const nowMs = Date.now();
      let count = 0;
      let found = 0;
      const started = performance.now();
      while (performance.now() - started < QUERY_SECONDS * 1000) {
        for (let i = 0; i < 1000; i++) {
          const point = points[(count + i) % points.length];
          found += supply.nearestAvailable({
            point,
            radiusMeters: 2_000,
            limit: 10,
            nowMs,
            staleAfterMs: 120_000,
          }).length;
        }
        count += 1000;
      }
      const seconds = (performance.now() - started) / 1000;
      process.send({ type: 'queried', perSecond: count / seconds, meanFound: found / count });
    } else if (message.type === 'stop') {
      await supply.close();
      process.exit(0);
    }
  });
} else {
  await main();
}

// ---- the writer, and raw Redis, in this process ---------------------------------------------------

async function main() {
  const { Redis } = await import('ioredis');
  const prefix = `peakride-bench-${randomBytes(4).toString('hex')}:`;
  const admin = new Redis(redisUrl);
  const note = (line) => console.log(line);
  const ids = Array.from({ length: DRIVERS }, () => randomUUID());
  const home = Array.from({ length: DRIVERS }, randomPoint);

  try {
    console.log(`${fmt(DRIVERS)} drivers in a Paris-sized box; Redis at ${redisUrl}; ${process.version}\n`);

    // (a) raw Redis -----------------------------------------------------------------------------
    const geoKey = `${prefix}geo`;
    const pipelined = async (count, batch, add) => {
      for (let from = 0; from < count; from += batch) {
        const pipeline = admin.pipeline();
        for (let i = from; i < Math.min(count, from + batch); i++) add(pipeline, i);
        await pipeline.exec();
      }
    };
    await pipelined(DRIVERS, 1000, (p, i) => p.geoadd(geoKey, home[i].lng, home[i].lat, ids[i]));
    const moves = Array.from({ length: RAW_UPDATES }, () => Math.floor(random() * DRIVERS));
    let started = performance.now();
    await pipelined(RAW_UPDATES, 1000, (p, u) => {
      const d = moves[u];
      p.geoadd(
        geoKey,
        home[d].lng + (random() - 0.5) * 0.002,
        home[d].lat + (random() - 0.5) * 0.002,
        ids[d],
      );
    });
    const geoaddPerSecond = RAW_UPDATES / ((performance.now() - started) / 1000);
    note(`raw GEOADD, one per update, pipelined 1,000 a round trip: ${fmt(geoaddPerSecond)} updates/s`);

    const queryPoints = Array.from({ length: 10_000 }, randomPoint);
    let queries = 0;
    started = performance.now();
    while (performance.now() - started < QUERY_SECONDS * 1000) {
      const pipeline = admin.pipeline();
      for (let i = 0; i < 100; i++) {
        const q = queryPoints[(queries + i) % queryPoints.length];
        pipeline.geosearch(geoKey, 'FROMLONLAT', q.lng, q.lat, 'BYRADIUS', 2000, 'm', 'ASC', 'COUNT', 10);
      }
      await pipeline.exec();
      queries += 100;
    }
    const geosearchPerSecond = queries / ((performance.now() - started) / 1000);
    note(
      `raw GEOSEARCH 2 km ASC COUNT 10, 100 a round trip (no state or staleness filter): ${fmt(geosearchPerSecond)} queries/s`,
    );
    await admin.del(geoKey);

    const rawStream = `${prefix}raw-stream`;
    started = performance.now();
    await pipelined(RAW_UPDATES, 1000, (p, u) => {
      const d = moves[u];
      p.xadd(
        rawStream,
        'MINID',
        '~',
        String(Date.now() - 60_000),
        '*',
        'o',
        'x',
        'd',
        JSON.stringify([0, ids[d], home[d].lat, home[d].lng, null, Date.now(), 0]),
      );
    });
    const xaddPerSecond = RAW_UPDATES / ((performance.now() - started) / 1000);
    note(`raw XADD, one entry per update, pipelined 1,000 a round trip: ${fmt(xaddPerSecond)} updates/s`);
    await admin.del(rawStream);

    // (b) the replicas ---------------------------------------------------------------------------
    const child = fork(SELF, ['reader', prefix], { env: process.env });
    const messages = [];
    const waiters = [];
    child.on('message', (message) => {
      const i = waiters.findIndex((w) => w.type === message.type);
      if (i === -1) messages.push(message);
      else waiters.splice(i, 1)[0].resolve(message);
    });
    const next = (type) => {
      const i = messages.findIndex((m) => m.type === type);
      if (i !== -1) return Promise.resolve(messages.splice(i, 1)[0]);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    };
    await next('ready');

    const a = createRedisSupply({
      redis: { url: redisUrl },
      prefix,
      staleAfterMs: STALE_AFTER_MS,
      logger: silent,
      reconcileEveryMs: 0,
      snapshotEveryMs: 0,
    });
    await a.start();
    const probes = Array.from({ length: PROBES }, (_, i) => `probe-${i}`);
    started = performance.now();
    for (let i = 0; i < DRIVERS; i++) {
      a.upsert(
        ids[i],
        { ...home[i], heading: null, seenAtMs: wall() },
        random() < 0.8 ? 'available' : 'on_ride',
      );
      if (i % 1000 === 999) await new Promise(setImmediate);
    }
    for (const probe of probes)
      a.upsert(probe, { ...boxCentre(), heading: null, seenAtMs: wall() }, 'on_ride');
    await a.settled(60_000);
    child.send({ type: 'settle' });
    const loaded = await next('settled');
    note(
      `\nreplicas loaded: ${fmt(loaded.size)} drivers in B, in ${ms(performance.now() - started)} from A's first upsert`,
    );
    let appliedSoFar = loaded.applied;

    // Saturation: as fast as A takes them, 1,000 updates per event-loop turn (one stream entry).
    const sat = Array.from({ length: SATURATION_UPDATES }, () => Math.floor(random() * DRIVERS));
    const satLat = new Float64Array(SATURATION_UPDATES);
    const satLng = new Float64Array(SATURATION_UPDATES);
    for (let u = 0; u < SATURATION_UPDATES; u++) {
      satLat[u] = home[sat[u]].lat + (random() - 0.5) * 0.002;
      satLng[u] = home[sat[u]].lng + (random() - 0.5) * 0.002;
    }
    child.send({ type: 'expect', applied: appliedSoFar + SATURATION_UPDATES });
    const satStart = wall();
    for (let u = 0; u < SATURATION_UPDATES; u++) {
      a.upsert(ids[sat[u]], { lat: satLat[u], lng: satLng[u], heading: null, seenAtMs: wall() });
      if (u % 1000 === 999) await new Promise(setImmediate);
    }
    const satWritten = wall();
    await a.settled(60_000);
    const satInRedis = wall();
    const reached = await next('reached');
    appliedSoFar += SATURATION_UPDATES;
    note(
      `saturation, ${fmt(SATURATION_UPDATES)} updates: A takes ${fmt(SATURATION_UPDATES / ((satWritten - satStart) / 1000))}/s ` +
        `(all in Redis after ${ms(satInRedis - satStart)}: ${fmt(SATURATION_UPDATES / ((satInRedis - satStart) / 1000))}/s); ` +
        `B has applied them all after ${ms(reached.at - satStart)}: ${fmt(SATURATION_UPDATES / ((reached.at - satStart) / 1000))}/s end to end`,
    );
    child.send({ type: 'lags' });
    await next('lags');

    // Steady rates, open model: each turn writes what is due by the clock; each turn's first update
    // goes to a probe driver stamped with the wall clock, which B checks after every batch it applies.
    const writeSteady = async (rate, seconds) => {
      const total = rate * seconds;
      const begin = wall();
      let written = 0;
      let turn = 0;
      while (written < total) {
        const due = Math.min(total, Math.floor(((wall() - begin) / 1000) * rate));
        if (due > written) {
          a.upsert(probes[turn++ % PROBES], { ...boxCentre(), heading: null, seenAtMs: wall() });
          written++;
          for (; written < due; written++) {
            const d = Math.floor(random() * DRIVERS);
            a.upsert(ids[d], {
              lat: home[d].lat + (random() - 0.5) * 0.002,
              lng: home[d].lng + (random() - 0.5) * 0.002,
              heading: null,
              seenAtMs: wall(),
            });
          }
        }
        await new Promise(setImmediate);
      }
      return total;
    };
    for (const rate of STEADY_RATES) {
      const total = rate * STEADY_SECONDS;
      child.send({ type: 'expect', applied: appliedSoFar + total });
      await writeSteady(rate, STEADY_SECONDS);
      await a.settled(60_000);
      await next('reached');
      appliedSoFar += total;
      child.send({ type: 'lags' });
      const { lags } = await next('lags');
      lags.sort((x, y) => x - y);
      note(
        `steady ${fmt(rate)} updates/s for ${STEADY_SECONDS} s: write→visible in B median ${ms(percentile(lags, 0.5))}, ` +
          `p99 ${ms(percentile(lags, 0.99))}, max ${ms(lags[lags.length - 1])} (${fmt(lags.length)} probes); ` +
          `${fmt(a.stats.publishFailures)} publish failures`,
      );
    }
    const streamKey = `${prefix}supply`;
    const length = await admin.xlen(streamKey);
    const bytes = Number(await admin.call('MEMORY', 'USAGE', streamKey, 'SAMPLES', '0'));
    note(
      `stream after the runs: ${fmt(length)} entries, ${(bytes / 2 ** 20).toFixed(1)} MiB (trimmed to 2 × 30 s)`,
    );

    child.send({ type: 'query' });
    const queried = await next('queried');
    note(
      `\nqueries on B's replica, 2 km, 10 nearest available (${queried.meanFound.toFixed(1)} found on average): ` +
        `${fmt(queried.perSecond)}/s, vs raw GEOSEARCH ${fmt(geosearchPerSecond)}/s (× ${(queried.perSecond / geosearchPerSecond).toFixed(1)})`,
    );

    // A new replica, without a snapshot: replays the writes of the last 30 s.
    const startReplica = async () => {
      const replica = createRedisSupply({
        redis: { url: redisUrl },
        prefix,
        staleAfterMs: STALE_AFTER_MS,
        logger: silent,
        reconcileEveryMs: 0,
        snapshotEveryMs: 0,
      });
      const begin = performance.now();
      await replica.start();
      const elapsed = performance.now() - begin;
      await replica.close();
      return { elapsed, stats: replica.stats, size: replica.size };
    };
    const fromWindow = await startReplica();
    note(
      `\na new replica without a snapshot starts in ${ms(fromWindow.elapsed)}: ${fmt(fromWindow.stats.replayed)} writes ` +
        `of the last 30 s replayed (this run's peaks included), ${fmt(fromWindow.size)} drivers`,
    );
    // With one: a snapshot, then 3 s at the Paris rate (the most the default 3 s period leaves to replay).
    let begin = performance.now();
    let longestTurn = 0;
    let lastTurn = performance.now();
    const turns = setInterval(() => {
      longestTurn = Math.max(longestTurn, performance.now() - lastTurn);
      lastTurn = performance.now();
    }, 0);
    await a.snapshot();
    clearInterval(turns);
    note(
      `writing a snapshot of ${fmt(a.size)} drivers: ${ms(performance.now() - begin)} ` +
        `(longest event-loop turn meanwhile ${ms(longestTurn)})`,
    );
    await writeSteady(12_500, 3);
    await a.settled(60_000);
    begin = performance.now();
    const fromSnapshot = await startReplica();
    note(
      `a new replica starts from it in ${ms(fromSnapshot.elapsed)}: ${fmt(fromSnapshot.stats.fromSnapshot)} drivers from the ` +
        `snapshot, ${fmt(fromSnapshot.stats.replayed)} writes after it replayed, ${fmt(fromSnapshot.size)} drivers`,
    );
    await a.close();
    child.send({ type: 'stop' });
    await once(child, 'exit');
  } finally {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  }
}

function boxCentre() {
  return { lat: (BOX.south + BOX.north) / 2, lng: (BOX.west + BOX.east) / 2 };
}
