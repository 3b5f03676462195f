/**
 * Batch assignment of ride requests to drivers, for the moments when requests outnumber free
 * drivers (every strike peak). Requests collected over a short window (about 1.5 s) are assigned
 * all at once, on a sparse candidate graph: each request lists up to K candidate drivers with an
 * estimated pickup time, and a driver may appear in many lists.
 *
 * Objective, lexicographic:
 *
 * 1. **Match as many requests as possible**: a maximum-cardinality matching of the candidate graph
 *    (each request gets at most one driver, each driver at most one request, only along candidate
 *    edges). The solver never leaves a request unmatched that it could serve, not even to save
 *    pickup time.
 * 2. Among maximum matchings, **minimise the priced pickup time**
 *    `Σ over matched requests r of (pickupSeconds(r, driver(r)) − ageWeight × ageSeconds(r))`.
 *    Each matched request earns a credit of `ageWeight` seconds of pickup per second it has
 *    waited. The credits matter only when there are more requests than can be served (every
 *    maximum matching serves the same number): they decide *which* requests are served, trading
 *    pickup time against waiting time at a documented rate. With `ageWeight = 0` the objective is
 *    exactly the minimum total pickup time among maximum matchings.
 *
 * Costs are rounded to whole milliseconds (pickup and credit separately) before solving, so every
 * sum is an exact integer in float64 and the result is exactly optimal for the rounded costs
 * (within 1 ms per matched request of the optimum of the unrounded ones).
 *
 * Unmatched requests are reported as unmatched (`driverOf[r] = -1`) and nothing else: the caller
 * carries them over to the next batch, where they are older and so weigh more, until their search
 * window ends and they expire.
 *
 * Fairness, what the objective guarantees (each checked by the property tests):
 * - if request `u` is left unmatched, every candidate driver `d` of `u` is taken, by a request
 *   `s` with `ageWeight × (age(u) − age(s)) ≤ pickup(u, d) − pickup(s, d)`: `u` loses a driver
 *   to a younger request only if that request is closer to the driver by at least `ageWeight` ×
 *   their age difference. A request older than its rivals by more than `maxPickup / ageWeight`
 *   (the match radius bounds pickups to a few minutes) therefore wins every driver it could be
 *   given from them;
 * - raising the age of a matched request never unmatches it;
 * - in the limit where age gaps outweigh every pickup difference, the served set is exactly the
 *   oldest-first one (first come, first served, wherever a driver can be found for it).
 *
 * Algorithm: successive shortest augmenting paths (the Hungarian method in its
 * Jonker–Volgenant / Crouse form) with Dijkstra on reduced costs, dual potentials and an indexed
 * binary heap, over a compressed sparse row (CSR) copy of the graph in typed arrays. The smaller
 * side is taken as the rows, one search per row; each search stops at the first free node of the
 * larger side it reaches, which is quick while that side has many free nodes (demand at twice the
 * supply: one search per driver, ending at a nearby unserved request). Each row also has a private
 * "stay unmatched" option whose cost exceeds any difference in cost between two matchings of the
 * same size, which makes the result a maximum matching. Exact, not a heuristic; deterministic for
 * the same input; O(rows × E log V) in the worst case (balanced sides, where the last searches
 * are long), near-linear in practice when one side is scarce. Pure computation: no I/O.
 */

/**
 * The candidate graph in CSR layout: the candidates of request `r` are the entries
 * `offsets[r] .. offsets[r + 1] - 1` of `drivers` and `pickupSeconds`. Requests are numbered
 * `0 .. requestCount - 1`, drivers `0 .. driverCount - 1`. A driver listed twice for one request
 * counts once, with its smaller pickup time.
 */
export interface CandidateGraph {
  requestCount: number;
  driverCount: number;
  /** `requestCount + 1` non-decreasing offsets, starting at 0 and ending at the edge count. */
  offsets: ArrayLike<number>;
  /** Driver index of each edge. */
  drivers: ArrayLike<number>;
  /** Estimated pickup time of each edge, in seconds (finite, ≥ 0). */
  pickupSeconds: ArrayLike<number>;
  /** How long each request has waited, in seconds (finite, ≥ 0); `requestCount` entries. */
  ageSeconds: ArrayLike<number>;
}

