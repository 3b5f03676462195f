/**
 * Driver supply index benchmark: location updates/s, "10 nearest available within 2 km"
 * queries/s and memory per driver, at 10k, 100k and 1M drivers spread uniformly over a
 * Paris-sized box, for
 *   (a) the index (dist/dispatch/supply-index.js, build first),
 *   (b) an anchor in the same run: a naive uniform grid (a Map from cell key to an array of driver
 *       ids, positions in plain objects, ring-by-ring queries with early stop),
 *   (c) Redis GEOADD / GEOSEARCH through ioredis, pipelined, when REDIS_URL is set (up to 100k).
 * Every measurement runs in a fresh child process (interleaved, so load drifts hit all alike);
 * each figure is the median of RUNS runs. Writes the "Supply index" section of BENCHMARKS.md.
 *
 *   npm run bench:supply                                   # = npm run build && node --expose-gc bench/supply-index.mjs
 *   REDIS_URL=redis://127.0.0.1:6379 npm run bench:supply
 *   SIZES=10000,100000 RUNS=3 node --expose-gc bench/supply-index.mjs
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';

const SELF = new URL(import.meta.url).pathname;
/** Paris, as in src/domain/city.ts: about 39 km × 44 km. */
const BOX = { south: 48.7, west: 2.05, north: 49.05, east: 2.65 };
const RADIUS = 2_000;
const LIMIT = 10;
const STALE_AFTER_MS = 30_000;
const UPDATES = 3_000_000;
const REDIS_UPDATES = 300_000;
const REDIS_MAX_DRIVERS = 100_000;
const QUERY_SECONDS = 1;
const BATCH = 1_000;
/** The index's default grid, to count how many moves cross a cell. */
const CELLS_PER_DEG_LAT = 256;
const CELLS_PER_DEG_LNG = 192;

// ---- workload ------------------------------------------------------------------------------

const mulberry32 = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const workload = (n, seed) => {
  const random = mulberry32(seed);
  const ids = Array.from({ length: n }, () => randomUUID());
  const lat = new Float64Array(n);
  const lng = new Float64Array(n);
  const state = new Array(n);
  for (let i = 0; i < n; i++) {
    lat[i] = BOX.south + random() * (BOX.north - BOX.south);
    lng[i] = BOX.west + random() * (BOX.east - BOX.west);
    const r = random();
    state[i] = r < 0.8 ? 'available' : r < 0.9 ? 'offered' : 'on_ride';
  }
  return { ids, lat, lng, state, random };
};

const cellOf = (lat, lng) =>
  Math.floor((lat + 90) * CELLS_PER_DEG_LAT) * 1e6 + Math.floor((lng + 180) * CELLS_PER_DEG_LNG);

/** A sequence of moves of 50 to 250 m in a random direction, each from the driver's last place. */
const moves = (w, count) => {
  const n = w.ids.length;
  const curLat = Float64Array.from(w.lat);
  const curLng = Float64Array.from(w.lng);
  const driver = new Int32Array(count);
  const lat = new Float64Array(count);
  const lng = new Float64Array(count);
  const mLng = 111_195 * Math.cos((48.875 * Math.PI) / 180);
  let crossing = 0;
  for (let u = 0; u < count; u++) {
    const d = Math.floor(w.random() * n);
    const angle = w.random() * 2 * Math.PI;
    const length = 50 + w.random() * 200;
    let a = curLat[d] + (length * Math.cos(angle)) / 111_195;
    let b = curLng[d] + (length * Math.sin(angle)) / mLng;
    if (a < BOX.south || a > BOX.north) a = curLat[d] - (length * Math.cos(angle)) / 111_195;
    if (b < BOX.west || b > BOX.east) b = curLng[d] - (length * Math.sin(angle)) / mLng;
    if (cellOf(curLat[d], curLng[d]) !== cellOf(a, b)) crossing++;
    driver[u] = d;
    lat[u] = a;
    lng[u] = b;
    curLat[d] = a;
    curLng[d] = b;
  }
  return { driver, lat, lng, crossingShare: crossing / count };
};

const queryPoints = (random, count) =>
  Array.from({ length: count }, () => ({
    lat: BOX.south + random() * (BOX.north - BOX.south),
    lng: BOX.west + random() * (BOX.east - BOX.west),
  }));

