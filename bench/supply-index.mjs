/**
 * Driver supply index benchmark: location updates/s (by driver id, and by handle), "10 nearest
 * available within 2 km" queries/s and memory per driver, at 10k, 100k and 1M drivers spread
 * uniformly over a Paris-sized box, for
 *   (a) the index (dist/dispatch/supply-index.js, build first),
 *   (b) an anchor in the same run: a naive uniform grid (positions in typed arrays by handle, a Map
 *       from a numeric cell key to an array of handles, ring-by-ring queries with early stop),
 *   (c) Redis GEOADD / GEOSEARCH through ioredis, pipelined, when REDIS_URL is set,
 *   (d) PostGIS nearest-neighbour (GiST index, `ORDER BY geom <-> point LIMIT 10`) when
 *       DATABASE_URL is set and the server can create the `postgis` extension.
 * Every measurement runs in a fresh child process (interleaved, so load drifts hit all alike);
 * each figure is the median of RUNS runs, and is reported against the anchor of the same run.
 * Writes the "Supply index" section of BENCHMARKS.md.
 *
 *   npm run bench:supply                     # = npm run build && node --expose-gc bench/supply-index.mjs
 *   REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:supply
 *   SIZES=10000,100000 RUNS=3 node --expose-gc bench/supply-index.mjs
 *
 * MAX_LOAD (default 1): waits, up to 15 minutes, until the 1-minute load average is below it before
 * starting (0 starts at once). Redis and PostGIS keep their data under a unique key prefix / schema
 * and delete it at the end, also when interrupted.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import {
  CELLS_PER_DEG_LAT,
  CELLS_PER_DEG_LNG,
  LIMIT,
  moves,
  queryPoints,
  queryTimer,
  RADIUS,
  STALE_AFTER_MS,
  workload,
} from './supply-workload.mjs';

const SELF = new URL(import.meta.url).pathname;
/** Moves per update phase (by id, then by handle), the first tenth to warm up. */
const UPDATES = 3_000_000;
const WARM_UP = UPDATES / 10;
const REDIS_UPDATES = 300_000;
const QUERY_SECONDS = 1;
const EXTERNAL_SECONDS = 2;
const BATCH = 1_000;
/** A Redis or PostGIS size is skipped when its runs would take longer than this, by the smaller size's. */
const EXTERNAL_BUDGET_SECONDS = 180;

// ---- (b) the anchor: a naive uniform grid --------------------------------------------------

const STATE_CODES = { available: 0, offered: 1, on_ride: 2 };

/**
 * What one would write in an afternoon, without its being slow for want of care: positions in
 * typed arrays indexed by handle, a `Map` from a numeric cell key to an array of handles (a driver
 * leaving a cell swaps in the array's last), haversine on every available fresh driver of each
 * visited cell, rings searched outward until the tenth best is nearer than the next ring can be.
 */