export interface AssignmentOptions {
  /**
   * Seconds of pickup time that one second of waiting is worth (finite, ≥ 0). Default
   * {@link DEFAULT_AGE_WEIGHT}. 0 ignores age and minimises pickup time alone.
   */
  ageWeight?: number;
}

export interface Assignment {
  /** For each request, the driver assigned to it, or -1 when it is left unmatched. */
  driverOf: Int32Array;
  /** For each driver, the request assigned to it, or -1. */
  requestOf: Int32Array;
  /** Number of matched requests. */
  matched: number;
  /** Sum of the pickup times of the chosen edges, in seconds (as given, not rounded). */
  totalPickupSeconds: number;
}

/** One request as the dispatcher sees it, before it is turned into a {@link CandidateGraph}. */
export interface RequestCandidates {
  ageSeconds: number;
  candidates: readonly { driverId: string; pickupSeconds: number }[];
}

/**
 * Seconds of pickup time one second of waiting is worth, by default: a request that has waited a
 * minute longer than a rival for the same driver gets that driver unless the rival is at least two
 * minutes closer to it. Pickups within the match radius last a few minutes (P at most), so a
 * request that has waited P / 2 longer than its rivals wins any of its candidates from them.
 */
export const DEFAULT_AGE_WEIGHT = 2;

/** Largest integer cost handled exactly (float64 integers are exact below 2^53; headroom kept). */
const MAX_EXACT = 2 ** 50;

const fail = (message: string): never => {
  throw new RangeError(`Batch assignment: ${message}`);
};

const checkCount = (name: string, value: number) => {
  if (!Number.isInteger(value) || value < 0 || value > 0x3fffffff) {
    fail(`${name} must be a non-negative integer, got ${value}.`);
  }
};

/**
 * Working memory reused from one call to the next: a fresh large typed array costs page faults and
 * garbage-collection work on every batch, in the process that also serves the dispatch loop.
 * Grow-only, one buffer per slot; a call gets views of the length it needs and initialises what it
 * reads. Safe because every call is synchronous and nothing it returns points into these buffers.
 */
const I32 = {
  offsets: 0,
  drivers: 1,
  stamp: 2,
  slotOf: 3,
  degree: 4,
  rowOffsets: 5,
  fill: 6,
  cols: 7,
  colOfRow: 8,
  rowOfCol: 9,
  via: 10,
  reached: 11,
  done: 12,
  scannedRows: 13,
  doneCols: 14,
  heap: 15,
  heapPosition: 16,
} as const;
const F64 = { pickup: 0, credit: 1, requestCost: 2, cost: 3, u: 4, v: 5, dist: 6, rowDist: 7 } as const;
const int32Pool: Int32Array[] = [];
const float64Pool: Float64Array[] = [];

const int32 = (slot: number, length: number): Int32Array => {
  let buffer = int32Pool[slot];
  if (buffer === undefined || buffer.length < length) {
    buffer = new Int32Array(Math.max(length, 2 * (buffer?.length ?? 0), 64));
    int32Pool[slot] = buffer;
  }
  return buffer.subarray(0, length);
};

const float64 = (slot: number, length: number): Float64Array => {
  let buffer = float64Pool[slot];
  if (buffer === undefined || buffer.length < length) {
    buffer = new Float64Array(Math.max(length, 2 * (buffer?.length ?? 0), 64));
    float64Pool[slot] = buffer;
  }
  return buffer.subarray(0, length);
};

/** Validated, de-duplicated request-side CSR (views of the working memory). */
interface Prepared {
  requestCount: number;
  driverCount: number;
  offsets: Int32Array;
  drivers: Int32Array;
  /** Pickup of each kept edge, seconds as given (the smallest, for a duplicated edge). */
  pickup: Float64Array;
}

// The messages are built out of line: a template literal inside the hot validation loops keeps V8
// from optimising them well (several times slower).
const badAge = (graph: CandidateGraph, r: number) =>
  fail(`ageSeconds[${r}] must be finite and ≥ 0, got ${graph.ageSeconds[r]}.`);

const badEdge = (graph: CandidateGraph, r: number, e: number) =>
  fail(
    `edge ${e} of request ${r}: driver ${graph.drivers[e]} must be an integer in 0..${graph.driverCount - 1}` +
      ` and pickup ${graph.pickupSeconds[e]} s finite and ≥ 0.`,
  );