// ---- (b) the anchor: a naive uniform grid --------------------------------------------------

const createNaiveGrid = (distanceMeters) => {
  const cells = new Map();
  const drivers = new Map();
  const rowOf = (lat) => Math.floor((lat + 90) * CELLS_PER_DEG_LAT);
  const colOf = (lng) => Math.floor((lng + 180) * CELLS_PER_DEG_LNG);
  const keyOf = (row, col) => row * 1_000_000 + col;
  const addTo = (key, id) => {
    const list = cells.get(key);
    if (list) list.push(id);
    else cells.set(key, [id]);
  };
  return {
    upsert(id, p, state) {
      const key = keyOf(rowOf(p.lat), colOf(p.lng));
      const d = drivers.get(id);
      if (!d) {
        drivers.set(id, { ...p, state: state ?? 'available', key });
        addTo(key, id);
        return;
      }
      if (p.seenAtMs < d.seenAtMs) return;
      if (key !== d.key) {
        const list = cells.get(d.key);
        list.splice(list.indexOf(id), 1);
        addTo(key, id);
        d.key = key;
      }
      d.lat = p.lat;
      d.lng = p.lng;
      d.heading = p.heading;
      d.seenAtMs = p.seenAtMs;
      if (state) d.state = state;
    },
    nearestAvailable(q) {
      const row0 = rowOf(q.point.lat);
      const col0 = colOf(q.point.lng);
      // Anything in ring k+1 or beyond is at least k whole cells away.
      const cellMeters =
        Math.min(
          111_195 / CELLS_PER_DEG_LAT,
          (111_195 * Math.cos((q.point.lat * Math.PI) / 180)) / CELLS_PER_DEG_LNG,
        ) * 0.99;
      const found = [];
      const visit = (row, col) => {
        const list = cells.get(keyOf(row, col));
        if (!list) return;
        for (const id of list) {
          const d = drivers.get(id);
          if (d.state !== 'available' || q.nowMs - d.seenAtMs > q.staleAfterMs) continue;
          const distance = distanceMeters(q.point, d);
          if (distance <= q.radiusMeters) found.push({ driverId: id, distanceMeters: distance });
        }
      };
      for (let k = 0; ; k++) {
        for (let dr = -k; dr <= k; dr++) {
          if (dr === -k || dr === k) for (let dc = -k; dc <= k; dc++) visit(row0 + dr, col0 + dc);
          else {
            visit(row0 + dr, col0 - k);
            visit(row0 + dr, col0 + k);
          }
        }
        const reach = k * cellMeters;
        if (reach > q.radiusMeters) break;
        if (found.length >= q.limit) {
          found.sort((a, b) => a.distanceMeters - b.distanceMeters);
          found.length = q.limit;
          if (found[q.limit - 1].distanceMeters <= reach) break;
        }
      }
      found.sort((a, b) => a.distanceMeters - b.distanceMeters);
      return found.slice(0, q.limit);
    },
    get size() {
      return drivers.size;
    },
  };
};

// ---- one measurement, in a child process --------------------------------------------------

const memory = () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const timeQueries = (points, run) => {
  const q = { point: points[0], radiusMeters: RADIUS, limit: LIMIT, nowMs: 0, staleAfterMs: STALE_AFTER_MS };
  let found = 0;
  let i = 0;
  const sweep = (seconds) => {
    const start = performance.now();
    let count = 0;
    let elapsed = 0;
    do {
      for (let j = 0; j < BATCH; j++) {
        q.point = points[i++ & (points.length - 1)];
        found += run(q).length;
      }
      count += BATCH;
      elapsed = performance.now() - start;
    } while (elapsed < seconds * 1000);
    return (count / elapsed) * 1000;
  };
  sweep(0.2);
  return { queriesPerSecond: sweep(QUERY_SECONDS), found };
};

/** Sum of the distances found for the first queries: ours and the anchor must agree. */
const checksum = (points, run, nowMs) => {
  let sum = 0;
  for (let i = 0; i < 200; i++) {
    for (const c of run({
      point: points[i],
      radiusMeters: RADIUS,
      limit: LIMIT,
      nowMs,
      staleAfterMs: STALE_AFTER_MS,
    }))
      sum += c.distanceMeters;
  }
  return Math.round(sum * 1000) / 1000;
};