const createNaiveGrid = (distanceMeters) => {
  let capacity = 1024;
  let lat = new Float64Array(capacity);
  let lng = new Float64Array(capacity);
  let seen = new Float64Array(capacity);
  let heading = new Float64Array(capacity);
  let state = new Uint8Array(capacity);
  /** The key of the cell a driver is in, and its index in that cell's array. */
  let cellKey = new Float64Array(capacity);
  let inCell = new Int32Array(capacity);
  const ids = [];
  const handles = new Map();
  const cells = new Map();
  const rowOf = (a) => Math.floor((a + 90) * CELLS_PER_DEG_LAT);
  const colOf = (b) => Math.floor((b + 180) * CELLS_PER_DEG_LNG);
  const keyOf = (row, col) => row * 1_000_000 + col;
  const grow = () => {
    capacity *= 2;
    const more = (a) => {
      const grown = new a.constructor(capacity);
      grown.set(a);
      return grown;
    };
    lat = more(lat);
    lng = more(lng);
    seen = more(seen);
    heading = more(heading);
    state = more(state);
    cellKey = more(cellKey);
    inCell = more(inCell);
  };
  const enter = (h, key) => {
    let list = cells.get(key);
    if (!list) {
      list = [];
      cells.set(key, list);
    }
    cellKey[h] = key;
    inCell[h] = list.length;
    list.push(h);
  };
  const leave = (h) => {
    const list = cells.get(cellKey[h]);
    const last = list.pop();
    if (last !== h) {
      list[inCell[h]] = last;
      inCell[last] = inCell[h];
    }
  };
  const move = (h, a, b, towards, seenAtMs) => {
    if (seenAtMs < seen[h]) return false;
    lat[h] = a;
    lng[h] = b;
    seen[h] = seenAtMs;
    heading[h] = towards ?? Number.NaN;
    const key = keyOf(rowOf(a), colOf(b));
    if (key !== cellKey[h]) {
      leave(h);
      enter(h, key);
    }
    return true;
  };
  const scratch = { lat: 0, lng: 0 };
  return {
    upsert(id, p, s) {
      const known = handles.get(id);
      if (known === undefined) {
        const h = ids.length;
        if (h === capacity) grow();
        ids.push(id);
        handles.set(id, h);
        lat[h] = p.lat;
        lng[h] = p.lng;
        seen[h] = p.seenAtMs;
        heading[h] = p.heading ?? Number.NaN;
        state[h] = STATE_CODES[s ?? 'available'];
        enter(h, keyOf(rowOf(p.lat), colOf(p.lng)));
        return;
      }
      if (move(known, p.lat, p.lng, p.heading, p.seenAtMs) && s) state[known] = STATE_CODES[s];
    },
    handleOf: (id) => handles.get(id) ?? -1,
    move,
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
        for (let i = 0; i < list.length; i++) {
          const h = list[i];
          if (state[h] !== 0 || q.nowMs - seen[h] > q.staleAfterMs) continue;
          scratch.lat = lat[h];
          scratch.lng = lng[h];
          const distance = distanceMeters(q.point, scratch);
          if (distance <= q.radiusMeters) found.push({ driverId: ids[h], distanceMeters: distance });
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
      return ids.length;
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

const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `run(from, to)` over [from, to) in chunks and times it, counting the GCs that started meanwhile. */
const timeUpdates = async (run, from, to) => {
  // In chunks, so the loop runs optimised code throughout, not the interpreter until on-stack
  // replacement kicks in (which allocates, and would be charged to the index).
  const chunked = (a, b) => {
    for (let u = a; u < b; u += 10_000) run(u, Math.min(b, u + 10_000));
  };
  chunked(from, from + WARM_UP);
  // Lets the background compiler finish and install the optimised code before timing.
  await settle(250);
  const gcTimes = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcTimes.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  chunked(from + WARM_UP, to);
  const end = performance.now();
  // GC entries arrive asynchronously; count those that started while the updates ran.
  await settle(100);
  observer.disconnect();
  return {
    perSecond: ((to - from - WARM_UP) / (end - start)) * 1000,
    gcs: gcTimes.filter((t) => t >= start && t <= end).length,
  };
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
  // Two phases of moves: by id, then by handle.
  const updates = moves(w, 2 * UPDATES);
  const points = queryPoints(w.random, 4096);
  const t0 = 1_700_000_000_000;

  const before = memory();
  const index = impl === 'ours' ? createSupplyIndex() : createNaiveGrid(distanceMeters);
  for (let i = 0; i < n; i++) {
    index.upsert(w.ids[i], { lat: w.lat[i], lng: w.lng[i], heading: null, seenAtMs: t0 }, w.state[i]);
  }
  const bytesPerDriver = (memory() - before) / n;

  // By id: one reused report object, so the figure is the index's own cost, not the caller's.
  const report = { lat: 0, lng: 0, heading: 90, seenAtMs: t0 };
  const byId = (from, to) => {
    for (let u = from; u < to; u++) {
      report.lat = updates.lat[u];
      report.lng = updates.lng[u];
      report.seenAtMs = t0 + 1 + (u >>> 12);
      index.upsert(w.ids[updates.driver[u]], report);
    }
  };
  const idPhase = await timeUpdates(byId, 0, UPDATES);
  // Both at the same state here: their results must agree.
  const nowMs = t0 + 1_000;
  const sum = checksum(points, (q) => index.nearestAvailable(q), nowMs);

  const handles = Int32Array.from(w.ids, (id) => index.handleOf(id));
  const byHandle = (from, to) => {
    for (let u = from; u < to; u++) {
      index.move(handles[updates.driver[u]], updates.lat[u], updates.lng[u], 90, t0 + 1 + (u >>> 12));
    }
  };
  const handlePhase = await timeUpdates(byHandle, UPDATES, 2 * UPDATES);

  // The floor of any index keyed by driver id: the id lookup alone, same drivers, same order.
  let mapGetPerSecond;
  if (impl === 'ours') {
    const slots = new Map();
    for (let i = 0; i < n; i++) slots.set(w.ids[i], i);
    let sum = 0.5;
    const lookUp = (from, to) => {
      for (let u = from; u < to; u++) sum += slots.get(w.ids[updates.driver[u]]);
    };
    mapGetPerSecond = (await timeUpdates(lookUp, 0, UPDATES)).perSecond;
    if (sum < 0) console.error(sum);
  }

  const timeQueries = queryTimer(points, (q) => index.nearestAvailable(q), nowMs);
  timeQueries(200);
  const queriesPerSecond = timeQueries(QUERY_SECONDS * 1000);
  return {
    updatesPerSecond: idPhase.perSecond,
    handleUpdatesPerSecond: handlePhase.perSecond,
    queriesPerSecond,
    bytesPerDriver,
    gcsDuringUpdates: idPhase.gcs,
    gcsDuringHandleUpdates: handlePhase.gcs,
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
    const pipelined = async (count, add, batch = BATCH) => {
      for (let from = 0; from < count; from += batch) {
        const pipeline = redis.pipeline();
        for (let i = from; i < Math.min(count, from + batch); i++) add(pipeline, i);
        const results = await pipeline.exec();
        for (const [error] of results) if (error) throw error;
      }
    };
    let start = performance.now();
    await pipelined(n, (p, i) => p.geoadd(key, w.lng[i], w.lat[i], w.ids[i]));
    const loadSeconds = (performance.now() - start) / 1000;
    const bytesPerDriver = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) / n;

    await pipelined(REDIS_UPDATES / 10, (p, u) =>
      p.geoadd(key, updates.lng[u], updates.lat[u], w.ids[updates.driver[u]]),
    );
    start = performance.now();
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
    // Batches small enough to keep the time box even where a search takes a millisecond.
    const queryBatch = 100;
    await pipelined(500, search, queryBatch);
    let count = 0;
    start = performance.now();
    do {
      await pipelined(queryBatch, (p, i) => search(p, count + i), queryBatch);
      count += queryBatch;
    } while (performance.now() - start < EXTERNAL_SECONDS * 1000);
    const queriesPerSecond = (count / (performance.now() - start)) * 1000;
    return { updatesPerSecond, queriesPerSecond, bytesPerDriver, loadSeconds, size: n };
  } finally {
    await redis.del(key);
    redis.disconnect();
  }
};

/** PostGIS in the orchestrator's schema: a table per run, dropped at its end. */
const measurePostgis = async (n, seed, schema) => {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  const table = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(`drivers_${process.pid}`)}`;
  try {
    await client.query(`SET search_path = ${pg.escapeIdentifier(schema)}, public`);
    // JIT compiles the plan of a nearest-neighbour query with a distance filter for hundreds of ms.
    await client.query('SET jit = off');
    await client.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)`);
    const w = workload(n, seed);
    const points = queryPoints(w.random, 4096);
    const updates = moves(w, 2 * REDIS_UPDATES);

    // Bulk load: 10,000 rows per INSERT … SELECT FROM unnest, the index built after.
    const start = performance.now();
    await client.query('BEGIN');
    for (let from = 0; from < n; from += 10_000) {
      const to = Math.min(n, from + 10_000);
      await client.query(
        `INSERT INTO ${table} (id, geom)
         SELECT id, ST_SetSRID(ST_MakePoint(lng, lat), 4326)
         FROM unnest($1::uuid[], $2::float8[], $3::float8[]) AS v(id, lat, lng)`,
        [w.ids.slice(from, to), Array.from(w.lat.subarray(from, to)), Array.from(w.lng.subarray(from, to))],
      );
    }
    await client.query('COMMIT');
    await client.query(`CREATE INDEX ON ${table} USING gist (geom)`);
    await client.query(`ANALYZE ${table}`);
    const loadSeconds = (performance.now() - start) / 1000;
    const { rows: size } = await client.query('SELECT pg_total_relation_size($1::regclass) AS bytes', [
      table,
    ]);
    const bytesPerDriver = Number(size[0].bytes) / n;

    // Updates: UPDATE … FROM unnest by id, 1,000 reports per statement (the latest of a driver
    // when it moved twice), 10 statements per transaction.
    let u = 0;
    const updateBatch = async () => {
      const latest = new Map();
      for (const end = u + BATCH; u < end; u++) latest.set(updates.driver[u], u);
      const rows = [...latest.values()];
      await client.query(
        `UPDATE ${table} AS t SET geom = ST_SetSRID(ST_MakePoint(v.lng, v.lat), 4326)
         FROM unnest($1::uuid[], $2::float8[], $3::float8[]) AS v(id, lat, lng) WHERE t.id = v.id`,
        [
          rows.map((r) => w.ids[updates.driver[r]]),
          rows.map((r) => updates.lat[r]),
          rows.map((r) => updates.lng[r]),
        ],
      );
      return rows.length;
    };
    const updateFor = async (seconds) => {
      let rows = 0;
      const begin = performance.now();
      do {
        await client.query('BEGIN');
        for (let i = 0; i < 10; i++) rows += await updateBatch();
        await client.query('COMMIT');
      } while (performance.now() - begin < seconds * 1000 && u + 10 * BATCH <= updates.driver.length);
      return (rows / (performance.now() - begin)) * 1000;
    };
    await updateFor(0.2);
    const updatesPerSecond = await updateFor(EXTERNAL_SECONDS);

    const nearest = {
      name: `nearest_${process.pid}`,
      text: `SELECT id FROM ${table} ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT ${LIMIT}`,
    };
    const queryFor = async (seconds) => {
      let count = 0;
      const begin = performance.now();
      do {
        const point = points[count & (points.length - 1)];
        await client.query({ ...nearest, values: [point.lng, point.lat] });
        count++;
      } while (performance.now() - begin < seconds * 1000);
      return (count / (performance.now() - begin)) * 1000;
    };
    await queryFor(0.2);
    const queriesPerSecond = await queryFor(EXTERNAL_SECONDS);
    return { updatesPerSecond, queriesPerSecond, bytesPerDriver, loadSeconds, size: n };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  }
};

