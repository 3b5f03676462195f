import { type BoundingBox, distanceMeters, isInside, type LatLng } from '../domain/geo.js';

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

/** Several areas counted in one pass (metrics: the service area of every city). */
export interface AreasQuery {
  areas: readonly BoundingBox[];
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
  /**
   * A cell holding more than this many drivers per sub-cell, on average, is split into 2 × 2 finer
   * sub-cells, and again while it stays crowded (default 128). A split cell merges back when it
   * averages fewer than an eighth of this per sub-cell.
   */
  splitAbove?: number;
  /** How many times a cell may be split: at most 2^n × 2^n sub-cells (default 4, at most 6; 0 never splits). */
  maxSplits?: number;
  /** Driver slots allocated up front; the index adds half as many again whenever it runs out. */
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

// A driver's record, 48 bytes: six float64 in `coords`, the first four its position, last-seen
// time and heading, the other two read as four int32 through `places`.
const P_STRIDE = 6;
const P_LAT = 0;
const P_LNG = 1;
/** seenAtMs. */
const P_SEEN = 2;
/** NaN for no heading. */
const P_HEADING = 3;

// Where the driver is listed, in `places`: int32 8 to 11 of its record.
const W_STRIDE = 12;
/** The list it is on, an index into `lists`; -1 while it is not listed yet. */
const W_LIST = 8;
/** Its place in that list's block, an index into `members`. */
const W_MEMBER = 9;
/** The cell of that list; -1 while it is not listed yet. */
const W_CELL = 10;
/** For a free slot, the next free one (-1 for none). */
const W_NEXT_FREE = 11;

// A list in `lists`: the slots of its drivers side by side in a block of `members`, four int32.
const L_STRIDE = 4;
/** First member of its block; -1 when it has none. */
const L_START = 0;
const L_COUNT = 1;
/** Members its block holds: 2^L_SIZE_CLASS, or 0 with no block. */
const L_CAPACITY = 2;
const L_SIZE_CLASS = 3;

// A cell in `cells`: four int32.
const C_STRIDE = 4;
const C_ROW = 0;
const C_COL = 1;
/** Its first list in `lists`, times 8, plus its split level (2^level × 2^level lists). */
const C_LISTS = 2;
/** Drivers listed in the cell, whatever their state. */
const C_COUNT = 3;
const LEVEL_BITS = 3;
const LEVEL_MASK = 7;
const MAX_SPLITS = 6;
/** 16 × 16 sub-cells at most: about 27 m × 24 m in Paris, once a cell holds over 8,192 drivers. */
const DEFAULT_MAX_SPLITS = 4;
/**
 * A cell splits only where drivers crowd far beyond what a city spread evenly puts in one: every
 * finer list is one more list a moving driver leaves and joins. Measured over Paris (bench/
 * supply-index.mjs, moves of 50–250 m): with 100,000 drivers a cell averages 10 and stays whole
 * either way (split there, searches were slower too: more lists for the same drivers); with
 * 1,000,000 it averages 100, and splitting those cells 4 × 4 (the old threshold, 16) made the
 * searches 1.7× as fast but the moves 2.2× as slow, slower than a naive grid's, 90% of them
 * changing list against 42%. A station's rank of hundreds of drivers still splits.
 */
const DEFAULT_SPLIT_ABOVE = 128;

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

const assertInteger = (name: string, value: number, min: number, max: number): number => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`Supply index: ${name} must be an integer from ${min} to ${max}, got ${value}.`);
  }
  return value;
};

const rejectPosition = (
  driverId: string,
  lat: unknown,
  lng: unknown,
  heading: unknown,
  seenAtMs: unknown,
): never => {
  throw new Error(
    `Supply index: refusing a corrupt position for driver ${driverId}: ` +
      `lat=${lat}, lng=${lng}, heading=${heading}, seenAtMs=${seenAtMs} ` +
      '(lat must be within [-90, 90], lng within [-180, 180], heading null or finite, seenAtMs finite).',
  );
};