const prepare = (graph: CandidateGraph): Prepared => {
  const { requestCount, driverCount, offsets, drivers, pickupSeconds, ageSeconds } = graph;
  checkCount('requestCount', requestCount);
  checkCount('driverCount', driverCount);
  if (offsets.length !== requestCount + 1) {
    fail(`offsets must have requestCount + 1 = ${requestCount + 1} entries, got ${offsets.length}.`);
  }
  if (ageSeconds.length !== requestCount) {
    fail(`ageSeconds must have requestCount = ${requestCount} entries, got ${ageSeconds.length}.`);
  }
  const edgeCount = offsets[requestCount]!;
  if (offsets[0] !== 0 || !Number.isInteger(edgeCount) || edgeCount > drivers.length) {
    fail('offsets must start at 0 and end within the edge arrays.');
  }
  if (drivers.length !== pickupSeconds.length) {
    fail('drivers and pickupSeconds must have the same length.');
  }
  for (let r = 0; r < requestCount; r++) {
    const age = ageSeconds[r]!;
    if (!(age >= 0 && age <= Number.MAX_VALUE)) badAge(graph, r);
  }
  const outOffsets = int32(I32.offsets, requestCount + 1);
  outOffsets[0] = 0;
  const outDrivers = int32(I32.drivers, edgeCount);
  const pickup = float64(F64.pickup, edgeCount);
  // slotOf[d] is where driver d sits in the current request's kept list; stamp marks validity.
  const stamp = int32(I32.stamp, driverCount).fill(-1);
  const slotOf = int32(I32.slotOf, driverCount);
  let kept = 0;
  for (let r = 0; r < requestCount; r++) {
    const from = offsets[r]!;
    const to = offsets[r + 1]!;
    if (!Number.isInteger(to) || to < from) fail('offsets must be non-decreasing integers.');
    for (let e = from; e < to; e++) {
      const d = drivers[e]!;
      const p = pickupSeconds[e]!;
      if (!((d | 0) === d && d >= 0 && d < driverCount && p >= 0 && p <= Number.MAX_VALUE)) {
        badEdge(graph, r, e);
      }
      if (stamp[d] === r) {
        const slot = slotOf[d]!;
        if (p < pickup[slot]!) pickup[slot] = p;
        continue;
      }
      stamp[d] = r;
      slotOf[d] = kept;
      outDrivers[kept] = d;
      pickup[kept] = p;
      kept++;
    }
    outOffsets[r + 1] = kept;
  }
  return {
    requestCount,
    driverCount,
    offsets: outOffsets,
    drivers: outDrivers.subarray(0, kept),
    pickup: pickup.subarray(0, kept),
  };
};

const ageWeightOf = (options: AssignmentOptions | undefined): number => {
  const weight = options?.ageWeight ?? DEFAULT_AGE_WEIGHT;
  if (!Number.isFinite(weight) || weight < 0) fail(`ageWeight must be finite and ≥ 0, got ${weight}.`);
  return weight;
};

const emptyAssignment = (requestCount: number, driverCount: number): Assignment => ({
  driverOf: new Int32Array(requestCount).fill(-1),
  requestOf: new Int32Array(driverCount).fill(-1),
  matched: 0,
  totalPickupSeconds: 0,
});

/**
 * An indexed binary min-heap of nodes keyed by `key[node]`, with decrease-key. Ties are broken by
 * node index, so the order of pops depends only on the keys: the solver stays deterministic.
 */
class IndexedHeap {
  size = 0;
  constructor(
    readonly key: Float64Array,
    readonly heap: Int32Array,
    /** Position of each node in `heap`, or -1; all -1 to start with. */
    readonly position: Int32Array,
  ) {}
  private less(a: number, b: number): boolean {
    const ka = this.key[a]!;
    const kb = this.key[b]!;
    return ka < kb || (ka === kb && a < b);
  }
  clear(): void {
    for (let i = 0; i < this.size; i++) this.position[this.heap[i]!] = -1;
    this.size = 0;
  }
  /** Inserts `node`, or moves it up after its key decreased. */
  upsert(node: number): void {
    const heap = this.heap;
    const position = this.position;
    let i = position[node]!;
    if (i === -1) i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!this.less(node, p)) break;
      heap[i] = p;
      position[p] = i;
      i = parent;
    }
    heap[i] = node;
    position[node] = i;
  }
  /** Removes and returns the node with the smallest key. */
  pop(): number {
    const heap = this.heap;
    const position = this.position;
    const top = heap[0]!;
    position[top] = -1;
    const last = --this.size;
    if (last === 0) return top;
    const node = heap[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      const right = child + 1;
      if (right < last && this.less(heap[right]!, heap[child]!)) child = right;
      if (!this.less(heap[child]!, node)) break;
      heap[i] = heap[child]!;
      position[heap[i]!] = i;
      i = child;
    }
    heap[i] = node;
    position[node] = i;
    return top;
  }
}

