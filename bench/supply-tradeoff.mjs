/**
 * What the supply index's cell size trades: location updates against "10 nearest available
 * within 2 km" searches. Larger cells mean fewer moves into another cell (cheaper updates) and
 * more drivers read per search; smaller cells the reverse. Measured for the default grid and
 * grids √2 and 2 times coarser and finer, on the workload of bench/supply-index.mjs.
 *
 *   npm run bench:supply-tradeoff                 # = npm run build && node bench/supply-tradeoff.mjs
 *   DRIVERS=1000000 ROUNDS=7 node bench/supply-tradeoff.mjs
 *
 * Every variant is an index of its own in this one process, fed the same drivers and the same
 * moves (by handle); each round times every variant in turn (the order rotates), so the machine's
 * drifts, which here reach ±30% between minutes, hit all variants alike; each ratio is the median
 * over rounds of the variant's figure over the default grid's in the same round. All variants must
 * return the same answers (checked), since the index's results never depend on its cells.
 * Writes the "Supply index: what the cell size trades" section of BENCHMARKS.md.
 */
import { median, writeSection } from './lib.mjs';
import {
  LIMIT,
  moves,
  queryPoints,
  queryTimer,
  RADIUS,
  STALE_AFTER_MS,
  workload,
} from './supply-workload.mjs';

const DRIVERS = Number(process.env.DRIVERS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const SEED = 11;
/** Moves replayed, round after round; each round times MOVES_PER_ROUND of them per variant. */
const MOVES = 2_000_000;
const MOVES_PER_ROUND = 1_000_000;
const QUERY_MS_PER_ROUND = 300;
const CHUNK = 10_000;
/** Cells per degree of latitude × longitude; the default grid is the index's own. */
const GRIDS = [
  { lat: 128, lng: 96 },
  { lat: 181, lng: 136 },
  { lat: 256, lng: 192, isDefault: true },
  { lat: 362, lng: 272 },
  { lat: 512, lng: 384 },
];

const { createSupplyIndex } = await import('../dist/dispatch/supply-index.js');
const w = workload(DRIVERS, SEED);
const replay = moves(w, MOVES);
const points = queryPoints(w.random, 4096);
const started = new Date();

const crossingShare = (grid) => {
  const cell = (lat, lng) => Math.floor((lat + 90) * grid.lat) * 1e6 + Math.floor((lng + 180) * grid.lng);
  const lat = Float64Array.from(w.lat);
  const lng = Float64Array.from(w.lng);
  let crossing = 0;
  for (let u = 0; u < MOVES; u++) {
    const d = replay.driver[u];
    if (cell(lat[d], lng[d]) !== cell(replay.lat[u], replay.lng[u])) crossing++;
    lat[d] = replay.lat[u];
    lng[d] = replay.lng[u];
  }
  return crossing / MOVES;
};

const variant = (grid) => {
  const index = createSupplyIndex({ cellsPerDegreeLat: grid.lat, cellsPerDegreeLng: grid.lng });
  for (let i = 0; i < DRIVERS; i++) {
    index.upsert(w.ids[i], { lat: w.lat[i], lng: w.lng[i], heading: null, seenAtMs: 0 }, w.state[i]);
  }
  const handles = Int32Array.from(w.ids, (id) => index.handleOf(id));
  let cursor = 0;
  // Reports must be newer than the last: the clock moves on each time the replay starts over.
  let seenAtMs = 1;
  const runMoves = (count) => {
    const start = performance.now();
    for (let done = 0; done < count; done += CHUNK) {
      for (let u = cursor; u < cursor + CHUNK; u++) {
        index.move(handles[replay.driver[u]], replay.lat[u], replay.lng[u], 90, seenAtMs);
      }
      cursor += CHUNK;
      if (cursor === MOVES) {
        cursor = 0;
        seenAtMs++;
      }
    }
    return (count / (performance.now() - start)) * 1000;
  };
  const runQueries = queryTimer(points, (query) => index.nearestAvailable(query), 1_000);
  const answers = () => {
    const query = {
      point: points[0],
      radiusMeters: RADIUS,
      limit: LIMIT,
      nowMs: 1_000,
      staleAfterMs: STALE_AFTER_MS,
    };
    let sum = 0;
    for (let i = 0; i < 300; i++) {
      query.point = points[i];
      for (const c of index.nearestAvailable(query)) sum += c.distanceMeters + c.driverId.charCodeAt(0);
    }
    return sum;
  };
  return { grid, runMoves, runQueries, answers, updates: [], queries: [] };
};

const variants = GRIDS.map(variant);
const reference = variants.find((v) => v.grid.isDefault);
// Warm-up: optimised code and a settled heap for every variant before anything is timed.
for (const v of variants) {
  v.runMoves(MOVES_PER_ROUND / 2);
  v.runQueries(QUERY_MS_PER_ROUND / 2);
}
await new Promise((resolve) => setTimeout(resolve, 250));
for (const v of variants) {
  if (v.answers() !== reference.answers()) {
    throw new Error(`The ${v.grid.lat} × ${v.grid.lng} grid answered differently from the default grid.`);
  }
}
for (let round = 0; round < ROUNDS; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length]);
  for (const v of order) v.updates.push(v.runMoves(MOVES_PER_ROUND));
  for (const v of order) v.queries.push(v.runQueries(QUERY_MS_PER_ROUND));
  console.error(`round ${round + 1} of ${ROUNDS} done`);
}