/**
 * Where every online driver is and whether they can take a ride, indexed by cell.
 *
 * Cells: a global grid of fixed angular size, `cellsPerDegreeLat` × `cellsPerDegreeLng` (by
 * default 1/256° × 1/192°: 434 m × 382 m in Paris, 361 m wide in London, 439 m in New York), so
 * one index serves every city at once. A cell is keyed by (row, col) in an open-addressing hash
 * table of typed arrays. Empty cells are kept for drivers coming back and dropped when the cell
 * table would otherwise grow.
 *
 * Density: a cell that gets crowded splits itself into 2 × 2, then 4 × 4, … sub-cells (above
 * `splitAbove` drivers per sub-cell on average; at most `maxSplits` times) and merges back as it
 * empties, so no list holds many more than `splitAbove` drivers, even at a station where hundreds
 * wait, while quiet areas keep coarse cells that a search crosses in a few probes. A cell's lists sit
 * side by side, found by sub-row and sub-column: no hashing below the cell.
 *
 * Drivers: each owns a slot number, which is also its handle (`handleOf`). Its record, 48 bytes of
 * one buffer seen through two typed arrays, holds its position, last-seen time and heading
 * (float64) and its list, its place there and its cell (int32): all that an update reads or writes
 * unless the driver changes list, in one or two cache lines. Its state is a byte of a dense array,
 * so a search skips busy drivers without loading their records. A Map turns a driver id into its
 * slot; removed slots go on a free list and are reused. Slot arrays grow by half when full (less
 * idle memory than doubling: the records are most of the index's).
 *
 * Lists: a list keeps the slots of its drivers side by side in a block of one Int32Array, so a
 * search knows all the drivers of a list at once and the cache misses on their records overlap,
 * where following a linked list waits for one miss after another (measured at 1,000,000 drivers:
 * searches 1.5× as fast as with linked lists, updates about as fast). Blocks hold 1, 2, 4, … slots;
 * a full block moves to one twice its size, one an eighth full to one half its size; freed blocks
 * are reused by size. A driver leaving a list hands its place to the list's last member.
 *
 * A location update of a known driver allocates nothing: it overwrites the record and, when the
 * driver crossed into another list, moves its slot there in O(1) amortised (a driver entering a cell
 * the index has never seen may, rarely, grow or compact the cell table; a cell crossing a split
 * threshold moves its own drivers, which the updates since its last split or merge pay for).
 *
 * `nearestAvailable` searches ring by ring outward from the pickup's cell, inside the rectangle
 * of cells that can hold a point within the radius; small rings are visited nearest cell first
 * and a cell is skipped when its nearest point is beyond the current threshold; inside a split
 * cell, its sub-cells are searched the same way, ring by ring from the one nearest the pickup. Per
 * driver, cheap lower and upper bounds of the great-circle distance (derived from the haversine
 * formula over the rectangle) stand in for it: the `limit` smallest upper bounds set the threshold
 * (at first the radius), drivers whose lower bound exceeds it are dropped, and the search stops as
 * soon as the next ring lies wholly beyond it. The few survivors are ranked by the exact
 * `distanceMeters` of domain/geo.ts, so results are those of a brute-force scan: ordered by
 * distance, ties broken by driver id (code-unit order, ascending). Near the poles, for radii over
 * about 1,000 km, or when the rectangle would hold far more cells than there are occupied ones, it
 * scans every driver instead, with the same results.
 */