/**
 * Min-cost assignment of every row to one of its columns or to its private "unmatched" option of
 * cost `unmatchedCost`, by successive shortest augmenting paths with potentials. Costs are
 * non-negative integers (exact in float64). Returns colOfRow (-1: unmatched), a view of the
 * working memory: read it before the next call.
 */
const shortestAugmentingPaths = (
  rowCount: number,
  colCount: number,
  rowOffsets: Int32Array,
  edgeCols: Int32Array,
  edgeCost: Float64Array,
  unmatchedCost: number,
): Int32Array => {
  const u = float64(F64.u, rowCount).fill(0);
  const v = float64(F64.v, colCount).fill(0);
  const colOfRow = int32(I32.colOfRow, rowCount).fill(-1);
  const rowOfCol = int32(I32.rowOfCol, colCount).fill(-1);
  const dist = float64(F64.dist, colCount);
  const via = int32(I32.via, colCount);
  // Per-search marks (the search is named by its root row): reached[j] === root means dist[j] is
  // set in this search; done[j] === root, that it is final.
  const reached = int32(I32.reached, colCount).fill(-1);
  const done = int32(I32.done, colCount).fill(-1);
  const rowDist = float64(F64.rowDist, rowCount);
  const scannedRows = int32(I32.scannedRows, rowCount);
  const doneCols = int32(I32.doneCols, colCount);
  const heap = new IndexedHeap(dist, int32(I32.heap, colCount), int32(I32.heapPosition, colCount).fill(-1));

  for (let root = 0; root < rowCount; root++) {
    if (rowOffsets[root] === rowOffsets[root + 1]) continue;
    heap.clear();
    let scannedCount = 0;
    let doneCount = 0;
    // Best "leave this row unmatched" option met so far: the row and the path length.
    let bestIdle = unmatchedCost - u[root]!;
    let idleRow = root;
    let row = root;
    let rowD = 0;
    let sink = -1;
    let minVal = 0;
    for (;;) {
      scannedRows[scannedCount++] = row;
      rowDist[row] = rowD;
      const base = rowD - u[row]!;
      const idle = base + unmatchedCost;
      if (idle < bestIdle) {
        bestIdle = idle;
        idleRow = row;
      }
      for (let e = rowOffsets[row]!, end = rowOffsets[row + 1]!; e < end; e++) {
        const j = edgeCols[e]!;
        if (done[j] === root) continue;
        const d = base + edgeCost[e]! - v[j]!;
        if (reached[j] !== root || d < dist[j]!) {
          reached[j] = root;
          dist[j] = d;
          via[j] = row;
          heap.upsert(j);
        }
      }
      // Next final column, unless leaving a row unmatched is cheaper than anything left.
      if (heap.size === 0 || dist[heap.heap[0]!]! > bestIdle) {
        minVal = bestIdle;
        break;
      }
      const j = heap.pop();
      done[j] = root;
      doneCols[doneCount++] = j;
      const next = rowOfCol[j]!;
      if (next === -1) {
        sink = j;
        minVal = dist[j]!;
        break;
      }
      row = next;
      rowD = dist[j]!;
    }
    // Dual update: keeps every reduced cost ≥ 0 and makes the new path tight.
    for (let k = 0; k < scannedCount; k++) {
      const r = scannedRows[k]!;
      u[r] = u[r]! + minVal - rowDist[r]!;
    }
    for (let k = 0; k < doneCount; k++) {
      const c = doneCols[k]!;
      v[c] = v[c]! - (minVal - dist[c]!);
    }
    // Augment: along the path back to the root, each row takes the column that led to the next.
    let j: number;
    if (sink === -1) {
      if (idleRow === root) continue;
      j = colOfRow[idleRow]!;
      colOfRow[idleRow] = -1;
    } else {
      j = sink;
    }
    for (;;) {
      const r = via[j]!;
      rowOfCol[j] = r;
      const previous = colOfRow[r]!;
      colOfRow[r] = j;
      if (r === root) break;
      j = previous;
    }
  }
  return colOfRow;
};

