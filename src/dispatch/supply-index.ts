import { distanceMeters, type LatLng } from '../domain/geo.js';

export type SupplyState = 'available' | 'offered' | 'on_ride';

export interface DriverPosition extends LatLng {
  heading: number | null;
  seenAtMs: number;
}

export interface Candidate {
  driverId: string;
  distanceMeters: number;
}

export interface NearestQuery {
  point: LatLng;
  radiusMeters: number;
  limit: number;
  nowMs: number;
  /** Drivers silent for longer than this are not offered anything. */
  staleAfterMs: number;
  exclude?: ReadonlySet<string>;
}

export interface AreaQuery {
  point: LatLng;
  radiusMeters: number;
  nowMs: number;
  staleAfterMs: number;
}

export interface SupplyIndexOptions {
  /** Cells per degree of latitude, an integer (default 256: a cell is about 434 m tall). */
  cellsPerDegreeLat?: number;
  /**
   * Cells per degree of longitude, an integer (default 192: a cell is about 382 m wide in Paris,
   * 361 m in London, 439 m in New York).
   */
  cellsPerDegreeLng?: number;
  /** Driver slots allocated up front; the index doubles them when full. */
  initialCapacity?: number;
}

/** What the index knows of one driver (a copy; for inspection, not for the hot path). */
export interface DriverSnapshot extends DriverPosition {
  state: SupplyState;
}

const AVAILABLE = 0;
const OFFERED = 1;
const ON_RIDE = 2;
/** Marks a slot on the free list. */
const FREE = 255;
const STATES: readonly SupplyState[] = ['available', 'offered', 'on_ride'];

// A driver's record in `data`: six float64, 48 bytes.
const D_STRIDE = 6;
const D_LAT = 0;
const D_LNG = 1;
/** seenAtMs. */
const D_SEEN = 2;
/** AVAILABLE, OFFERED, ON_RIDE, or FREE for a slot on the free list. */
const D_STATE = 3;
/** The cell the driver is listed in. */
const D_CELL = 4;
/** NaN for no heading. */
const D_HEADING = 5;

const stateCode = (state: SupplyState): number => {
  if (state === 'available') return AVAILABLE;
  if (state === 'offered') return OFFERED;
  if (state === 'on_ride') return ON_RIDE;
  throw new Error(`Supply index: unknown driver state ${JSON.stringify(state)}.`);
};

/** Either side of the radius of domain/geo.ts (6 371 008.8 m), for lower and upper bounds. */
const R_LOW = 6_371_000;
const R_HIGH = 6_371_010;
const RAD = Math.PI / 180;
/** Widens the bounds so floating-point rounding can never misjudge a driver. */
const SLACK = 1 - 1e-9;
/** Degrees; covers rounding in the cell a coordinate falls in. */
const EDGE_EPS = 1e-9;

const assertCellsPerDegree = (name: string, value: number, max: number): number => {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`Supply index: ${name} must be an integer from 1 to ${max}, got ${value}.`);
  }
  return value;
};

/**
 * Where every online driver is and whether they can take a ride, indexed by cell.
 *
 * Cells: a global grid of fixed angular size, `cellsPerDegreeLat` × `cellsPerDegreeLng` (by
 * default 1/256° × 1/192°: 434 m × 382 m in Paris, 361 m wide in London, 439 m in New York), so
 * one index serves every city at once. A cell is keyed by (row, col) in an open-addressing hash
 * table of typed arrays; it holds the head of an intrusive list of its drivers. Empty cells are
 * kept for drivers coming back and dropped when the cell table would otherwise grow.
 *
 * Drivers: each owns a slot number. Its record (position, last-seen time, state, cell, heading:
 * six float64, 48 bytes) sits in one Float64Array, so an update or a visit touches one place in
 * memory; the `next`/`prev` links of the cell lists are Int32Arrays apart, so following a list
 * stays in cache while the records load. A Map turns a driver id into its slot; removed slots go
 * on a free list (chained through `next`) and are reused. Slot arrays double when full.
 *
 * A location update of a known driver allocates nothing: it overwrites the record and, when the
 * driver crossed into another cell, relinks the slot in O(1) (a driver entering a cell the index
 * has never seen may, rarely, grow or compact the cell table).
 *
 * `nearestAvailable` searches ring by ring outward from the pickup's cell, inside the rectangle
 * of cells that can hold a point within the radius; small rings are visited nearest cell first
 * and a cell is skipped when its nearest point is beyond the current threshold. Per driver, cheap
 * lower and upper bounds of the great-circle distance (derived from the haversine formula over the
 * rectangle) stand in for it: the `limit` smallest upper bounds set the threshold (at first the
 * radius), drivers whose lower bound exceeds it are dropped, and the search stops as soon as the
 * next ring lies wholly beyond it. The few survivors are ranked by the exact `distanceMeters` of
 * domain/geo.ts, so results are those of a brute-force scan: ordered by distance, ties broken by
 * driver id (code-unit order, ascending). Near the poles, for radii over about 1,000 km, or when
 * the rectangle would hold far more cells than there are occupied ones, it scans every driver
 * instead, with the same results.
 */