export const createSupplyIndex = (options: SupplyIndexOptions = {}) => {
  const rowsPerDeg = assertInteger('cellsPerDegreeLat', options.cellsPerDegreeLat ?? 256, 1, 65_536);
  const colsPerDeg = assertInteger('cellsPerDegreeLng', options.cellsPerDegreeLng ?? 192, 1, 65_536);
  const maxSplits = assertInteger('maxSplits', options.maxSplits ?? DEFAULT_MAX_SPLITS, 0, MAX_SPLITS);
  const splitAbove = options.splitAbove ?? DEFAULT_SPLIT_ABOVE;
  if (!(splitAbove >= 1 && splitAbove <= 1e6)) {
    throw new Error(`Supply index: splitAbove must be from 1 to 1000000, got ${splitAbove}.`);
  }
  const nRows = 180 * rowsPerDeg;
  const nCols = 360 * colsPerDeg;
  // Cell sizes in degrees, to multiply by where a search would divide (the rounding is far below
  // EDGE_EPS).
  const rowDegrees = 1 / rowsPerDeg;
  const colDegrees = 1 / colsPerDeg;
  /** A cell split `level` times splits again above this many drivers, and merges below the other. */
  const splitLimit = new Float64Array(MAX_SPLITS + 1);
  const mergeLimit = new Float64Array(MAX_SPLITS + 1);
  for (let level = 0; level <= MAX_SPLITS; level++) {
    splitLimit[level] = level < maxSplits ? splitAbove * 4 ** level : Number.POSITIVE_INFINITY;
    mergeLimit[level] = level === 0 ? -1 : (splitAbove * 4 ** level) / 8;
  }

  // ---- drivers, one slot each --------------------------------------------------------------
  let capacity = Math.max(16, Math.floor(options.initialCapacity ?? 1024));
  /** coords[slot * P_STRIDE + P_*]. */
  let coords = new Float64Array(capacity * P_STRIDE);
  /** places[slot * W_STRIDE + W_*]: the same memory as `coords`. */
  let places = new Int32Array(coords.buffer);
  /** AVAILABLE, OFFERED, ON_RIDE, or FREE for a slot on the free list; dense, so it stays cached. */
  let states = new Uint8Array(capacity);
  const ids: string[] = [];
  const slotById = new Map<string, number>();
  /** Slots ever handed out; slots below it are in use or on the free list. */
  let highWater = 0;
  let freeHead = -1;

  const growSlots = () => {
    capacity = Math.ceil(capacity * 1.5);
    const grownCoords = new Float64Array(capacity * P_STRIDE);
    grownCoords.set(coords);
    coords = grownCoords;
    places = new Int32Array(grownCoords.buffer);
    const grownStates = new Uint8Array(capacity);
    grownStates.set(states);
    states = grownStates;
  };

  // ---- members: the slots of each list, in blocks ----------------------------------------------
  let members = new Int32Array(1024);
  let membersUsed = 0;
  /** Per size class, the first freed block (chained through its first member), -1 if none. */
  const freeBlocks = new Int32Array(32).fill(-1);

  const allocateBlock = (sizeClass: number): number => {
    const free = freeBlocks[sizeClass]!;
    if (free !== -1) {
      freeBlocks[sizeClass] = members[free]!;
      return free;
    }
    const size = 1 << sizeClass;
    if (membersUsed + size > members.length) {
      const grown = new Int32Array(Math.max(members.length * 2, membersUsed + size));
      grown.set(members);
      members = grown;
    }
    const start = membersUsed;
    membersUsed += size;
    return start;
  };

  const freeBlock = (start: number, sizeClass: number) => {
    members[start] = freeBlocks[sizeClass]!;
    freeBlocks[sizeClass] = start;
  };

  // ---- lists: one per unsplit cell, 4^level per split cell ----------------------------------------
  /** lists[list * L_STRIDE + L_*]. */
  let lists = new Int32Array(1024 * L_STRIDE);
  let listsUsed = 0;
  /** Per level, the first freed run of lists (chained through its first L_START), -1 if none. */
  const freeListRuns = new Int32Array(MAX_SPLITS + 1).fill(-1);

  const allocateLists = (level: number): number => {
    const count = 1 << (2 * level);
    let first = freeListRuns[level]!;
    if (first !== -1) freeListRuns[level] = lists[first * L_STRIDE + L_START]!;
    else {
      if ((listsUsed + count) * L_STRIDE > lists.length) {
        const grown = new Int32Array(Math.max(lists.length * 2, (listsUsed + count) * L_STRIDE));
        grown.set(lists);
        lists = grown;
      }
      first = listsUsed;
      listsUsed += count;
    }
    for (let list = first; list < first + count; list++) {
      const l = list * L_STRIDE;
      lists[l + L_START] = -1;
      lists[l + L_COUNT] = 0;
      lists[l + L_CAPACITY] = 0;
      lists[l + L_SIZE_CLASS] = -1;
    }
    return first;
  };

  /** Frees a run of empty lists. */
  const freeLists = (first: number, level: number) => {
    lists[first * L_STRIDE + L_START] = freeListRuns[level]!;
    freeListRuns[level] = first;
  };

  /** Moves a list's members to a block of another size class (or to none, when it is empty). */
  const reblock = (list: number, sizeClass: number) => {
    const l = list * L_STRIDE;
    const start = lists[l + L_START]!;
    const count = lists[l + L_COUNT]!;
    const target = sizeClass === -1 ? -1 : allocateBlock(sizeClass);
    for (let i = 0; i < count; i++) {
      const slot = members[start + i]!;
      members[target + i] = slot;
      places[slot * W_STRIDE + W_MEMBER] = target + i;
    }
    if (start !== -1) freeBlock(start, lists[l + L_SIZE_CLASS]!);
    lists[l + L_START] = target;
    lists[l + L_CAPACITY] = sizeClass === -1 ? 0 : 1 << sizeClass;
    lists[l + L_SIZE_CLASS] = sizeClass;
  };

  /** Puts a driver at the end of a list. */
  const append = (list: number, slot: number) => {
    const l = list * L_STRIDE;
    const count = lists[l + L_COUNT]!;
    if (count === lists[l + L_CAPACITY]) reblock(list, lists[l + L_SIZE_CLASS]! + 1);
    const member = lists[l + L_START]! + count;
    members[member] = slot;
    lists[l + L_COUNT] = count + 1;
    places[slot * W_STRIDE + W_LIST] = list;
    places[slot * W_STRIDE + W_MEMBER] = member;
  };

  /** Takes a driver out of its list: the list's last member takes its place. */
  const detach = (slot: number) => {
    const list = places[slot * W_STRIDE + W_LIST]!;
    const member = places[slot * W_STRIDE + W_MEMBER]!;
    const l = list * L_STRIDE;
    const count = lists[l + L_COUNT]! - 1;
    const last = lists[l + L_START]! + count;
    if (member !== last) {
      const moved = members[last]!;
      members[member] = moved;
      places[moved * W_STRIDE + W_MEMBER] = member;
    }
    lists[l + L_COUNT] = count;
    if (count === 0) reblock(list, -1);
    else if (count * 8 <= lists[l + L_CAPACITY]!) reblock(list, lists[l + L_SIZE_CLASS]! - 1);
  };

  // ---- cells -------------------------------------------------------------------------------
  let cellCapacity = 1024;
  /** cells[cell * C_STRIDE + C_*]. */
  let cells = new Int32Array(cellCapacity * C_STRIDE);
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
      const c = (v - 1) * C_STRIDE;
      if (cells[c + C_ROW] === row && cells[c + C_COL] === col) return v - 1;
      b = (b + 1) & mask;
    }
  };

  const rebuildTable = (size: number) => {
    table = new Int32Array(size);
    mask = size - 1;
    for (let c = 0; c < cellCount; c++) {
      let b = bucketOf(cells[c * C_STRIDE + C_ROW]!, cells[c * C_STRIDE + C_COL]!);
      while (table[b] !== 0) b = (b + 1) & mask;
      table[b] = c + 1;
    }
  };

  /** Room for one more cell: drops empty cells if they are at least half, else doubles. */
  const makeCellRoom = () => {
    if (liveCells * 2 <= cellCount) {
      let w = 0;
      for (let c = 0; c < cellCount; c++) {
        const from = c * C_STRIDE;
        const cellLists = cells[from + C_LISTS]!;
        const first = cellLists >> LEVEL_BITS;
        const level = cellLists & LEVEL_MASK;
        if (cells[from + C_COUNT] === 0) {
          freeLists(first, level);
          continue;
        }
        cells.copyWithin(w * C_STRIDE, from, from + C_STRIDE);
        for (let list = first; list < first + (1 << (2 * level)); list++) {
          const start = lists[list * L_STRIDE + L_START]!;
          const end = start + lists[list * L_STRIDE + L_COUNT]!;
          for (let m = start; m < end; m++) places[members[m]! * W_STRIDE + W_CELL] = w;
        }
        w++;
      }
      cellCount = w;
      rebuildTable(table.length);
      return;
    }
    cellCapacity *= 2;
    const grown = new Int32Array(cellCapacity * C_STRIDE);
    grown.set(cells);
    cells = grown;
    rebuildTable(cellCapacity * 2);
  };

  const cellAt = (row: number, col: number): number => {
    const found = findCell(row, col);
    if (found !== -1) return found;
    if (cellCount === cellCapacity) makeCellRoom();
    const c = cellCount++;
    const at = c * C_STRIDE;
    cells[at + C_ROW] = row;
    cells[at + C_COL] = col;
    cells[at + C_LISTS] = allocateLists(0) << LEVEL_BITS;
    cells[at + C_COUNT] = 0;
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

  /**
   * Which of the 4^level lists of the cell at (row, col) a driver belongs in. The arithmetic is
   * `relist`'s own, so both always agree.
   */
  const subListOf = (slot: number, level: number, row: number, col: number): number => {
    const side = 1 << level;
    const p = slot * P_STRIDE;
    let y = (coords[p + P_LNG]! + 180) * colsPerDeg;
    if (y >= nCols) y -= nCols;
    let subRow = Math.floor((coords[p + P_LAT]! + 90) * rowsPerDeg * side) - row * side;
    if (subRow >= side) subRow = side - 1;
    return subRow * side + Math.floor(y * side) - col * side;
  };

  /** Re-splits or merges a cell to the level its driver count calls for, moving its drivers. */
  const resplit = (cell: number) => {
    const at = cell * C_STRIDE;
    const count = cells[at + C_COUNT]!;
    let level = 0;
    while (count > splitLimit[level]!) level++;
    const old = cells[at + C_LISTS]!;
    const oldLevel = old & LEVEL_MASK;
    if (level === oldLevel) return;
    const first = allocateLists(level);
    const row = cells[at + C_ROW]!;
    const col = cells[at + C_COL]!;
    const oldFirst = old >> LEVEL_BITS;
    const oldEnd = oldFirst + (1 << (2 * oldLevel));
    for (let list = oldFirst; list < oldEnd; list++) {
      const l = list * L_STRIDE;
      const start = lists[l + L_START]!;
      const end = start + lists[l + L_COUNT]!;
      for (let m = start; m < end; m++) {
        const slot = members[m]!;
        append(level === 0 ? first : first + subListOf(slot, level, row, col), slot);
      }
      lists[l + L_COUNT] = 0;
      reblock(list, -1);
    }
    freeLists(oldFirst, oldLevel);
    cells[at + C_LISTS] = (first << LEVEL_BITS) | level;
  };

  /** Counts a driver out of a cell (already out of its list), merging the cell if it emptied enough. */
  const leaveCell = (cell: number) => {
    const at = cell * C_STRIDE;
    const count = --cells[at + C_COUNT]!;
    if (count === 0) liveCells--;
    if (count < mergeLimit[cells[at + C_LISTS]! & LEVEL_MASK]!) resplit(cell);
  };

  /**
   * Lists a driver where its stored position belongs: its own list still (the common case: no
   * write), another list of its cell, or another cell (its cell is -1 when it arrives). Integers
   * in, the position read back from `coords`, so no caller boxes a float for it. Kept in one piece
   * on purpose: longer than V8 inlines (460 bytes of bytecode), it stays a call of its own, which
   * keeps `place` and `move` small enough to be inlined into their callers.
   */
  const relist = (slot: number): void => {
    const p = slot * P_STRIDE;
    const w = slot * W_STRIDE;
    const x = (coords[p + P_LAT]! + 90) * rowsPerDeg;
    let y = (coords[p + P_LNG]! + 180) * colsPerDeg;
    // 180° is -180°.
    if (y >= nCols) y -= nCols;
    let row = Math.floor(x);
    if (row >= nRows) row = nRows - 1;
    const col = Math.floor(y);
    const current = places[w + W_CELL]!;
    const stays =
      current !== -1 &&
      cells[current * C_STRIDE + C_ROW] === row &&
      cells[current * C_STRIDE + C_COL] === col;
    if (stays && (cells[current * C_STRIDE + C_LISTS]! & LEVEL_MASK) === 0) return;
    // May compact the cell table, renumbering the driver's current cell: read it again after.
    const cell = stays ? current : cellAt(row, col);
    const at = cell * C_STRIDE;
    const cellLists = cells[at + C_LISTS]!;
    const level = cellLists & LEVEL_MASK;
    let list = cellLists >> LEVEL_BITS;
    if (level !== 0) {
      const side = 1 << level;
      // As in subListOf: x * side is exact, so the sub-row always lies in the cell's row.
      let subRow = Math.floor(x * side) - row * side;
      if (subRow >= side) subRow = side - 1;
      list += subRow * side + Math.floor(y * side) - col * side;
    }
    if (stays && list === places[w + W_LIST]) return;
    if (current !== -1) detach(slot);
    append(list, slot);
    if (stays) return;
    const left = places[w + W_CELL]!;
    places[w + W_CELL] = cell;
    const count = ++cells[at + C_COUNT]!;
    if (count === 1) liveCells++;
    if (left !== -1) leaveCell(left);
    if (count > splitLimit[level]!) resplit(cell);
  };

  /**
   * Writes a valid report of a listed driver, then relists it; an older report than the one held
   * is ignored (returns false). Kept this small so that it is inlined into `move` and `upsert`, and
   * `move` into its caller: a float passed to a call that is not inlined is boxed, an allocation.
   */
  const place = (
    slot: number,
    lat: number,
    lng: number,
    heading: number,
    seenAtMs: number,
    code: number,
  ): boolean => {
    const p = slot * P_STRIDE;
    // Reports can arrive out of order over mobile networks: an older fix never overwrites a newer one.
    if (seenAtMs < coords[p + P_SEEN]!) return false;
    coords[p + P_LAT] = lat;
    coords[p + P_LNG] = lng;
    coords[p + P_SEEN] = seenAtMs;
    coords[p + P_HEADING] = heading;
    if (code !== -1) states[slot] = code;
    // Most reports stay in their cell, of an unsplit cell: settled here, without a call.
    const cell = places[slot * W_STRIDE + W_CELL]! * C_STRIDE;
    if (
      (cells[cell + C_LISTS]! & LEVEL_MASK) !== 0 ||
      cells[cell + C_ROW] !== Math.floor((lat + 90) * rowsPerDeg) ||
      cells[cell + C_COL] !== Math.floor((lng + 180) * colsPerDeg)
    ) {
      relist(slot);
    }
    return true;
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
  /** The sub-cells of the ring being searched inside a split cell: list and lower bound (squared). */
  let subRingList = new Int32Array(64);
  let subRingLow2 = new Float64Array(64);
  let subRingCount = 0;
  // The split cell being searched: its first list, side and first sub-row and sub-column.
  let subStart = 0;
  let subSide = 0;
  let subTop = 0;
  let subLeft = 0;
  let subRowDegrees = 0;
  let subColDegrees = 0;
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
  /** The query point in cells from the grid's origin: (lat + 90) · cellsPerDegreeLat, and for lng. */
  let qX = 0;
  let qY = 0;
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
    scratch.lat = coords[s * P_STRIDE + P_LAT]!;
    scratch.lng = coords[s * P_STRIDE + P_LNG]!;
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

  /** The fresh available drivers of one list, pruned by the bounds. */
  const scanList = (list: number): void => {
    const start = lists[list * L_STRIDE + L_START]!;
    const end = start + lists[list * L_STRIDE + L_COUNT]!;
    // First the newest report of the list's available drivers, in a loop without branches on the
    // records: the cache misses on all of them overlap there, where the loop below would wait for
    // them one by one, its branches depending on each (measured: 1.2× the queries at 1,000,000
    // drivers, where records miss the cache most). A busy driver's record is not read at all: its
    // state is a byte of the dense `states`, which stays cached. A list with no fresh available
    // driver is skipped whole.
    let newest = Number.NEGATIVE_INFINITY;
    for (let m = start; m < end; m++) {
      const s = members[m]!;
      newest = Math.max(newest, states[s] === AVAILABLE ? coords[s * P_STRIDE + P_SEEN]! : newest);
    }
    if (qNow - newest > qStaleAfter) return;
    for (let m = start; m < end; m++) {
      const s = members[m]!;
      if (states[s] !== AVAILABLE) continue;
      const p = s * P_STRIDE;
      if (qNow - coords[p + P_SEEN]! > qStaleAfter) continue;
      const dy = coords[p + P_LAT]! - qLat;
      let dx = coords[p + P_LNG]! - qLng;
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

  /**
   * A lower bound (squared) of the distance to any point of row `row` of the grid with
   * `perDeg` rows per degree (the cells', or a split cell's sub-cells').
   */
  const rowLow2 = (row: number, degreesPerRow: number): number => {
    const south = row * degreesPerRow - 90;
    const north = (row + 1) * degreesPerRow - 90;
    const gap = south > qLat ? south - qLat : qLat > north ? qLat - north : 0;
    const g = gap > EDGE_EPS ? gap - EDGE_EPS : 0;
    return qKLat * g * g;
  };

  /** The same for a column, numbered from -180° without wrapping, so it lies beside the query's. */
  const colLow2 = (col: number, degreesPerCol: number): number => {
    const west = col * degreesPerCol - 180;
    const east = (col + 1) * degreesPerCol - 180;
    const gap = west > qLng ? west - qLng : qLng > east ? qLng - east : 0;
    const g = gap > EDGE_EPS ? gap - EDGE_EPS : 0;
    return qKLng * g * g;
  };

  /** Adds sub-cell (r, c) of the split cell being searched to its ring, in order, unless it is beyond the threshold. */
  const addSubCell = (r: number, c: number): void => {
    const low = rowLow2(r, subRowDegrees) + colLow2(c, subColDegrees);
    if (low > qThr2) return;
    let i = subRingCount++;
    for (; i > 0 && subRingLow2[i - 1]! > low; i--) {
      subRingLow2[i] = subRingLow2[i - 1]!;
      subRingList[i] = subRingList[i - 1]!;
    }
    subRingLow2[i] = low;
    subRingList[i] = subStart + (r - subTop) * subSide + (c - subLeft);
  };

  /**
   * The sub-cells of a split cell, ring by ring from the one nearest the query, each skipped
   * when its nearest point is beyond the threshold; stops when the next ring is.
   */
  const scanSplitCell = (cellLists: number, row: number, unwrappedCol: number): void => {
    const level = cellLists & LEVEL_MASK;
    const start = cellLists >> LEVEL_BITS;
    const side = 1 << level;
    // Exact: side is a power of 2.
    subRowDegrees = rowDegrees / side;
    subColDegrees = colDegrees / side;
    // Sub-rows and sub-columns numbered over the whole globe, at this cell's resolution.
    const top = row * side;
    const bottom = top + side - 1;
    const left = unwrappedCol * side;
    const right = left + side - 1;
    // The sub-cell nearest the query: its own, or the nearest on the cell's edge.
    const r0 = Math.min(Math.max(Math.floor(qX * side), top), bottom);
    const c0 = Math.min(Math.max(Math.floor(qY * side), left), right);
    const rings = Math.max(r0 - top, bottom - r0, c0 - left, right - c0);
    subStart = start;
    subSide = side;
    subTop = top;
    subLeft = left;
    if (subRingList.length < 4 * side) {
      subRingList = new Int32Array(4 * side);
      subRingLow2 = new Float64Array(4 * side);
    }
    for (let k = 0; k <= rings; k++) {
      const rFrom = Math.max(r0 - k, top);
      const rTo = Math.min(r0 + k, bottom);
      const cFrom = Math.max(c0 - k, left);
      const cTo = Math.min(c0 + k, right);
      // The ring's sub-cells within the threshold, nearest first: as at the top level, the
      // nearest drivers found first tighten the threshold soonest.
      subRingCount = 0;
      for (let r = rFrom; r <= rTo; r++) {
        if (r === r0 - k || r === r0 + k) {
          for (let c = cFrom; c <= cTo; c++) addSubCell(r, c);
        } else {
          if (c0 - k >= left) addSubCell(r, c0 - k);
          if (c0 + k <= right) addSubCell(r, c0 + k);
        }
      }
      const count = subRingCount;
      for (let i = 0; i < count; i++) {
        if (subRingLow2[i]! <= qThr2) scanList(subRingList[i]!);
      }
      if (qCap === 0) continue;
      let gap2 = Number.POSITIVE_INFINITY;
      if (r0 - k > top) gap2 = rowLow2(r0 - k - 1, subRowDegrees);
      if (r0 + k < bottom) gap2 = Math.min(gap2, rowLow2(r0 + k + 1, subRowDegrees));
      if (c0 - k > left) gap2 = Math.min(gap2, colLow2(c0 - k - 1, subColDegrees));
      if (c0 + k < right) gap2 = Math.min(gap2, colLow2(c0 + k + 1, subColDegrees));
      if (gap2 > qThr2) break;
    }
  };

  const scanCell = (row: number, unwrappedCol: number): void => {
    const cell = findCell(row, wrapCol(unwrappedCol));
    if (cell === -1) return;
    const at = cell * C_STRIDE;
    if (cells[at + C_COUNT] === 0) return;
    const cellLists = cells[at + C_LISTS]!;
    if ((cellLists & LEVEL_MASK) === 0) scanList(cellLists >> LEVEL_BITS);
    else scanSplitCell(cellLists, row, unwrappedCol);
  };

  const addRingCell = (dr: number, dc: number): void => {
    if (ringCount === ringDr.length) growRing();
    ringDr[ringCount] = dr;
    ringDc[ringCount] = dc;
    ringLow2[ringCount] = rowLow2(qR0 + dr, rowDegrees) + colLow2(qC0 + dc, colDegrees);
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
        if (states[s] !== AVAILABLE) continue;
        if (nowMs - coords[s * P_STRIDE + P_SEEN]! > staleAfterMs) continue;
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

    qX = (pLat + 90) * rowsPerDeg;
    qY = (pLng + 180) * colsPerDeg;
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
      const cellsInRing = ringCount;
      if (cellsInRing <= SORTED_RING) {
        for (let i = 1; i < cellsInRing; i++) {
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
      for (let i = 0; i < cellsInRing; i++) {
        if (ringLow2[i]! > qThr2) continue;
        scanCell(qR0 + ringDr[i]!, qC0 + ringDc[i]!);
      }
      if (cap === 0) continue;
      // Nothing in the next ring can be closer than this.
      let gap2 = Number.POSITIVE_INFINITY;
      if (k < rowsNeeded) gap2 = Math.min(rowLow2(qR0 + k + 1, rowDegrees), rowLow2(qR0 - k - 1, rowDegrees));
      if (k < colsNeeded) {
        gap2 = Math.min(gap2, colLow2(qC0 + k + 1, colDegrees), colLow2(qC0 - k - 1, colDegrees));
      }
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
        rejectPosition(driverId, lat, lng, heading, seenAtMs);
      }
      const code = state ? stateCode(state) : -1;
      const known = slotById.get(driverId);
      if (known !== undefined) {
        place(known, lat, lng, heading === null ? Number.NaN : heading, seenAtMs, code);
        return;
      }
      let slot: number;
      if (freeHead !== -1) {
        slot = freeHead;
        freeHead = places[slot * W_STRIDE + W_NEXT_FREE]!;
        ids[slot] = driverId;
      } else {
        if (highWater === capacity) growSlots();
        slot = highWater++;
        ids.push(driverId);
      }
      slotById.set(driverId, slot);
      states[slot] = code === -1 ? AVAILABLE : code;
      const p = slot * P_STRIDE;
      coords[p + P_LAT] = lat;
      coords[p + P_LNG] = lng;
      coords[p + P_SEEN] = seenAtMs;
      coords[p + P_HEADING] = heading === null ? Number.NaN : heading;
      places[slot * W_STRIDE + W_LIST] = -1;
      places[slot * W_STRIDE + W_CELL] = -1;
      relist(slot);
    },

    /**
     * The driver's handle for `move`, or -1 when the driver is not in the index. A handle stays
     * the driver's until `remove(driverId)`; after that it may be given to another driver, so drop
     * it then (and take a new one with `handleOf` if the driver comes back).
     */
    handleOf(driverId: string): number {
      return slotById.get(driverId) ?? -1;
    },

    /**
     * `upsert` of a known driver's position, by handle: no id lookup, and no allocation when it is
     * inlined into its caller (V8 does so for a hot, monomorphic call with number arguments).
     * `heading` null for none. Returns false, changing nothing, for a report older than the one
     * held. Throws, changing nothing, on a corrupt position or a handle no driver holds.
     */
    move(handle: number, lat: number, lng: number, heading: number | null, seenAtMs: number): boolean {
      if (!(handle >= 0 && handle < highWater && (handle | 0) === handle) || states[handle] === FREE) {
        throw new Error(`Supply index: no driver holds handle ${handle}.`);
      }
      if (
        !(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180) ||
        !(seenAtMs - seenAtMs === 0) ||
        (heading !== null && !(heading - heading === 0))
      ) {
        rejectPosition(ids[handle]!, lat, lng, heading, seenAtMs);
      }
      return place(handle, lat, lng, heading === null ? Number.NaN : heading, seenAtMs, -1);
    },

    setState(driverId: string, state: SupplyState): void {
      const slot = slotById.get(driverId);
      if (slot !== undefined) states[slot] = stateCode(state);
    },

    remove(driverId: string): void {
      const slot = slotById.get(driverId);
      if (slot === undefined) return;
      detach(slot);
      leaveCell(places[slot * W_STRIDE + W_CELL]!);
      slotById.delete(driverId);
      states[slot] = FREE;
      ids[slot] = '';
      places[slot * W_STRIDE + W_NEXT_FREE] = freeHead;
      freeHead = slot;
    },

    has(driverId: string): boolean {
      return slotById.has(driverId);
    },

    /** A copy of what the index holds for the driver. */
    get(driverId: string): DriverSnapshot | undefined {
      const slot = slotById.get(driverId);
      if (slot === undefined) return undefined;
      const p = slot * P_STRIDE;
      const heading = coords[p + P_HEADING]!;
      return {
        lat: coords[p + P_LAT]!,
        lng: coords[p + P_LNG]!,
        heading: Number.isNaN(heading) ? null : heading,
        seenAtMs: coords[p + P_SEEN]!,
        state: STATES[states[slot]!]!,
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

    /**
     * How many available, fresh drivers are inside each area (edges included), in the order given;
     * a driver inside two overlapping areas counts in both. One pass over every driver, reading
     * the state byte first: cheap enough for a metrics scrape, not meant for the hot path.
     */
    countAvailableWithin(query: AreasQuery): number[] {
      const { areas, nowMs, staleAfterMs } = query;
      const counts = new Array<number>(areas.length).fill(0);
      if (areas.length === 0) return counts;
      const point = { lat: 0, lng: 0 };
      for (let s = 0; s < highWater; s++) {
        if (states[s] !== AVAILABLE) continue;
        const p = s * P_STRIDE;
        if (nowMs - coords[p + P_SEEN]! > staleAfterMs) continue;
        point.lat = coords[p + P_LAT]!;
        point.lng = coords[p + P_LNG]!;
        for (let a = 0; a < areas.length; a++) if (isInside(areas[a]!, point)) counts[a]!++;
      }
      return counts;
    },

    get size(): number {
      return slotById.size;
    },
  };
};

export type SupplyIndex = ReturnType<typeof createSupplyIndex>;