/**
 * The batch assignment: a maximum matching of minimum priced pickup time (see the module comment
 * for the exact objective). Deterministic; throws a RangeError on malformed input.
 */
export const solveAssignment = (graph: CandidateGraph, options?: AssignmentOptions): Assignment => {
  const ageWeight = ageWeightOf(options);
  const g = prepare(graph);
  const { requestCount, driverCount, offsets, drivers, pickup } = g;
  const edgeCount = drivers.length;
  const result = emptyAssignment(requestCount, driverCount);
  if (edgeCount === 0) return result;

  // Credit of each request in whole milliseconds; the edge cost is pickup − credit, shifted by the
  // largest credit so that every cost is ≥ 0 (the shift is the same for every matched edge, and
  // every matching of maximum size has the same number of edges).
  const credit = float64(F64.credit, requestCount).fill(0);
  let maxCredit = 0;
  let activeRequests = 0;
  for (let r = 0; r < requestCount; r++) {
    if (offsets[r] === offsets[r + 1]) continue;
    activeRequests++;
    const c = Math.round(ageWeight * graph.ageSeconds[r]! * 1000);
    credit[r] = c;
    if (c > maxCredit) maxCredit = c;
  }
  const driverDegree = int32(I32.degree, driverCount).fill(0);
  for (let e = 0; e < edgeCount; e++) driverDegree[drivers[e]!]!++;
  let activeDrivers = 0;
  for (let d = 0; d < driverCount; d++) if (driverDegree[d]! > 0) activeDrivers++;

  const requestCost = float64(F64.requestCost, edgeCount);
  let maxCost = 0;
  for (let r = 0; r < requestCount; r++) {
    const shift = maxCredit - credit[r]!;
    for (let e = offsets[r]!, end = offsets[r + 1]!; e < end; e++) {
      const c = Math.round(pickup[e]! * 1000) + shift;
      requestCost[e] = c;
      if (c > maxCost) maxCost = c;
    }
  }
  // Leaving a row unmatched costs more than any difference in cost between two matchings of the
  // same size: so one more match always wins (rule 1 of the objective).
  const maxMatching = Math.min(activeRequests, activeDrivers);
  const unmatchedCost = maxMatching * maxCost + 1;
  if (!(unmatchedCost * 4 < MAX_EXACT)) {
    fail('costs too large to solve exactly (pickups, ages and ageWeight must be realistic).');
  }

  if (activeDrivers < activeRequests) {
    // Rows are drivers: transpose into driver-side CSR (requests in ascending order).
    const rowOffsets = int32(I32.rowOffsets, driverCount + 1);
    rowOffsets[0] = 0;
    for (let d = 0; d < driverCount; d++) rowOffsets[d + 1] = rowOffsets[d]! + driverDegree[d]!;
    const fill = int32(I32.fill, driverCount);
    fill.set(rowOffsets.subarray(0, driverCount));
    const cols = int32(I32.cols, edgeCount);
    const cost = float64(F64.cost, edgeCount);
    for (let r = 0; r < requestCount; r++) {
      for (let e = offsets[r]!, end = offsets[r + 1]!; e < end; e++) {
        const slot = fill[drivers[e]!]!++;
        cols[slot] = r;
        cost[slot] = requestCost[e]!;
      }
    }
    const requestOfDriver = shortestAugmentingPaths(
      driverCount,
      requestCount,
      rowOffsets,
      cols,
      cost,
      unmatchedCost,
    );
    for (let d = 0; d < driverCount; d++) {
      const r = requestOfDriver[d]!;
      if (r !== -1) {
        result.requestOf[d] = r;
        result.driverOf[r] = d;
      }
    }
  } else {
    const driverOfRequest = shortestAugmentingPaths(
      requestCount,
      driverCount,
      offsets,
      drivers,
      requestCost,
      unmatchedCost,
    );
    for (let r = 0; r < requestCount; r++) {
      const d = driverOfRequest[r]!;
      if (d !== -1) {
        result.driverOf[r] = d;
        result.requestOf[d] = r;
      }
    }
  }
  return finish(g, result);
};