if (process.argv[2] === '--child') {
  const [impl, n, seed, schema] = [
    process.argv[3],
    Number(process.argv[4]),
    Number(process.argv[5]),
    process.argv[6],
  ];
  const result =
    impl === 'redis'
      ? await measureRedis(n, seed)
      : impl === 'postgis'
        ? await measurePostgis(n, seed, schema)
        : await measureInProcess(impl, n, seed);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ---- orchestration ----------------------------------------------------------------------------

const { median, writeSection } = await import('./lib.mjs');
if (typeof globalThis.gc !== 'function') {
  console.error('Run with node --expose-gc (npm run bench:supply).');
  process.exit(1);
}
const SIZES = (process.env.SIZES ?? '10000,100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 5);
const MAX_LOAD = Number(process.env.MAX_LOAD ?? 1);
const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;

/** Why PostGIS is not in the table, or the schema it works in. */
const postgis = { schema: undefined, createdExtension: false, skipped: undefined };
const setUpPostgis = async () => {
  if (!databaseUrl) {
    postgis.skipped = 'DATABASE_URL is not set';
    return;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const schema = `bench_supply_${process.pid}_${Date.now()}`;
    const { rows: installed } = await client.query(
      "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'postgis'",
    );
    const { rows: available } = await client.query(
      "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'",
    );
    if (installed.length === 0 && available.length === 0) {
      postgis.skipped = 'the server has no postgis extension to create (install PostGIS for its PostgreSQL)';
      return;
    }
    await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    postgis.schema = schema;
    if (installed.length === 0) {
      // In our own schema, so that dropping it at the end leaves the database as it was.
      await client.query(`CREATE EXTENSION postgis SCHEMA ${pg.escapeIdentifier(schema)}`);
      postgis.createdExtension = true;
    }
  } catch (error) {
    postgis.skipped = `PostgreSQL refused: ${error.message}`;
  } finally {
    await client.end().catch(() => {});
  }
};

const tearDownPostgis = async () => {
  if (!postgis.schema) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    // Drops the extension too when we created it there.
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(postgis.schema)} CASCADE`);
    postgis.schema = undefined;
  } finally {
    await client.end().catch(() => {});
  }
};

const children = new Set();
const child = async (impl, n, seed) => {
  const proc = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--max-old-space-size=4096',
      SELF,
      '--child',
      impl,
      String(n),
      String(seed),
      postgis.schema ?? '',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
  );
  children.add(proc);
  let out = '';
  proc.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const [code] = await once(proc, 'exit');
  children.delete(proc);
  if (code !== 0) throw new Error(`${impl} at ${n} drivers exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop());
};