const measureInProcess = async (impl, n, seed) => {
  const [{ createSupplyIndex }, { distanceMeters }] = await Promise.all([
    import('../dist/dispatch/supply-index.js'),
    import('../dist/domain/geo.js'),
  ]);
  const w = workload(n, seed);
  const updates = moves(w, UPDATES);
  const points = queryPoints(w.random, 4096);
  const t0 = 1_700_000_000_000;

  const before = memory();
  const index = impl === 'ours' ? createSupplyIndex() : createNaiveGrid(distanceMeters);
  for (let i = 0; i < n; i++) {
    index.upsert(w.ids[i], { lat: w.lat[i], lng: w.lng[i], heading: null, seenAtMs: t0 }, w.state[i]);
  }
  const bytesPerDriver = (memory() - before) / n;

  // Updates: one reused report object, so the figure is the index's cost, not the caller's.
  const report = { lat: 0, lng: 0, heading: 90, seenAtMs: t0 };
  const warm = UPDATES / 10;
  const apply = (from, to) => {
    for (let u = from; u < to; u++) {
      report.lat = updates.lat[u];
      report.lng = updates.lng[u];
      report.seenAtMs = t0 + 1 + (u >>> 12);
      index.upsert(w.ids[updates.driver[u]], report);
    }
  };
  // In chunks, so the loop runs optimised code throughout, not the interpreter until on-stack
  // replacement kicks in (which allocates, and would be charged to the index).
  const chunked = (run, from, to) => {
    for (let u = from; u < to; u += 10_000) run(u, Math.min(to, u + 10_000));
  };
  chunked(apply, 0, warm);
  // Lets the background compiler finish and install the optimised code before timing.
  await new Promise((resolve) => setTimeout(resolve, 250));
  const gcTimes = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcTimes.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  chunked(apply, warm, UPDATES);
  const end = performance.now();
  const updatesPerSecond = ((UPDATES - warm) / (end - start)) * 1000;
  // GC entries arrive asynchronously; count those that started while the updates ran.
  await new Promise((resolve) => setTimeout(resolve, 100));
  observer.disconnect();
  const gcs = gcTimes.filter((t) => t >= start && t <= end).length;

  // The floor of any index keyed by driver id: the id lookup alone, same drivers, same order.
  let mapGetPerSecond;
  if (impl === 'ours') {
    const slots = new Map();
    for (let i = 0; i < n; i++) slots.set(w.ids[i], i);
    let sum = 0.5;
    const lookUp = (from, to) => {
      for (let u = from; u < to; u++) sum += slots.get(w.ids[updates.driver[u]]);
    };
    chunked(lookUp, 0, warm);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const begin = performance.now();
    chunked(lookUp, warm, UPDATES);
    mapGetPerSecond = ((UPDATES - warm) / (performance.now() - begin)) * 1000;
    if (sum < 0) console.error(sum);
  }

  const nowMs = t0 + 1_000;
  const sum = checksum(points, (q) => index.nearestAvailable(q), nowMs);
  const { queriesPerSecond } = timeQueries(points, (q) => {
    q.nowMs = nowMs;
    return index.nearestAvailable(q);
  });
  return {
    updatesPerSecond,
    queriesPerSecond,
    bytesPerDriver,
    gcsDuringUpdates: gcs,
    mapGetPerSecond,
    crossingShare: updates.crossingShare,
    checksum: sum,
    size: index.size,
  };
};

