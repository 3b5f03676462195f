/**
 * The supply benchmarks' city: drivers spread uniformly over Paris, their moves and the points
 * riders ask from, all from one seed, so every implementation and every variant sees the same.
 */
import { randomUUID } from 'node:crypto';

/** Paris, as in src/domain/city.ts: about 39 km × 44 km. */
export const BOX = { south: 48.7, west: 2.05, north: 49.05, east: 2.65 };
export const RADIUS = 2_000;
export const LIMIT = 10;
export const STALE_AFTER_MS = 30_000;
/** The index's default base grid, to count how many moves cross a cell. */
export const CELLS_PER_DEG_LAT = 256;
export const CELLS_PER_DEG_LNG = 192;

export const mulberry32 = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** n drivers: 80% available, 10% offered, 10% on a ride. */
export const workload = (n, seed) => {
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

export const cellOf = (lat, lng) =>
  Math.floor((lat + 90) * CELLS_PER_DEG_LAT) * 1e6 + Math.floor((lng + 180) * CELLS_PER_DEG_LNG);

/** A sequence of moves of 50 to 250 m in a random direction, each from the driver's last place. */
export const moves = (w, count) => {
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

export const queryPoints = (random, count) =>
  Array.from({ length: count }, () => ({
    lat: BOX.south + random() * (BOX.north - BOX.south),
    lng: BOX.west + random() * (BOX.east - BOX.west),
  }));

/**
 * Times "10 nearest available within 2 km" at `points` in turn (their count a power of two),
 * each call going on from where the last stopped: `time(ms)` asks for `ms` milliseconds and
 * answers queries per second.
 */
export const queryTimer = (points, nearestAvailable, nowMs) => {
  const query = { point: points[0], radiusMeters: RADIUS, limit: LIMIT, nowMs, staleAfterMs: STALE_AFTER_MS };
  let next = 0;
  // Every answer is used, so no engine can skip the work.
  let found = 0;
  return (ms) => {
    const start = performance.now();
    let count = 0;
    let elapsed = 0;
    do {
      for (let i = 0; i < 1_000; i++) {
        query.point = points[next++ & (points.length - 1)];
        found += nearestAvailable(query).length;
      }
      count += 1_000;
      elapsed = performance.now() - start;
    } while (elapsed < ms);
    if (found < 0) console.error(found);
    return (count / elapsed) * 1000;
  };
};
