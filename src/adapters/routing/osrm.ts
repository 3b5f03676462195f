import { Pool } from 'undici';
import { isValidLatLng, type LatLng } from '../../domain/geo.js';
import {
  createTravelTable,
  type RoutingPort,
  roadSpeedKmh,
  speedBoundsKmh,
  type TravelRequest,
  type TravelTable,
} from '../../domain/routing.js';

/**
 * The routing port on an OSRM server's `table` service (osrm-routed, HTTP API v1):
 * `GET {url}/table/v1/driving/{lng,lat;…}?sources=…&destinations=…&annotations=duration,distance`.
 *
 * - Big tables are split so that no request holds more than `maxTableSize` coordinates (sources
 *   plus destinations; osrm-routed's `--max-table-size` defaults to 100) and run in parallel on
 *   one keep-alive connection pool.
 * - `null` cells (no route) come back as null. A coordinate OSRM cannot snap to a road
 *   (`NoSegment`, e.g. farther than `snapRadiusMeters` from any road) is unroutable: it is dropped
 *   and the rest asked again, for up to `maxUnsnappable` points per request; past that the request
 *   counts as failed (below). Invalid coordinates are never sent.
 * - OSRM's durations follow its profile's fixed road speeds: they know nothing of the time of
 *   day. With `timeOfDay: 'profile'` (the default) each duration is multiplied by the city's
 *   free-flow speed (the fastest hour of its profile) over its speed at `at`: unchanged at night,
 *   up to about twice as long in the rush hours (Paris 30/17, London 25/13). Distances are never
 *   scaled. `timeOfDay: 'ignore'` keeps OSRM's durations as they are.
 * - On a timeout, a network error, an HTTP or OSRM error or a malformed answer, a part of the table
 *   is answered by `fallback` (counted in `fallbacks` and told to `onFallback`, for metrics) or,
 *   with no fallback, the request fails with an `OsrmUnavailableError`.
 */

export type OsrmFailure = 'timeout' | 'network' | 'http-status' | 'osrm-error' | 'bad-response';

export interface OsrmFallbackEvent {
  reason: OsrmFailure;
  detail: string;
  /** Source × destination pairs answered by the fallback instead. */
  pairs: number;
}

export interface OsrmRoutingOptions {
  /** Base URL of osrm-routed, e.g. `http://osrm:5000` (a path prefix is kept). */
  url: string;
  /** Budget of one OSRM request, from sending to the last byte of the answer. */
  timeoutMs: number;
  /** Answers whatever OSRM could not; without one, OSRM failures are thrown. */
  fallback?: RoutingPort;
  onFallback?: (event: OsrmFallbackEvent) => void;
  /** The URL's profile segment; osrm-routed serves whatever profile its data was built with. */
  profile?: 'driving';
  /** Most coordinates per request; keep it at or below the server's `--max-table-size`. */
  maxTableSize?: number;
  /** Most points a NoSegment answer may knock out of one request before it counts as a failure. */
  maxUnsnappable?: number;
  /** Sent as `radiuses`: how far a point may be from a road and still snap to it. */
  snapRadiusMeters?: number;
  /** `profile`: scale durations by the city's time-of-day speed; `ignore`: OSRM's as they are. */
  timeOfDay?: 'profile' | 'ignore';
  /** Ask for distances too (false for old MLD servers, which answer `NotImplemented`). */
  distances?: boolean;
  /** Keep-alive connections to the server. */
  connections?: number;
}

export class OsrmUnavailableError extends Error {
  readonly reason: OsrmFailure;

  constructor(reason: OsrmFailure, detail: string, options?: { cause?: unknown }) {
    super(`OSRM table service unavailable (${reason}): ${detail}`, options);
    this.name = 'OsrmUnavailableError';
    this.reason = reason;
  }
}

export interface OsrmRouting extends RoutingPort {
  /** Parts of tables answered by the fallback since the start. */
  readonly fallbacks: number;
  close(): Promise<void>;
}

/** One request's worth of the table: indices into the caller's sources and destinations. */
interface Chunk {
  sources: number[];
  destinations: number[];
}

interface OsrmTableAnswer {
  code: string;
  message?: string;
  durations?: unknown;
  distances?: unknown;
}

const DEFAULT_MAX_TABLE_SIZE = 100;
const DEFAULT_MAX_UNSNAPPABLE = 3;
const MAX_ERROR_BODY_CHARS = 300;

/**
 * Splits S × D into blocks of s + d ≤ max coordinates, choosing the block shape that needs the
 * fewest requests (1 × 1000 destinations: 11 requests of 1 + 99, not 500 of 1 + 1).
 */