const measureRedis = async (n, seed) => {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(process.env.REDIS_URL, { lazyConnect: false, enableAutoPipelining: false });
  const key = `bench:supply-index:${process.pid}:${Date.now()}`;
  try {
    const w = workload(n, seed);
    const updates = moves(w, REDIS_UPDATES);
    const points = queryPoints(w.random, 4096);
    const pipelined = async (count, add) => {
      for (let from = 0; from < count; from += BATCH) {
        const pipeline = redis.pipeline();
        for (let i = from; i < Math.min(count, from + BATCH); i++) add(pipeline, i);
        const results = await pipeline.exec();
        for (const [error] of results) if (error) throw error;
      }
    };
    await redis.del(key);
    await pipelined(n, (p, i) => p.geoadd(key, w.lng[i], w.lat[i], w.ids[i]));
    const bytesPerDriver = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) / n;

    await pipelined(REDIS_UPDATES / 10, (p, u) =>
      p.geoadd(key, updates.lng[u], updates.lat[u], w.ids[updates.driver[u]]),
    );
    let start = performance.now();
    await pipelined(REDIS_UPDATES, (p, u) =>
      p.geoadd(key, updates.lng[u], updates.lat[u], w.ids[updates.driver[u]]),
    );
    const updatesPerSecond = (REDIS_UPDATES / (performance.now() - start)) * 1000;

    const search = (p, i) => {
      const point = points[i & (points.length - 1)];
      p.geosearch(
        key,
        'FROMLONLAT',
        point.lng,
        point.lat,
        'BYRADIUS',
        RADIUS / 1000,
        'km',
        'ASC',
        'COUNT',
        LIMIT,
      );
    };
    await pipelined(2_000, search);
    let count = 0;
    start = performance.now();
    do {
      await pipelined(BATCH, (p, i) => search(p, count + i));
      count += BATCH;
    } while (performance.now() - start < QUERY_SECONDS * 1000);
    const queriesPerSecond = (count / (performance.now() - start)) * 1000;
    return { updatesPerSecond, queriesPerSecond, bytesPerDriver, size: n };
  } finally {
    await redis.del(key);
    redis.disconnect();
  }
};