// An interrupted run still deletes what it left in Redis (the child's own cleanup) and PostgreSQL.
process.once('SIGINT', async () => {
  for (const proc of children) proc.kill('SIGINT');
  await tearDownPostgis().catch(() => {});
  process.exit(130);
});

const waitForQuiet = async () => {
  if (!(MAX_LOAD > 0)) return;
  const deadline = Date.now() + 15 * 60_000;
  while (loadavg()[0] >= MAX_LOAD && Date.now() < deadline) {
    console.error(`1-minute load ${loadavg()[0].toFixed(2)} >= ${MAX_LOAD}: waiting…`);
    await settle(15_000);
  }
};

await waitForQuiet();
await setUpPostgis();
const loadBefore = loadavg();
const startedAt = new Date();
const results = new Map();
const loadAtSize = new Map();
/** Per external system, the size it stopped at and why. */
const capped = new Map();
/** Per external system, the last size measured and how long its runs took, to budget the next. */
const lastExternal = new Map();

const externalFits = (impl, n) => {
  if (capped.has(impl)) return false;
  const last = lastExternal.get(impl);
  if (!last) return true;
  // Loading grows with the drivers; the timed phases do not.
  const projected = RUNS * (last.loadSeconds * (n / last.n) + last.otherSeconds);
  if (projected <= EXTERNAL_BUDGET_SECONDS) return true;
  capped.set(
    impl,
    `stopped before ${n.toLocaleString('en')} drivers: ${RUNS} runs would take about ${Math.round(projected)} s`,
  );
  return false;
};