export const createSupplyIndex = (options: SupplyIndexOptions = {}) => {
  const rowsPerDeg = assertCellsPerDegree('cellsPerDegreeLat', options.cellsPerDegreeLat ?? 256, 65_536);
  const colsPerDeg = assertCellsPerDegree('cellsPerDegreeLng', options.cellsPerDegreeLng ?? 192, 65_536);
  const nRows = 180 * rowsPerDeg;
  const nCols = 360 * colsPerDeg;

  // ---- drivers, one slot each --------------------------------------------------------------
  let capacity = Math.max(16, Math.floor(options.initialCapacity ?? 1024));
  /** What an update writes and a query reads, together: data[slot * D_STRIDE + D_*]. */
  let data = new Float64Array(capacity * D_STRIDE);
  /** The cell lists, apart: following them stays in cache while the records load. */
  let next = new Int32Array(capacity);
  let prev = new Int32Array(capacity);
  const ids: string[] = [];
  const slotById = new Map<string, number>();
  /** Slots ever handed out; slots below it are in use or on the free list. */
  let highWater = 0;
  let freeHead = -1;

  const growSlots = () => {
    const size = capacity * 2;
    const d = new Float64Array(size * D_STRIDE);
    d.set(data);
    data = d;
    const n = new Int32Array(size);
    n.set(next);
    next = n;
    const p = new Int32Array(size);
    p.set(prev);
    prev = p;
    capacity = size;
  };

  // ---- cells -------------------------------------------------------------------------------
  let cellCapacity = 1024;
  let cellRow = new Int32Array(cellCapacity);
  let cellCol = new Int32Array(cellCapacity);
  /** First driver slot of the cell's list, -1 when the cell is empty. */
  let cellHead = new Int32Array(cellCapacity);
  let cellCount = 0;
  let liveCells = 0;
  /** Open addressing, linear probing: cell id + 1, 0 for an empty bucket. Load ≤ 1/2. */
  let table = new Int32Array(cellCapacity * 2);
  let mask = table.length - 1;

  const bucketOf = (row: number, col: number): number => {
    let h = Math.imul(row, 0x9e3779b1) ^ Math.imul(col, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    return h & mask;
  };

  const findCell = (row: number, col: number): number => {
    let b = bucketOf(row, col);
    for (;;) {
      const v = table[b]!;
      if (v === 0) return -1;
      const c = v - 1;
      if (cellRow[c] === row && cellCol[c] === col) return c;
      b = (b + 1) & mask;
    }
  };

  const rebuildTable = (size: number) => {
    table = new Int32Array(size);
    mask = size - 1;
    for (let c = 0; c < cellCount; c++) {
      let b = bucketOf(cellRow[c]!, cellCol[c]!);
      while (table[b] !== 0) b = (b + 1) & mask;
      table[b] = c + 1;
    }
  };

  /** Room for one more cell: drops empty cells if they are at least half, else doubles. */
  const makeCellRoom = () => {
    if (liveCells * 2 <= cellCount) {
      let w = 0;
      for (let c = 0; c < cellCount; c++) {
        const head = cellHead[c]!;
        if (head === -1) continue;
        cellRow[w] = cellRow[c]!;
        cellCol[w] = cellCol[c]!;
        cellHead[w] = head;
        for (let s = head; s !== -1; s = next[s]!) data[s * D_STRIDE + D_CELL] = w;
        w++;
      }
      cellCount = w;
      rebuildTable(table.length);
      return;
    }
    const size = cellCapacity * 2;
    const grow = (old: Int32Array) => {
      const a = new Int32Array(size);
      a.set(old);
      return a;
    };
    cellRow = grow(cellRow);
    cellCol = grow(cellCol);
    cellHead = grow(cellHead);
    cellCapacity = size;
    rebuildTable(size * 2);
  };

  const cellAt = (row: number, col: number): number => {
    const found = findCell(row, col);
    if (found !== -1) return found;
    if (cellCount === cellCapacity) makeCellRoom();
    const c = cellCount++;
    cellRow[c] = row;
    cellCol[c] = col;
    cellHead[c] = -1;
    let b = bucketOf(row, col);
    while (table[b] !== 0) b = (b + 1) & mask;
    table[b] = c + 1;
    return c;
  };

  const rowOf = (lat: number): number => {
    const row = Math.floor((lat + 90) * rowsPerDeg);
    return row < nRows ? row : nRows - 1;
  };
  const colOf = (lng: number): number => {
    const col = Math.floor((lng + 180) * colsPerDeg);
    return col < nCols ? col : col - nCols;
  };

  const wrapCol = (col: number): number => (col < 0 ? col + nCols : col >= nCols ? col - nCols : col);

  const link = (slot: number, cell: number) => {
    const head = cellHead[cell]!;
    if (head === -1) liveCells++;
    else prev[head] = slot;
    next[slot] = head;
    prev[slot] = -1;
    cellHead[cell] = slot;
    data[slot * D_STRIDE + D_CELL] = cell;
  };

  const unlink = (slot: number) => {
    const n = next[slot]!;
    const p = prev[slot]!;
    if (p === -1) {
      cellHead[data[slot * D_STRIDE + D_CELL]!] = n;
      if (n === -1) liveCells--;
    } else next[p] = n;
    if (n !== -1) prev[n] = p;
  };

  const rejectPosition = (driverId: string, position: DriverPosition): never => {
    throw new Error(
      `Supply index: refusing a corrupt position for driver ${driverId}: ` +
        `lat=${position.lat}, lng=${position.lng}, heading=${position.heading}, seenAtMs=${position.seenAtMs} ` +
        '(lat must be within [-90, 90], lng within [-180, 180], heading null or finite, seenAtMs finite).',
    );
  };

  // ---- search --------------------------------------------------------------------------------
  /** Up to this many results are kept by insertion in a short sorted array; more are sorted. */
  const SHORT_LIMIT = 64;
  const keptSlot = new Int32Array(SHORT_LIMIT);
  const keptDist = new Float64Array(SHORT_LIMIT);
  /** Upper bounds (squared) of the distance of the best drivers so far, ascending. */
  const bestUb2 = new Float64Array(SHORT_LIMIT);
  /** Drivers that may make the cut: slot and a lower bound (squared) of their distance. */
  let candSlot = new Int32Array(256);
  let candLb2 = new Float64Array(256);
  let candCount = 0;
  /** The cells of the ring being searched: offsets and lower bound (squared) of their distance. */
  let ringDr = new Int32Array(64);
  let ringDc = new Int32Array(64);
  let ringLow2 = new Float64Array(64);
  let ringCount = 0;
  /** Rings up to this many cells are searched nearest cell first. */
  const SORTED_RING = 48;
  const growRing = () => {
    const size = ringDr.length * 2;
    const dr = new Int32Array(size);
    dr.set(ringDr);
    ringDr = dr;
    const dc = new Int32Array(size);
    dc.set(ringDc);
    ringDc = dc;
    const low = new Float64Array(size);
    low.set(ringLow2);
    ringLow2 = low;
  };
  /** Reused for exact distances, so ranking allocates nothing per driver. */
  const scratch: LatLng = { lat: 0, lng: 0 };
  // The query being answered; kept here so the helpers below are created once.
  let qPoint: LatLng = scratch;
  let qLat = 0;
  let qLng = 0;
  let qRadius = 0;
  let qRadius2 = 0;
  /** How many to keep; 0 counts the drivers within the radius instead. */
  let qCap = 0;
  let qNow = 0;
  let qStaleAfter = 0;
  let qExclude: ReadonlySet<string> | undefined;
  // Per degree²: kLat·Δφ² + kLng·Δλ² <= d² <= uLat·Δφ² + uLng·Δλ² within the searched cells.
  let qKLat = 0;
  let qKLng = 0;
  let qULat = 0;
  let qULng = 0;
  /** How many entries of bestUb2 are filled. */
  let qBest = 0;
  /** No driver beyond this (squared) can count: the radius, then the worst of the best `cap`. */
  let qThr2 = 0;
  let qCount = 0;
  /** The query point's row and column. */
  let qR0 = 0;
  let qC0 = 0;

  const exactDistance = (s: number): number => {
    scratch.lat = data[s * D_STRIDE + D_LAT]!;
    scratch.lng = data[s * D_STRIDE + D_LNG]!;
    return distanceMeters(qPoint, scratch);
  };

  const growCandidates = (): void => {
    const slots = new Int32Array(candCount * 2);
    slots.set(candSlot);
    candSlot = slots;
    const bounds = new Float64Array(candCount * 2);
    bounds.set(candLb2);
    candLb2 = bounds;
  };

  /** The fresh available drivers of one cell, pruned by the bounds. */
  const scanCell = (row: number, col: number): void => {
    const cell = findCell(row, col);
    if (cell === -1) return;
    for (let s = cellHead[cell]!; s !== -1; s = next[s]!) {
      const r = s * D_STRIDE;
      if (data[r + D_STATE] !== AVAILABLE) continue;
      if (qNow - data[r + D_SEEN]! > qStaleAfter) continue;
      const dy = data[r + D_LAT]! - qLat;
      let dx = data[r + D_LNG]! - qLng;
      if (dx > 180) dx -= 360;
      else if (dx < -180) dx += 360;
      const dy2 = dy * dy;
      const dx2 = dx * dx;
      const lb2 = qKLat * dy2 + qKLng * dx2;
      if (lb2 > qThr2) continue;
      if (qExclude?.has(ids[s]!)) continue;
      const ub2 = qULat * dy2 + qULng * dx2;
      if (qCap === 0) {
        if (ub2 <= qRadius2 || exactDistance(s) <= qRadius) qCount++;
        continue;
      }
      // Inline, as below: a float passed to a call that is not inlined would be boxed.
      if (candCount === candSlot.length) growCandidates();
      candSlot[candCount] = s;
      candLb2[candCount] = lb2;
      candCount++;
      // Surely within the radius: once `cap` such drivers are known, the worst of them bounds
      // the search (bestUb2 holds their upper bounds, ascending).
      if (ub2 <= qRadius2 && qCap <= SHORT_LIMIT) {
        const cap = qCap;
        let i = qBest;
        if (i < cap) qBest++;
        else if (ub2 < bestUb2[cap - 1]!) i = cap - 1;
        else continue;
        while (i > 0 && bestUb2[i - 1]! > ub2) {
          bestUb2[i] = bestUb2[i - 1]!;
          i--;
        }
        bestUb2[i] = ub2;
        if (qBest === cap) qThr2 = bestUb2[cap - 1]!;
      }
    }
  };

  /** A lower bound (squared) of the distance to any point `dr` rows away from the query's. */
  const rowLow2 = (dr: number): number => {
    const gap =
      dr > 0 ? (qR0 + dr) / rowsPerDeg - 90 - qLat : dr < 0 ? qLat - ((qR0 + dr + 1) / rowsPerDeg - 90) : 0;
    const g = gap > EDGE_EPS ? gap - EDGE_EPS : 0;
    return qKLat * g * g;
  };

  /** The same for `dc` columns away. */
  const colLow2 = (dc: number): number => {
    const gap =
      dc > 0 ? (qC0 + dc) / colsPerDeg - 180 - qLng : dc < 0 ? qLng - ((qC0 + dc + 1) / colsPerDeg - 180) : 0;
    const g = gap > EDGE_EPS ? gap - EDGE_EPS : 0;
    return qKLng * g * g;
  };

  const addRingCell = (dr: number, dc: number): void => {
    if (ringCount === ringDr.length) growRing();
    ringDr[ringCount] = dr;
    ringDc[ringCount] = dc;
    ringLow2[ringCount] = rowLow2(dr) + colLow2(dc);
    ringCount++;
  };

  /**
   * Collects the fresh available drivers that may make the cut, nearest rings first, into the
   * candidates (or counts those within the radius when `cap` is 0).
   */
  const search = (
    point: LatLng,
    radius: number,
    cap: number,
    nowMs: number,
    staleAfterMs: number,
    exclude: ReadonlySet<string> | undefined,
  ): void => {
    qPoint = point;
    qLat = point.lat;
    // On the grid, 180° is -180°.
    qLng = point.lng === 180 ? -180 : point.lng;
    qRadius = radius;
    qRadius2 = radius * radius;
    qCap = cap;
    qNow = nowMs;
    qStaleAfter = staleAfterMs;
    qExclude = exclude;
    qBest = 0;
    qThr2 = qRadius2;
    qCount = 0;
    candCount = 0;
    const pLat = qLat;
    const pLng = qLng;

    // The rectangle of cells that can hold a point within the radius:
    // d >= R·|Δφ|, and cos φP · cos φQ · sin²(Δλ/2) <= sin²(d / 2R).
    const dLatMaxDeg = radius / R_LOW / RAD;
    let fullScan = !(radius / R_LOW < 0.2) || Math.abs(pLat) + dLatMaxDeg + 3 / rowsPerDeg >= 90;
    let rowsNeeded = 0;
    let colsNeeded = 0;
    if (!fullScan) {
      const cosP = Math.cos(pLat * RAD);
      const cosFar = Math.cos((Math.abs(pLat) + dLatMaxDeg) * RAD);
      const sinHalfLng = Math.sin(radius / (2 * R_LOW)) / Math.sqrt(cosP * cosFar * SLACK);
      if (!(sinHalfLng < 0.1)) fullScan = true;
      else {
        const dLngMaxDeg = (2 * Math.asin(sinHalfLng)) / RAD;
        rowsNeeded = Math.ceil(dLatMaxDeg * rowsPerDeg) + 1;
        colsNeeded = Math.ceil(dLngMaxDeg * colsPerDeg) + 1;
        // Scanning every driver beats probing a rectangle of mostly empty cells.
        const rectCells = (2 * rowsNeeded + 1) * (2 * colsNeeded + 1);
        if (2 * colsNeeded + 1 >= nCols || rectCells > 4 * liveCells + 256) fullScan = true;
      }
    }

    if (fullScan) {
      for (let s = 0; s < highWater; s++) {
        const r = s * D_STRIDE;
        if (data[r + D_STATE] !== AVAILABLE) continue;
        if (nowMs - data[r + D_SEEN]! > staleAfterMs) continue;
        if (exclude?.has(ids[s]!)) continue;
        if (cap === 0) {
          if (exactDistance(s) <= radius) qCount++;
        } else {
          if (candCount === candSlot.length) growCandidates();
          candSlot[candCount] = s;
          candLb2[candCount] = 0;
          candCount++;
        }
      }
      return;
    }

    // Bounds of the distance to a driver of the rectangle, from haversine:
    // h = sin²(Δφ/2) + cos φP·cos φQ·sin²(Δλ/2) and d = 2R·asin √h, with |Δφ| <= A, |Δλ| <= B.
    // Lower: asin t >= t and sin x >= x(1 - x²/6), cos φQ >= cosMin, so
    //   d² >= R²·(Δφ²(1 - A²/12) + cos φP·cosMin·Δλ²(1 - B²/12)).
    // Upper: sin x <= x, cos φQ <= cosMax, asin t <= t / √(1 - t²) with t <= (A + B) / 2, so
    //   d² <= R²·(Δφ² + cos φP·cosMax·Δλ²) / (1 - ((A + B) / 2)²).
    const spanLatDeg = (rowsNeeded + 1.01) / rowsPerDeg;
    const spanLat = spanLatDeg * RAD;
    const spanLng = ((colsNeeded + 1.01) / colsPerDeg) * RAD;
    const cosP = Math.cos(pLat * RAD);
    const latLo = pLat - spanLatDeg;
    const latHi = pLat + spanLatDeg;
    const cosMin = Math.max(0, Math.cos(Math.min(90, Math.max(-latLo, latHi)) * RAD));
    // The latitude nearest the equator in the rectangle.
    const nearestEquator = latLo > 0 ? latLo : latHi < 0 ? -latHi : 0;
    const cosMax = Math.cos(nearestEquator * RAD);
    const low = R_LOW * R_LOW * RAD * RAD * SLACK;
    qKLat = low * (1 - (spanLat * spanLat) / 12);
    qKLng = low * cosP * cosMin * (1 - (spanLng * spanLng) / 12);
    const t = (spanLat + spanLng) / 2;
    qULat = (R_HIGH * R_HIGH * RAD * RAD) / SLACK / (1 - t * t);
    qULng = qULat * cosP * cosMax;

    qR0 = rowOf(pLat);
    qC0 = colOf(pLng);
    const maxRing = Math.max(rowsNeeded, colsNeeded);
    for (let k = 0; k <= maxRing; k++) {
      // Ring k: the cells k rows or k columns away, clipped to the rectangle, nearest first
      // (small rings), each skipped when its nearest point is beyond the threshold by then.
      const rSpan = Math.min(k, rowsNeeded);
      const cSpan = Math.min(k, colsNeeded);
      ringCount = 0;
      for (let dr = -rSpan; dr <= rSpan; dr++) {
        if (dr === k || dr === -k) {
          for (let dc = -cSpan; dc <= cSpan; dc++) addRingCell(dr, dc);
        } else if (k <= colsNeeded) {
          addRingCell(dr, -k);
          addRingCell(dr, k);
        }
      }
      const cells = ringCount;
      if (cells <= SORTED_RING) {
        for (let i = 1; i < cells; i++) {
          const dr = ringDr[i]!;
          const dc = ringDc[i]!;
          const low = ringLow2[i]!;
          let j = i;
          for (; j > 0 && ringLow2[j - 1]! > low; j--) {
            ringDr[j] = ringDr[j - 1]!;
            ringDc[j] = ringDc[j - 1]!;
            ringLow2[j] = ringLow2[j - 1]!;
          }
          ringDr[j] = dr;
          ringDc[j] = dc;
          ringLow2[j] = low;
        }
      }
      for (let i = 0; i < cells; i++) {
        if (ringLow2[i]! > qThr2) continue;
        scanCell(qR0 + ringDr[i]!, wrapCol(qC0 + ringDc[i]!));
      }
      if (cap === 0) continue;
      // Nothing in the next ring can be closer than this.
      let gap2 = Number.POSITIVE_INFINITY;
      if (k < rowsNeeded) gap2 = Math.min(rowLow2(k + 1), rowLow2(-k - 1));
      if (k < colsNeeded) gap2 = Math.min(gap2, colLow2(k + 1), colLow2(-k - 1));
      if (gap2 > qThr2) break;
    }
  };

  /**
   * Ranks the candidates that may still make the cut by exact distance, then driver id, into
   * keptSlot/keptDist (`cap` <= SHORT_LIMIT); returns how many were kept.
   */
  const rankShort = (): number => {
    const cap = qCap;
    let kept = 0;
    for (let c = 0; c < candCount; c++) {
      if (candLb2[c]! > qThr2) continue;
      const s = candSlot[c]!;
      const d = exactDistance(s);
      if (!(d <= qRadius)) continue;
      let i: number;
      if (kept < cap) i = kept++;
      else {
        const worst = keptDist[cap - 1]!;
        if (d > worst || (d === worst && ids[s]! >= ids[keptSlot[cap - 1]!]!)) continue;
        i = cap - 1;
      }
      while (i > 0) {
        const pd = keptDist[i - 1]!;
        // Ids are read only on a tie: each is a memory access of its own.
        if (pd < d || (pd === d && ids[keptSlot[i - 1]!]! < ids[s]!)) break;
        keptDist[i] = pd;
        keptSlot[i] = keptSlot[i - 1]!;
        i--;
      }
      keptDist[i] = d;
      keptSlot[i] = s;
    }
    return kept;
  };

  /** The same for long lists: every candidate within the radius, sorted. */
  const rankLong = (): Candidate[] => {
    const found: Candidate[] = [];
    for (let c = 0; c < candCount; c++) {
      const s = candSlot[c]!;
      const d = exactDistance(s);
      if (d <= qRadius) found.push({ driverId: ids[s]!, distanceMeters: d });
    }
    found.sort((a, b) => a.distanceMeters - b.distanceMeters || (a.driverId < b.driverId ? -1 : 1));
    if (found.length > qCap) found.length = qCap;
    return found;
  };

  const validPoint = (point: LatLng): boolean =>
    point.lat >= -90 && point.lat <= 90 && point.lng >= -180 && point.lng <= 180;

  return {
    /**
     * Adds or refreshes a driver; a new driver starts available. An older report than the one
     * held is ignored, state included. Throws, changing nothing, on a corrupt position.
     */
    upsert(driverId: string, position: DriverPosition, state?: SupplyState): void {
      const lat = position.lat;
      const lng = position.lng;
      const seenAtMs = position.seenAtMs;
      const heading = position.heading ?? null;
      // Written so NaN fails every test.
      if (
        !(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180) ||
        !(seenAtMs - seenAtMs === 0) ||
        (heading !== null && !(heading - heading === 0))
      ) {
        rejectPosition(driverId, position);
      }
      const code = state ? stateCode(state) : -1;
      // The cell, computed here rather than in a helper: passing a float to a call that is not
      // inlined would allocate a number box on every update.
      let row = Math.floor((lat + 90) * rowsPerDeg);
      if (row >= nRows) row = nRows - 1;
      let col = Math.floor((lng + 180) * colsPerDeg);
      if (col >= nCols) col -= nCols;
      let slot = slotById.get(driverId);
      if (slot === undefined) {
        if (freeHead !== -1) {
          slot = freeHead;
          freeHead = next[slot]!;
          ids[slot] = driverId;
        } else {
          if (highWater === capacity) growSlots();
          slot = highWater++;
          ids.push(driverId);
        }
        slotById.set(driverId, slot);
        data[slot * D_STRIDE + D_STATE] = code === -1 ? AVAILABLE : code;
        link(slot, cellAt(row, col));
      } else {
        // Reports can arrive out of order over mobile networks: an older fix never overwrites a newer one.
        const r = slot * D_STRIDE;
        if (seenAtMs < data[r + D_SEEN]!) return;
        const cell = data[r + D_CELL]!;
        if (cellRow[cell] !== row || cellCol[cell] !== col) {
          unlink(slot);
          link(slot, cellAt(row, col));
        }
        if (code !== -1) data[r + D_STATE] = code;
      }
      const r = slot * D_STRIDE;
      data[r + D_LAT] = lat;
      data[r + D_LNG] = lng;
      data[r + D_SEEN] = seenAtMs;
      data[r + D_HEADING] = heading === null ? Number.NaN : heading;
    },

    setState(driverId: string, state: SupplyState): void {
      const slot = slotById.get(driverId);
      if (slot !== undefined) data[slot * D_STRIDE + D_STATE] = stateCode(state);
    },

    remove(driverId: string): void {
      const slot = slotById.get(driverId);
      if (slot === undefined) return;
      unlink(slot);
      slotById.delete(driverId);
      data[slot * D_STRIDE + D_STATE] = FREE;
      ids[slot] = '';
      next[slot] = freeHead;
      freeHead = slot;
    },

    has(driverId: string): boolean {
      return slotById.has(driverId);
    },

    /** A copy of what the index holds for the driver. */
    get(driverId: string): DriverSnapshot | undefined {
      const slot = slotById.get(driverId);
      if (slot === undefined) return undefined;
      const r = slot * D_STRIDE;
      const heading = data[r + D_HEADING]!;
      return {
        lat: data[r + D_LAT]!,
        lng: data[r + D_LNG]!,
        heading: Number.isNaN(heading) ? null : heading,
        seenAtMs: data[r + D_SEEN]!,
        state: STATES[data[r + D_STATE]!]!,
      };
    },

    /**
     * Available, fresh drivers within the radius, nearest first (great-circle distance of
     * domain/geo.ts; equal distances by driver id). At most `limit` (truncated; none when < 1).
     * A point off the globe (non-finite or out of range) has no drivers near it.
     */
    nearestAvailable(query: NearestQuery): Candidate[] {
      const { point, radiusMeters, limit } = query;
      if (!validPoint(point) || !(radiusMeters >= 0) || !(limit >= 1)) return [];
      const cap = Math.min(Math.trunc(limit), slotById.size);
      if (cap === 0) return [];
      search(point, radiusMeters, cap, query.nowMs, query.staleAfterMs, query.exclude);
      if (cap > SHORT_LIMIT) return rankLong();
      const kept = rankShort();
      const found: Candidate[] = new Array(kept);
      for (let i = 0; i < kept; i++) {
        found[i] = { driverId: ids[keptSlot[i]!]!, distanceMeters: keptDist[i]! };
      }
      return found;
    },

    /** How many available, fresh drivers are within the radius (supply for surge pricing). */
    countAvailable(query: AreaQuery): number {
      const { point, radiusMeters } = query;
      if (!validPoint(point) || !(radiusMeters >= 0) || slotById.size === 0) return 0;
      search(point, radiusMeters, 0, query.nowMs, query.staleAfterMs, undefined);
      return qCount;
    },

    get size(): number {
      return slotById.size;
    },
  };
};

export type SupplyIndex = ReturnType<typeof createSupplyIndex>;