export const planChunks = (sources: number[], destinations: number[], maxTableSize: number): Chunk[] => {
  if (sources.length === 0 || destinations.length === 0) return [];
  let best = { perSources: 1, perDestinations: 1, requests: Number.POSITIVE_INFINITY };
  for (let perSources = 1; perSources < maxTableSize && perSources <= sources.length; perSources++) {
    const perDestinations = Math.min(destinations.length, maxTableSize - perSources);
    const requests =
      Math.ceil(sources.length / perSources) * Math.ceil(destinations.length / perDestinations);
    if (requests < best.requests) best = { perSources, perDestinations, requests };
  }
  const chunks: Chunk[] = [];
  for (let s = 0; s < sources.length; s += best.perSources) {
    for (let d = 0; d < destinations.length; d += best.perDestinations) {
      chunks.push({
        sources: sources.slice(s, s + best.perSources),
        destinations: destinations.slice(d, d + best.perDestinations),
      });
    }
  }
  return chunks;
};

// Six decimals is about 0.1 m: plenty, and it keeps 100-point URLs near 2 kB.
const coordinate = (point: LatLng): string => `${point.lng.toFixed(6)},${point.lat.toFixed(6)}`;

/** A matrix of `rows` arrays of `columns` numbers or nulls, as OSRM documents it. */
const isMatrix = (value: unknown, rows: number, columns: number): value is Array<Array<number | null>> =>
  Array.isArray(value) &&
  value.length === rows &&
  value.every(
    (row) =>
      Array.isArray(row) &&
      row.length === columns &&
      row.every((cell) => cell === null || (typeof cell === 'number' && Number.isFinite(cell))),
  );

const isTimeout = (error: unknown): boolean => {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  // Our own deadline is the only abort signal, so an abort is a timeout too.
  return (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'UND_ERR_ABORTED' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  );
};

/** A failure of one request, to be answered by the fallback or thrown. */
class ChunkFailure extends Error {
  constructor(
    readonly reason: OsrmFailure,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}

export const createOsrmRouting = (options: OsrmRoutingOptions): OsrmRouting => {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`OSRM url must be http(s), got ${options.url}`);
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  const profile = options.profile ?? 'driving';
  const maxTableSize = options.maxTableSize ?? DEFAULT_MAX_TABLE_SIZE;
  if (!(Number.isInteger(maxTableSize) && maxTableSize >= 2)) {
    throw new RangeError(`maxTableSize must be an integer >= 2, got ${maxTableSize}`);
  }
  const maxUnsnappable = options.maxUnsnappable ?? DEFAULT_MAX_UNSNAPPABLE;
  const annotations = options.distances === false ? 'duration' : 'duration,distance';
  const { timeoutMs } = options;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 8,
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  let fallbacks = 0;

  const pathFor = (points: readonly LatLng[], sourceCount: number): string => {
    const sources = points.slice(0, sourceCount).map((_, i) => i);
    const destinations = points.slice(sourceCount).map((_, i) => sourceCount + i);
    const query = [
      `sources=${sources.join(';')}`,
      `destinations=${destinations.join(';')}`,
      `annotations=${annotations}`,
    ];
    if (options.snapRadiusMeters !== undefined) {
      query.push(`radiuses=${points.map(() => options.snapRadiusMeters).join(';')}`);
    }
    return `${basePath}/table/v1/${profile}/${points.map(coordinate).join(';')}?${query.join('&')}`;
  };