try {
  for (const n of SIZES) {
    loadAtSize.set(n, loadavg()[0]);
    const impls = ['ours', 'naive'];
    if (redisUrl && externalFits('redis', n)) impls.push('redis');
    if (postgis.schema && externalFits('postgis', n)) impls.push('postgis');
    for (let run = 0; run < RUNS; run++) {
      for (const impl of impls) {
        const began = performance.now();
        const r = await child(impl, n, 1_000 + run);
        if (impl === 'redis' || impl === 'postgis') {
          const seconds = (performance.now() - began) / 1000;
          lastExternal.set(impl, { n, loadSeconds: r.loadSeconds, otherSeconds: seconds - r.loadSeconds });
          // Lets the server finish its own background work (PostgreSQL writes out what it loaded).
          await settle(2_000);
        }
        const key = `${impl}:${n}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(r);
        console.error(
          `${String(n).padStart(8)} ${impl.padEnd(7)} run ${run + 1}: ` +
            `${Math.round(r.updatesPerSecond).toLocaleString('en')} updates/s` +
            (r.handleUpdatesPerSecond
              ? ` (${Math.round(r.handleUpdatesPerSecond).toLocaleString('en')} by handle)`
              : '') +
            `, ${Math.round(r.queriesPerSecond).toLocaleString('en')} queries/s, ${r.bytesPerDriver.toFixed(0)} B/driver` +
            (r.gcsDuringUpdates !== undefined ? `, ${r.gcsDuringUpdates} GCs during updates` : '') +
            (r.gcsDuringHandleUpdates !== undefined ? ` (${r.gcsDuringHandleUpdates} by handle)` : '') +
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
} finally {
  await tearDownPostgis();
}
const loadAfter = loadavg();

const fmt = (x) => (x === undefined ? '—' : Math.round(x).toLocaleString('en'));
const ratio = (a, b) => (a !== undefined && b ? (a / b).toFixed(2) : '—');
const med = (impl, n, field) => {
  const runs = results.get(`${impl}:${n}`);
  return runs ? median(runs.map((r) => r[field])) : undefined;
};
const label = {
  ours: '**supply index**',
  naive: 'naive grid (anchor)',
  redis: 'Redis GEOADD / GEOSEARCH',
  postgis: 'PostGIS, GiST nearest-neighbour',
};
const rows = [];
for (const n of SIZES) {
  const nUp = med('naive', n, 'updatesPerSecond');
  const nUpHandle = med('naive', n, 'handleUpdatesPerSecond');
  const nQs = med('naive', n, 'queriesPerSecond');
  const nMem = med('naive', n, 'bytesPerDriver');
  for (const impl of ['ours', 'naive', 'redis', 'postgis']) {
    if (!results.has(`${impl}:${n}`) && impl !== 'redis' && impl !== 'postgis') continue;
    if ((impl === 'redis' && !redisUrl) || (impl === 'postgis' && postgis.skipped)) continue;
    const up = med(impl, n, 'updatesPerSecond');
    const byHandle = med(impl, n, 'handleUpdatesPerSecond');
    const qs = med(impl, n, 'queriesPerSecond');
    const mem = med(impl, n, 'bytesPerDriver');
    rows.push(
      `| ${fmt(n)} | ${label[impl]} | ${fmt(up)} | ${ratio(up, nUp)} | ${fmt(byHandle)} | ${ratio(byHandle, nUpHandle)} | ` +
        `${fmt(qs)} | ${ratio(qs, nQs)} | ${fmt(mem)} | ${ratio(mem, nMem)} |`,
    );
  }
}
const versus = SIZES.map((n) => {
  const qs = med('ours', n, 'queriesPerSecond');
  const up = med('ours', n, 'updatesPerSecond');
  const handle = med('ours', n, 'handleUpdatesPerSecond');
  const cell = (impl) =>
    results.has(`${impl}:${n}`)
      ? `${ratio(qs, med(impl, n, 'queriesPerSecond'))} | ${ratio(up, med(impl, n, 'updatesPerSecond'))} | ${ratio(handle, med(impl, n, 'updatesPerSecond'))}`
      : '— | — | —';
  return `| ${fmt(n)} | ${cell('redis')} | ${cell('postgis')} |`;
});
const crossing = median(SIZES.map((n) => med('ours', n, 'crossingShare')));
const floor = SIZES.map((n) => `${fmt(n)}: ${fmt(med('ours', n, 'mapGetPerSecond'))}/s`).join(', ');
const gcs = SIZES.map(
  (n) =>
    `${fmt(n)}: ${med('ours', n, 'gcsDuringUpdates')} by id, ${med('ours', n, 'gcsDuringHandleUpdates')} by handle`,
).join('; ');
const agree = SIZES.every((n) =>
  results.get(`ours:${n}`).every((r, i) => r.checksum === results.get(`naive:${n}`)[i].checksum),
);
const load = (l) => l.map((x) => x.toFixed(2)).join(' / ');
const external = (impl, name) => {
  if (impl === 'redis' && !redisUrl) return `${name}: not run (set REDIS_URL).`;
  if (impl === 'postgis' && postgis.skipped) return `${name}: not run (${postgis.skipped}).`;
  const sizes = SIZES.filter((n) => results.has(`${impl}:${n}`)).map(fmt);
  return `${name}: run at ${sizes.join(', ')} drivers${capped.has(impl) ? `; ${capped.get(impl)}` : ''}.`;
};

const body = `Measured by \`npm run bench:supply\` (\`bench/supply-index.mjs\`) on ${startedAt.toISOString().slice(0, 10)},
Node ${process.version}, one core per measurement on the shared 2-core machine; load average (1 / 5 / 15 min)
${load(loadBefore)} at the start and ${load(loadAfter)} at the end (1-minute load as each size began:
${SIZES.map((n) => `${fmt(n)}: ${loadAtSize.get(n).toFixed(2)}`).join(', ')}; the benchmark itself accounts for about 1). Each figure is the median of ${RUNS} runs, each
run in a fresh process (implementations interleaved), and every ratio is to the naive grid of the same runs.

Workload: drivers uniform over the Paris box of \`src/domain/city.ts\` (about 39 km × 44 km); 80% available,
10% offered, 10% on a ride. **Updates**: ${fmt(UPDATES - WARM_UP)} timed moves (after ${fmt(WARM_UP)} to warm up) of
50–250 m in a random direction by random drivers, ${(crossing * 100).toFixed(0)}% of them into another 1/256° × 1/192° cell;
first by driver id (\`upsert\`, one reused report object, so the figure is the index's own cost), then as many
again by handle (\`move(handleOf(id), lat, lng, heading, seenAtMs)\`, handles taken once). **Queries**: "10 nearest
available within 2 km" at random points of the box, for ${QUERY_SECONDS} s. **Memory**: growth of V8 heap + ArrayBuffers
(typed arrays live outside the V8 heap, so both are counted) across inserting all drivers, after full GCs, divided
by drivers; the driver id strings (UUIDs) exist before and are not counted.

The anchor is a naive uniform grid written in the bench file, the way one would in an afternoon without being careless:
cells of 1/256° × 1/192° (the index's own), a \`Map\` from a numeric cell key to an array of handles, positions, state
and last-seen time in typed arrays indexed by handle (a \`Map\` from driver id to handle for updates by id), haversine
on every available fresh driver of each visited cell and ring-by-ring search with early stop. It answers the same
queries with the same results, and takes updates by id and by handle like the index (each ratio column divides by
the anchor's figure of the same kind).
${external('redis', 'Redis')} One \`GEOADD\` per update and \`GEOSEARCH … FROMLONLAT … BYRADIUS 2 km ASC COUNT 10\` per
query through ioredis over loopback, pipelined (${fmt(BATCH)} updates, 100 queries per round trip, round trips included),
${fmt(REDIS_UPDATES)} updates then ${EXTERNAL_SECONDS} s of queries per run; it does not filter by state or staleness; its memory is
\`MEMORY USAGE\` of the key.
${external('postgis', 'PostGIS')} A table (\`id uuid\` primary key, \`geom geometry(Point, 4326)\`) in a schema of its own,
loaded by \`INSERT … SELECT FROM unnest\` (10,000 rows a statement), GiST index built after, \`ANALYZE\`d. Updates: \`UPDATE … FROM
unnest(…) WHERE t.id = v.id\`, 1,000 reports per statement (a driver's latest when it moved twice in one), 10 statements
per transaction, for ${EXTERNAL_SECONDS} s; the figure is rows updated per second. Queries: \`SELECT id … ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)
LIMIT 10\` as a prepared statement with \`jit = off\`, **sequential on one connection** (each a round trip; the
server gets the second core), for ${EXTERNAL_SECONDS} s; it orders by planar distance in degrees and filters nothing (no radius,
state or staleness). Its memory is \`pg_total_relation_size\` (table, primary key and GiST index).

| drivers | implementation | updates/s by id | × naive | updates/s by handle | × naive | queries/s | × naive | bytes/driver | × naive |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

The supply index against the external systems, same runs (its figure divided by theirs):

| drivers | queries × Redis | updates by id × Redis | by handle × Redis | queries × PostGIS | updates by id × PostGIS | by handle × PostGIS |
|---|---|---|---|---|---|---|
${versus.join('\n')}

Results of the index and the anchor agree (sum of distances over the first 200 queries of every run, after the
updates by id): ${agree ? 'yes' : '**no**'}. Garbage collections during the timed updates of the index (median per run): ${gcs}.
The floor of any index keyed by driver id on this machine, a bare \`Map<string, number>.get\` of the id in the
same order as the updates: ${floor}.
Reproduce with (PostgreSQL needs the PostGIS extension installed; either variable can be left out):

\`\`\`sh
REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:supply
\`\`\`
`;

console.log(body);
await writeSection('Supply index', body);