/** Fills `matched` and `totalPickupSeconds` from `driverOf`, using the kept (de-duplicated) edges. */
const finish = (g: Prepared, result: Assignment): Assignment => {
  const { offsets, drivers, pickup } = g;
  const driverOf = result.driverOf;
  let matched = 0;
  let total = 0;
  for (let r = 0; r < g.requestCount; r++) {
    const d = driverOf[r]!;
    if (d === -1) continue;
    for (let e = offsets[r]!, end = offsets[r + 1]!; e < end; e++) {
      if (drivers[e] === d) {
        total += pickup[e]!;
        break;
      }
    }
    matched++;
  }
  result.matched = matched;
  result.totalPickupSeconds = total;
  return result;
};

/**
 * Arrival order: the request that has waited longest first (ties: lower index first). The order
 * first-come dispatch would have served them in.
 */
export const arrivalOrder = (graph: Pick<CandidateGraph, 'requestCount' | 'ageSeconds'>): Int32Array => {
  // A stable bottom-up merge sort by age, oldest first, of indices in ascending order (so ties keep
  // index order): several times faster than Array.prototype.sort with a comparator.
  const n = graph.requestCount;
  const age = graph.ageSeconds;
  let order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  let other = new Int32Array(n);
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) other[k++] = age[order[j]!]! > age[order[i]!]! ? order[j++]! : order[i++]!;
      while (i < mid) other[k++] = order[i++]!;
      while (j < hi) other[k++] = order[j++]!;
    }
    [order, other] = [other, order];
  }
  return order;
};

/**
 * The baseline: first-come nearest-driver. Each request, in arrival order, takes its nearest
 * candidate that is still free (ties: lower driver index), or stays unmatched. Same validation
 * and de-duplication as {@link solveAssignment}.
 */
export const greedyNearestFirst = (graph: CandidateGraph): Assignment => {
  const g = prepare(graph);
  const { offsets, drivers, pickup } = g;
  const result = emptyAssignment(g.requestCount, g.driverCount);
  const { driverOf, requestOf } = result;
  const order = arrivalOrder(graph);
  for (let k = 0; k < order.length; k++) {
    const r = order[k]!;
    let best = -1;
    let bestPickup = Number.POSITIVE_INFINITY;
    for (let e = offsets[r]!, end = offsets[r + 1]!; e < end; e++) {
      const d = drivers[e]!;
      if (requestOf[d] !== -1) continue;
      const p = pickup[e]!;
      if (p < bestPickup || (p === bestPickup && d < best)) {
        best = d;
        bestPickup = p;
      }
    }
    if (best !== -1) {
      driverOf[r] = best;
      requestOf[best] = r;
    }
  }
  return finish(g, result);
};

/**
 * Builds a {@link CandidateGraph} from the dispatcher's view (driver ids as strings). Drivers are
 * numbered in order of first appearance; `driverIds[d]` maps a driver index back to its id.
 */
export const buildCandidateGraph = (
  requests: readonly RequestCandidates[],
): CandidateGraph & { driverIds: string[] } => {
  const indexOf = new Map<string, number>();
  const driverIds: string[] = [];
  let edgeCount = 0;
  for (const request of requests) edgeCount += request.candidates.length;
  const offsets = new Int32Array(requests.length + 1);
  const drivers = new Int32Array(edgeCount);
  const pickupSeconds = new Float64Array(edgeCount);
  const ageSeconds = new Float64Array(requests.length);
  let e = 0;
  requests.forEach((request, r) => {
    ageSeconds[r] = request.ageSeconds;
    for (const candidate of request.candidates) {
      let d = indexOf.get(candidate.driverId);
      if (d === undefined) {
        d = driverIds.length;
        indexOf.set(candidate.driverId, d);
        driverIds.push(candidate.driverId);
      }
      drivers[e] = d;
      pickupSeconds[e] = candidate.pickupSeconds;
      e++;
    }
    offsets[r + 1] = e;
  });
  return {
    requestCount: requests.length,
    driverCount: driverIds.length,
    offsets,
    drivers,
    pickupSeconds,
    ageSeconds,
    driverIds,
  };
};