  /** One GET; resolves to OSRM's answer whatever its code, rejects with a ChunkFailure. */
  const fetchTable = async (path: string): Promise<OsrmTableAnswer> => {
    let text: string;
    let statusCode: number;
    try {
      const response = await pool.request({
        method: 'GET',
        path,
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      statusCode = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      if (isTimeout(error)) {
        throw new ChunkFailure('timeout', `no answer within ${timeoutMs} ms from ${base.origin}`, {
          cause: error,
        });
      }
      throw new ChunkFailure('network', `${base.origin}: ${(error as Error).message}`, { cause: error });
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      const kind = statusCode === 200 ? 'bad-response' : 'http-status';
      throw new ChunkFailure(kind, `HTTP ${statusCode}, not JSON: ${text.slice(0, MAX_ERROR_BODY_CHARS)}`);
    }
    if (typeof (answer as OsrmTableAnswer | null)?.code !== 'string') {
      throw new ChunkFailure(
        statusCode === 200 ? 'bad-response' : 'http-status',
        `HTTP ${statusCode}, no code`,
      );
    }
    return answer as OsrmTableAnswer;
  };

  /**
   * Fills one chunk into the table from OSRM, dropping unsnappable points and asking again.
   * Throws a ChunkFailure when OSRM cannot answer it.
   */
  const answerChunk = async (
    request: TravelRequest,
    chunk: Chunk,
    durationScale: number,
    seconds: Float64Array,
    meters: Float64Array,
  ): Promise<void> => {
    let { sources, destinations } = chunk;
    const columns = request.destinations.length;
    let dropped = 0;
    while (sources.length > 0 && destinations.length > 0) {
      const points = [
        ...sources.map((s) => request.sources[s]!),
        ...destinations.map((d) => request.destinations[d]!),
      ];
      const answer = await fetchTable(pathFor(points, sources.length));
      if (answer.code === 'NoSegment') {
        // "Could not find a matching segment for coordinate 3": the first point that failed.
        const index = Number(/coordinate (\d+)/.exec(answer.message ?? '')?.[1] ?? Number.NaN);
        if (!(index >= 0 && index < points.length) || dropped >= maxUnsnappable) {
          throw new ChunkFailure('osrm-error', `NoSegment: ${answer.message ?? 'no message'}`);
        }
        dropped++;
        if (index < sources.length) sources = sources.filter((_, i) => i !== index);
        else destinations = destinations.filter((_, i) => i !== index - sources.length);
        continue;
      }
      if (answer.code !== 'Ok') {
        throw new ChunkFailure('osrm-error', `${answer.code}: ${answer.message ?? 'no message'}`);
      }
      const wantDistances = annotations !== 'duration';
      if (
        !isMatrix(answer.durations, sources.length, destinations.length) ||
        (wantDistances && !isMatrix(answer.distances, sources.length, destinations.length))
      ) {
        throw new ChunkFailure(
          'bad-response',
          `expected ${sources.length}×${destinations.length} durations${wantDistances ? ' and distances' : ''}`,
        );
      }
      const durations = answer.durations;
      const distances = wantDistances ? (answer.distances as Array<Array<number | null>>) : undefined;
      sources.forEach((s, i) => {
        destinations.forEach((d, j) => {
          const duration = durations[i]![j];
          const distance = distances?.[i]?.[j];
          seconds[s * columns + d] = duration == null ? Number.NaN : duration * durationScale;
          meters[s * columns + d] = duration == null || distance == null ? Number.NaN : distance;
        });
      });
      return;
    }
  };

  const answerFromFallback = async (
    request: TravelRequest,
    chunk: Chunk,
    failure: ChunkFailure,
    seconds: Float64Array,
    meters: Float64Array,
  ): Promise<void> => {
    const { fallback } = options;
    if (!fallback) throw new OsrmUnavailableError(failure.reason, failure.message, { cause: failure.cause });
    fallbacks++;
    options.onFallback?.({
      reason: failure.reason,
      detail: failure.message,
      pairs: chunk.sources.length * chunk.destinations.length,
    });
    const table: TravelTable = await fallback.table({
      model: request.model,
      at: request.at,
      sources: chunk.sources.map((s) => request.sources[s]!),
      destinations: chunk.destinations.map((d) => request.destinations[d]!),
    });
    const columns = request.destinations.length;
    chunk.sources.forEach((s, i) => {
      chunk.destinations.forEach((d, j) => {
        seconds[s * columns + d] = table.seconds(i, j) ?? Number.NaN;
        meters[s * columns + d] = table.meters(i, j) ?? Number.NaN;
      });
    });
  };

  const table = async (request: TravelRequest): Promise<TravelTable> => {
    const rows = request.sources.length;
    const columns = request.destinations.length;
    const seconds = new Float64Array(rows * columns).fill(Number.NaN);
    const meters = new Float64Array(rows * columns).fill(Number.NaN);
    const validIndices = (points: readonly LatLng[]) =>
      points.flatMap((point, i) => (isValidLatLng(point) ? [i] : []));
    const chunks = planChunks(
      validIndices(request.sources),
      validIndices(request.destinations),
      maxTableSize,
    );
    const durationScale =
      options.timeOfDay === 'ignore'
        ? 1
        : speedBoundsKmh(request.model).max / roadSpeedKmh(request.model, request.at);
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          await answerChunk(request, chunk, durationScale, seconds, meters);
        } catch (error) {
          if (!(error instanceof ChunkFailure)) throw error;
          await answerFromFallback(request, chunk, error, seconds, meters);
        }
      }),
    );
    return createTravelTable(rows, columns, seconds, meters);
  };

  return {
    table,
    get fallbacks() {
      return fallbacks;
    },
    close: () => pool.close(),
  };
};