const ratio = (v, key) => median(v[key].map((value, round) => value / reference[key][round]));
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const metresPerDegLat = 111_195;
const metresPerDegLng = 111_195 * Math.cos((48.875 * Math.PI) / 180);
const rows = variants.map((v) => {
  const { lat, lng, isDefault } = v.grid;
  const name = `1/${lat}° × 1/${lng}°${isDefault ? ' (default)' : ''}`;
  const size = `${Math.round(metresPerDegLat / lat)} m × ${Math.round(metresPerDegLng / lng)} m`;
  const cells = [
    name,
    size,
    `${Math.round(crossingShare(v.grid) * 100)}%`,
    fmt(median(v.updates)),
    ratio(v, 'updates').toFixed(2),
    fmt(median(v.queries)),
    ratio(v, 'queries').toFixed(2),
  ];
  return `| ${isDefault ? cells.map((c) => `**${c}**`).join(' | ') : cells.join(' | ')} |`;
});

const command =
  DRIVERS === 100_000 && ROUNDS === 9
    ? 'npm run bench:supply-tradeoff'
    : `DRIVERS=${DRIVERS} ROUNDS=${ROUNDS} npm run bench:supply-tradeoff`;
const body = `
Measured by \`${command}\` (\`bench/supply-tradeoff.mjs\`) on ${started.toISOString().slice(0, 10)}, Node ${process.version},
${fmt(DRIVERS)} drivers on the workload of the section above (uniform over Paris, moves of 50–250 m by handle,
"10 nearest available within 2 km" at random points). Each grid is an index of its own in one process, fed the same drivers
and moves; ${ROUNDS} rounds time every grid in turn (${fmt(MOVES_PER_ROUND)} moves, then ${QUERY_MS_PER_ROUND} ms of searches, order
rotating), and each ratio is the median over rounds of the grid's figure over the default grid's in the same round. Every
grid returns the same answers (checked): the cell size changes the cost, never the result.

| cells | in Paris | moves into another cell | updates/s | × default | queries/s | × default |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Absolute figures run below those of the section above: here five indexes share one process's caches, and each
round is short. Read the ratios.

What it says: no grid makes both cheaper. Coarser cells take fewer moves across a cell boundary (an update that
stays in its cell overwrites one record; one that crosses also leaves one list and joins another) but give every
search more drivers to read; finer cells cost updates more and gain the searches nothing beyond noise, as a search
then visits more, emptier cells. So the default grid stays, and faster searches cannot be had from the cell size
without paying for them in updates, which every online driver sends every few seconds.
`;
await writeSection('Supply index: what the cell size trades', body);
console.log(body);