if (process.argv[2] === '--child') {
  const [impl, n, seed] = [process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
  const result = impl === 'redis' ? await measureRedis(n, seed) : await measureInProcess(impl, n, seed);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ---- orchestration ----------------------------------------------------------------------------

const { median, writeSection } = await import('./lib.mjs');
if (typeof globalThis.gc !== 'function') {
  console.error('Run with node --expose-gc (npm run bench:supply).');
}
const SIZES = (process.env.SIZES ?? '10000,100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 5);
const redisUrl = process.env.REDIS_URL;

const child = async (impl, n, seed) => {
  const proc = spawn(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=4096', SELF, '--child', impl, String(n), String(seed)],
    { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
  );
  let out = '';
  proc.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const [code] = await once(proc, 'exit');
  if (code !== 0) throw new Error(`${impl} at ${n} drivers exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop());
};

const loadBefore = loadavg();
const startedAt = new Date();
const results = new Map();
const loadAtSize = new Map();
for (const n of SIZES) {
  loadAtSize.set(n, loadavg()[0]);
  const impls = ['ours', 'naive', ...(redisUrl && n <= REDIS_MAX_DRIVERS ? ['redis'] : [])];
  for (let run = 0; run < RUNS; run++) {
    for (const impl of impls) {
      const r = await child(impl, n, 1_000 + run);
      const key = `${impl}:${n}`;
      if (!results.has(key)) results.set(key, []);
      results.get(key).push(r);
      console.error(
        `${String(n).padStart(8)} ${impl.padEnd(6)} run ${run + 1}: ` +
          `${Math.round(r.updatesPerSecond).toLocaleString('en')} updates/s, ` +
          `${Math.round(r.queriesPerSecond).toLocaleString('en')} queries/s, ${r.bytesPerDriver.toFixed(0)} B/driver` +
          (r.gcsDuringUpdates !== undefined ? `, ${r.gcsDuringUpdates} GCs during updates` : '') +
          (r.checksum !== undefined ? `, checksum ${r.checksum}` : ''),
      );
    }
    const ours = results.get(`ours:${n}`).at(-1);
    const naive = results.get(`naive:${n}`).at(-1);
    if (ours.checksum !== naive.checksum) {
      console.error(`WARNING: results differ at ${n} drivers: ${ours.checksum} vs ${naive.checksum}`);
    }
  }
}
const loadAfter = loadavg();

const fmt = (x) => Math.round(x).toLocaleString('en');
const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}` : '–');
const med = (impl, n, field) => {
  const runs = results.get(`${impl}:${n}`);
  return runs ? median(runs.map((r) => r[field])) : undefined;
};
const label = { ours: '**supply index**', naive: 'naive grid (anchor)', redis: 'Redis GEOADD / GEOSEARCH' };
const rows = [];
for (const n of SIZES) {
  for (const impl of ['ours', 'naive', 'redis']) {
    if (!results.has(`${impl}:${n}`)) continue;
    const up = med(impl, n, 'updatesPerSecond');
    const qs = med(impl, n, 'queriesPerSecond');
    const mem = med(impl, n, 'bytesPerDriver');
    const nUp = med('naive', n, 'updatesPerSecond');
    const nQs = med('naive', n, 'queriesPerSecond');
    const nMem = med('naive', n, 'bytesPerDriver');
    const rUp = med('redis', n, 'updatesPerSecond');
    const rQs = med('redis', n, 'queriesPerSecond');
    const rMem = med('redis', n, 'bytesPerDriver');
    rows.push(
      `| ${fmt(n)} | ${label[impl]} | ${fmt(up)} | ${ratio(up, nUp)} | ${rUp ? ratio(up, rUp) : '–'} | ` +
        `${fmt(qs)} | ${ratio(qs, nQs)} | ${rQs ? ratio(qs, rQs) : '–'} | ${fmt(mem)} | ${ratio(mem, nMem)} | ${rMem ? ratio(mem, rMem) : '–'} |`,
    );
  }
}
const crossing = median(SIZES.map((n) => med('ours', n, 'crossingShare')));
const floor = SIZES.map((n) => `${fmt(n)}: ${fmt(med('ours', n, 'mapGetPerSecond'))}/s`).join(', ');
const gcs = SIZES.map((n) => `${fmt(n)}: ${med('ours', n, 'gcsDuringUpdates')}`).join(', ');
const agree = SIZES.every((n) =>
  results.get(`ours:${n}`).every((r, i) => r.checksum === results.get(`naive:${n}`)[i].checksum),
);
const load = (l) => l.map((x) => x.toFixed(2)).join(' / ');

const body = `Measured by \`npm run bench:supply\` (\`bench/supply-index.mjs\`) on ${startedAt.toISOString().slice(0, 10)},
Node ${process.version}, one core per measurement on the shared 2-core machine; load average (1 / 5 / 15 min)
${load(loadBefore)} at the start and ${load(loadAfter)} at the end (1-minute load as each size began:
${SIZES.map((n) => `${fmt(n)}: ${loadAtSize.get(n).toFixed(2)}`).join(', ')}; the benchmark itself accounts for about 1). Each figure is the median of ${RUNS} runs, each
run in a fresh process (implementations interleaved).

Workload: drivers uniform over the Paris box of \`src/domain/city.ts\` (about 39 km × 44 km); 80% available,
10% offered, 10% on a ride. **Updates**: ${fmt(UPDATES - UPDATES / 10)} timed moves (after ${fmt(UPDATES / 10)} to warm up) of
50–250 m in a random direction by random drivers, ${(crossing * 100).toFixed(0)}% of them into another cell; one
report object is reused so the figure is the index's own cost. **Queries**: "10 nearest available within 2 km" at
random points of the box, for ${QUERY_SECONDS} s. **Memory**: growth of V8 heap + ArrayBuffers (typed arrays live
outside the V8 heap, so both are counted) across inserting all drivers, after full GCs, divided by drivers; the
driver id strings (UUIDs) exist before and are not counted.

The anchor is a naive uniform grid written in the bench file: same cells (1/256° × 1/192°), a \`Map\` from cell
key to an array of driver ids, one plain object per driver, haversine on every driver of each visited cell and
ring-by-ring search with early stop. Redis (${redisUrl ? 'run' : 'not run: set REDIS_URL'}): one \`GEOADD\` per update
and \`GEOSEARCH … FROMLONLAT … BYRADIUS 2 km ASC COUNT 10\` per query, pipelined by ${BATCH} through ioredis over
loopback (round trips included); it does not filter by state or staleness, its memory is \`MEMORY USAGE\` of the
key, and it is capped at ${fmt(REDIS_MAX_DRIVERS)} drivers (and ${fmt(REDIS_UPDATES)} updates per run) because it is slow to load.

| drivers | implementation | updates/s | × naive | × Redis | queries/s | × naive | × Redis | bytes/driver | × naive | × Redis |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Results of the index and the anchor agree (sum of distances over the first 200 queries of every run):
${agree ? 'yes' : '**no**'}. Garbage collections during the timed updates of the index (median per run): ${gcs}.
The floor of any index keyed by driver id on this machine, a bare \`Map<string, number>.get\` of the id in the
same order as the updates: ${floor}.
Reproduce with:

\`\`\`sh
REDIS_URL=redis://127.0.0.1:6379 npm run bench:supply
\`\`\`
`;

console.log(body);
await writeSection('Supply index', body);
