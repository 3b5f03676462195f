import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type AreaQuery,
  type AreasQuery,
  createSupplyIndex,
  type DriverPosition,
  type NearestQuery,
  type SupplyIndexOptions,
  type SupplyState,
} from '../../dispatch/supply-index.js';
import type { Logger } from '../../flows/dispatch.js';
import type { SupplyPort } from '../../flows/ports.js';
import { openRedisConnection, redisSpan } from './connection.js';

/**
 * Driver supply shared by every process: each keeps a full replica (a supply index) fed by one
 * Redis Stream, `${prefix}supply`.
 *
 * - Reads (`nearestAvailable`, `countAvailable`, `get`, `has`) are the local index's: synchronous,
 *   no round trip, as fast as the in-memory mode (GEOSEARCH would examine every point in the radius).
 * - Writes are validated and applied locally at once (a dispatcher's reservation is seen by its
 *   next decision), then published without waiting, by group commit: one
 *   `XADD key MINID ~ <now − retainMs> * o <origin> s <seq> d <writes as JSON>` in flight at a
 *   time, carrying every write made since the previous one. A failed publish is counted
 *   (`stats`), turns `healthy` false and is logged once per outage.
 * - A consumer loop on its own connection (`XREAD BLOCK … STREAMS key <last id>`) applies every
 *   other process's entries in stream order; its own are skipped (already applied).
 *
 * Convergence. Positions converge whatever the order: an older report never overwrites a newer
 * one. States and removals follow stream order, the same in every replica, except that a process
 * keeps its own not-yet-echoed write on top: another process's state write for a driver it has a
 * write in flight for is skipped, since its own lands later in the stream and wins everywhere. A
 * removed driver is remembered for `staleAfterMs`, so a position already in flight from a process
 * that had not seen the removal does not bring it back.
 *
 * The database is the truth for `offered` and `on_ride`: at start, every `reconcileEveryMs` and
 * after an outage, `loadStates` corrects what a lost write left wrong, and drops drivers it says
 * are offline. A driver whose state changed here in the last few seconds is left alone: its write
 * may be committing.
 *
 * Start: from the latest snapshot (one replica writes one every `snapshotEveryMs`) and the entries
 * after it; without a usable one, from the entries of the last `staleAfterMs` (older positions are
 * stale anyway). Then `loadStates` for the drivers found, then the stream is followed. Redis lost
 * while running: reads keep answering from the replica, writes fail (counted), the consumer resumes
 * from its last id once ioredis has reconnected and states are re-read from `loadStates`; entries
 * trimmed meanwhile are not replayed: positions heal with the next reports (seconds).
 */

/** A known driver's new position, with the writer's view of its state (used only by a replica that does not know the driver). */
const POSITION = 0;
/** A driver added, or refreshed with a state: position and state. */
const UPSERT = 1;
const STATE = 2;
const REMOVE = 3;
/** Values per record in an entry's flat JSON array: kind, driverId, lat, lng, heading, seenAtMs, state. */
const FIELDS = 7;

const STATES: readonly SupplyState[] = ['available', 'offered', 'on_ride'];
const AVAILABLE = 0;
const codeOf = (state: SupplyState): number => {
  const code = STATES.indexOf(state);
  if (code === -1) throw new Error(`Supply index: unknown driver state ${JSON.stringify(state)}.`);
  return code;
};

/** A driver whose state changed this recently is not corrected by a reconciliation (its write may be committing). */
const RECONCILE_GRACE_MS = 5_000;
/** Drivers per `loadStates` call. */
const RECONCILE_CHUNK = 5_000;
const REPLAY_PAGE = 1_000;
/** Drivers serialised per event-loop turn when writing a snapshot. */
const SNAPSHOT_CHUNK = 2_000;
const BLOCK_MS = 1_000;

type StreamEntry = [id: string, fields: string[]];

/** Stream ids are `<ms>-<seq>`; true when `a` is at or after `b`. */
const idAtOrAfter = (a: string, b: string): boolean => {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const msA = Number(a.slice(0, da));
  const msB = Number(b.slice(0, db));
  return msA !== msB ? msA > msB : Number(a.slice(da + 1)) >= Number(b.slice(db + 1));
};

const idMs = (id: string): number => Number(id.slice(0, id.indexOf('-')));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the replica reports what it does (metrics); it does not care who listens. */
export interface SupplyReplicaObserver {
  /**
   * After each batch of other processes' entries is applied: how many entries and writes, and how
   * long the oldest waited since Redis took it (replica lag).
   */
  applied(entries: number, records: number, lagMs: number): void;
}

export interface RedisSupplyOptions {
  redis: { url: string };
  /** Prepended to the stream key (config.redisPrefix). */
  prefix: string;
  /** Positions older than this drop out of matching (config.dispatch.driverStaleAfterMs): the replay window at start. */
  staleAfterMs: number;
  /**
   * What the database says each given driver is doing: every driver that is online, with its
   * state; a driver left out is offline and is dropped from the replica. Without it, states come
   * from the stream alone.
   */
  loadStates?: (driverIds: string[]) => Promise<Map<string, SupplyState>>;
  logger: Logger;
  indexOptions?: SupplyIndexOptions;
  observer?: SupplyReplicaObserver;
  /** How long entries stay in the stream (default 2 × staleAfterMs): the outage a replica rides out without a gap. */
  retainMs?: number;
  /** How often states are re-read with `loadStates` (default 30 s; 0: only at start and after a gap). */
  reconcileEveryMs?: number;
  /**
   * How often one replica (whichever takes the turn) writes a snapshot of its view, from which a
   * new replica starts instead of replaying the stream (default 3 s; 0: this one never does).
   */
  snapshotEveryMs?: number;
  /** Budget of each connection at start (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Most writes in one stream entry (default 1000). */
  maxBatch?: number;
  /** Most entries per XREAD (default 100). */
  readCount?: number;
}

export interface RedisSupplyStats {
  /** Writes of this process taken by Redis. */
  published: number;
  /** Writes of this process Redis did not take (applied here only). */
  publishFailures: number;
  /** Writes of other processes applied here. */
  applied: number;
  /** Stream entries or writes that could not be read, skipped. */
  corrupt: number;
  /** Times the consumer found entries it had not read already trimmed. */
  gaps: number;
  /** States corrected, or drivers dropped, by `loadStates`. */
  corrections: number;
  /** At start: drivers loaded from a snapshot, and writes replayed from the stream after it (or the window). */
  fromSnapshot: number;
  replayed: number;
  /** Snapshots this replica wrote. */
  snapshots: number;
}

export const createRedisSupply = (options: RedisSupplyOptions) => {
  const { logger, loadStates, staleAfterMs } = options;
  const key = `${options.prefix}supply`;
  if (!(staleAfterMs > 0))
    throw new Error(`Redis supply: staleAfterMs must be positive, got ${staleAfterMs}.`);
  // The window replayed at start must still be there.
  const retainMs = Math.max(options.retainMs ?? 2 * staleAfterMs, staleAfterMs);
  const reconcileEveryMs = options.reconcileEveryMs ?? 30_000;
  const snapshotEveryMs = options.snapshotEveryMs ?? 3_000;
  const snapshotKey = `${key}:snapshot`;
  const maxBatch = options.maxBatch ?? 1_000;
  const readCount = options.readCount ?? 100;
  /** This process in the stream: its entries are skipped by its own consumer. */
  const origin = randomBytes(6).toString('hex');

  const index = createSupplyIndex(options.indexOptions);
  /** Every driver the index holds (the index does not list them): what reconciliation asks about. */
  const known = new Set<string>();
  /** When each driver's state last changed here (local ms), for the reconciliation grace. */
  const stateChangedAt = new Map<string, number>();
  /** Recently removed drivers (local ms of removal). */
  const removedAt = new Map<string, number>();
  /** Per driver, the entry (by seq) carrying this process's latest state write not yet seen in the stream. */
  const pendingState = new Map<string, number>();
  /** Per entry in flight, the drivers it writes a state for. */
  const entryStates = new Map<number, string[]>();

  let writer: Redis | undefined;
  let reader: Redis | undefined;
  let clockOffsetMs = 0;
  const redisNow = () => Date.now() + clockOffsetMs;

  let started = false;
  let closing = false;
  let writerOk = true;
  let readerOk = true;
  const stats: RedisSupplyStats = {
    published: 0,
    publishFailures: 0,
    applied: 0,
    corrupt: 0,
    gaps: 0,
    corrections: 0,
    fromSnapshot: 0,
    replayed: 0,
    snapshots: 0,
  };

  // ---- publishing ----------------------------------------------------------------------------
  // Group commit: one XADD in flight at a time; the writes made meanwhile go out together in the
  // next entry. At a low rate each turn's writes leave at once; at a high one entries grow instead
  // of multiplying, so Redis and every replica handle a few large entries rather than many small.
  interface Batch {
    seq: number;
    records: unknown[];
    /** The drivers it writes a state for. */
    states: string[];
  }
  let nextSeq = 1;
  const newBatch = (): Batch => ({ seq: nextSeq++, records: [], states: [] });
  /** Where writes go now. */
  let filling = newBatch();
  /** Full batches waiting for their turn, oldest first. */
  const sealed: Batch[] = [];
  let sending: Promise<void> | undefined;
  let sendScheduled = false;

  const writerFailed = (error: unknown, count: number) => {
    stats.publishFailures += count;
    if (writerOk) {
      writerOk = false;
      logger.warn(
        { err: error },
        'redis supply: publishing failed; writes are applied here only until Redis is back',
      );
    }
  };

  /** The entry is in the stream and applied, or will never be: others' state writes apply again. */
  const forget = (entrySeq: number) => {
    const drivers = entryStates.get(entrySeq);
    if (!drivers) return;
    entryStates.delete(entrySeq);
    for (const driverId of drivers) {
      if (pendingState.get(driverId) === entrySeq) pendingState.delete(driverId);
    }
  };

  const seal = () => {
    if (filling.records.length === 0) return;
    sealed.push(filling);
    filling = newBatch();
  };

  const send = () => {
    sendScheduled = false;
    if (sending) return;
    seal();
    const batch = sealed.shift();
    if (!batch) return;
    const count = batch.records.length / FIELDS;
    if (batch.states.length > 0) entryStates.set(batch.seq, batch.states);
    if (!writer || closing) {
      writerFailed(new Error('the supply replica is closed'), count);
      forget(batch.seq);
      if (sealed.length > 0) send();
      return;
    }
    const minId = String(Math.max(0, Math.floor(redisNow() - retainMs)));
    const client = writer;
    // One entry carries the writes of many requests: its span starts a trace of its own.
    sending = redisSpan(
      'XADD',
      key,
      { 'peakride.supply.writes': count },
      () =>
        client.xadd(
          key,
          'MINID',
          '~',
          minId,
          '*',
          'o',
          origin,
          's',
          String(batch.seq),
          'd',
          JSON.stringify(batch.records),
        ),
      true,
    )
      .then(
        () => {
          stats.published += count;
          if (!writerOk) {
            writerOk = true;
            logger.info({ publishFailures: stats.publishFailures }, 'redis supply: publishing again');
          }
        },
        (error: unknown) => {
          writerFailed(error, count);
          forget(batch.seq);
        },
      )
      .finally(() => {
        sending = undefined;
        if (sealed.length > 0 || filling.records.length > 0) send();
      });
  };

  const publish = (
    kind: number,
    driverId: string,
    lat: number,
    lng: number,
    heading: number | null,
    seenAtMs: number,
    state: number,
  ) => {
    filling.records.push(kind, driverId, lat, lng, heading, seenAtMs, state);
    if (kind !== POSITION) {
      pendingState.set(driverId, filling.seq);
      filling.states.push(driverId);
    }
    if (filling.records.length >= maxBatch * FIELDS) seal();
    if (!sendScheduled && !sending) {
      sendScheduled = true;
      setImmediate(send);
    }
  };

  /** Until every write made so far is in Redis, or failed. */
  const drained = async () => {
    for (;;) {
      send();
      if (!sending) return;
      await sending;
    }
  };

  // ---- changes to the replica, local or from the stream ---------------------------------------
  const stateChanged = (driverId: string) => stateChangedAt.set(driverId, Date.now());

  const add = (driverId: string, position: DriverPosition, state: SupplyState) => {
    index.upsert(driverId, position, state);
    known.add(driverId);
    removedAt.delete(driverId);
    stateChanged(driverId);
  };

  const drop = (driverId: string) => {
    index.remove(driverId);
    known.delete(driverId);
    stateChangedAt.delete(driverId);
    removedAt.set(driverId, Date.now());
  };

  const recentlyRemoved = (driverId: string): boolean => {
    const at = removedAt.get(driverId);
    return at !== undefined && Date.now() - at <= staleAfterMs;
  };

  /** One write of another process. Throws on a corrupt one (the caller counts and skips it). */
  const applyRecord = (
    kind: unknown,
    driverId: unknown,
    lat: number,
    lng: number,
    heading: number | null,
    seenAtMs: number,
    state: unknown,
  ) => {
    if (typeof driverId !== 'string' || (state !== 0 && state !== 1 && state !== 2)) {
      throw new Error('a malformed supply write');
    }
    // A write of ours for this driver lands later in the stream and wins everywhere: only a
    // newer position can still count.
    const overridden = pendingState.has(driverId);
    const handle = index.handleOf(driverId);
    switch (kind) {
      case POSITION:
        if (handle !== -1) index.move(handle, lat, lng, heading, seenAtMs);
        // A replica that started while the driver was silent learns of it here.
        else if (!overridden && !recentlyRemoved(driverId)) {
          add(driverId, { lat, lng, heading, seenAtMs }, STATES[state]!);
        }
        return;
      case UPSERT:
        if (handle === -1) {
          if (!overridden) add(driverId, { lat, lng, heading, seenAtMs }, STATES[state]!);
          return;
        }
        index.move(handle, lat, lng, heading, seenAtMs);
        if (!overridden) {
          index.setState(driverId, STATES[state]!);
          stateChanged(driverId);
        }
        return;
      case STATE:
        if (handle !== -1 && !overridden) {
          index.setState(driverId, STATES[state]!);
          stateChanged(driverId);
        }
        return;
      case REMOVE:
        if (!overridden) drop(driverId);
        return;
      default:
        throw new Error('a supply write of an unknown kind');
    }
  };

  // ---- following the stream -------------------------------------------------------------------
  /** The last entry applied (or skipped as ours); the consumer reads after it. */
  let lastId = '0-0';
  /** False while `lastId` is where the replay started, not an entry read. */
  let lastIdRead = false;
  const waiters: Array<{ target: string; resolve: () => void }> = [];

  const wakeWaiters = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (idAtOrAfter(lastId, waiter.target)) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };

  /** Applies the writes of an entry (or of a snapshot); answers how many were applied. */
  const applyValues = (values: unknown): number => {
    if (!Array.isArray(values)) {
      stats.corrupt++;
      return 0;
    }
    let applied = 0;
    for (let i = 0; i + FIELDS <= values.length; i += FIELDS) {
      try {
        applyRecord(
          values[i],
          values[i + 1],
          values[i + 2],
          values[i + 3],
          values[i + 4],
          values[i + 5],
          values[i + 6],
        );
        applied++;
      } catch {
        stats.corrupt++;
      }
    }
    return applied;
  };

  const applyEntries = (entries: StreamEntry[]): number => {
    if (entries.length === 0) return 0;
    let applied = 0;
    lastIdRead = true;
    for (const [id, fields] of entries) {
      lastId = id;
      let from: string | undefined;
      let entrySeq: string | undefined;
      let data: string | undefined;
      for (let f = 0; f + 1 < fields.length; f += 2) {
        const name = fields[f];
        if (name === 'o') from = fields[f + 1];
        else if (name === 's') entrySeq = fields[f + 1];
        else if (name === 'd') data = fields[f + 1];
      }
      if (from === origin) {
        forget(Number(entrySeq));
        continue;
      }
      let values: unknown;
      try {
        values = JSON.parse(data ?? '');
      } catch {
        values = undefined;
      }
      applied += applyValues(values);
    }
    stats.applied += applied;
    if (applied > 0) {
      options.observer?.applied(entries.length, applied, redisNow() - idMs(entries[0]![0]));
    }
    wakeWaiters();
    return applied;
  };

  /** The id of the last entry ever added to the stream; undefined when there is no stream. */
  const lastGeneratedId = async (client: Redis): Promise<string | undefined> => {
    let info: unknown[];
    try {
      info = (await client.xinfo('STREAM', key)) as unknown[];
    } catch (error) {
      if (error instanceof Error && /no such key/i.test(error.message)) return undefined;
      throw error;
    }
    const at = info.indexOf('last-generated-id');
    const id = at === -1 ? undefined : info[at + 1];
    return typeof id === 'string' ? id : undefined;
  };

  /**
   * True when every entry after `id` is still in the stream. Trimming takes the oldest entries
   * first, so while entry `id` itself is there, everything after it is too.
   */
  const intactAfter = async (client: Redis, id: string, lastGenerated: string): Promise<boolean> =>
    lastGenerated === id || ((await client.xrange(key, id, id)) as StreamEntry[]).length > 0;

  /**
   * After an outage: could the consumer have lost entries? A stream that is gone, or restarted
   * behind `lastId` (Redis came back empty), is read from its start.
   */
  const lostEntries = async (client: Redis): Promise<boolean> => {
    const lastGenerated = await lastGeneratedId(client);
    if (lastGenerated === undefined || (lastIdRead && !idAtOrAfter(lastGenerated, lastId))) {
      lastId = '0-0';
      return lastIdRead;
    }
    return lastIdRead && !(await intactAfter(client, lastId, lastGenerated));
  };

  let following: Promise<void> = Promise.resolve();

  const follow = async (client: Redis) => {
    let failing = false;
    while (!closing) {
      try {
        if (failing) {
          if (await lostEntries(client)) {
            stats.gaps++;
            logger.warn(
              { lastId },
              'redis supply: entries this replica had not read may be lost (trimmed, or Redis restarted); re-reading states',
            );
          }
          failing = false;
          readerOk = true;
          logger.info({ lastId }, 'redis supply: following the stream again');
          // Writes made while Redis was away were applied only where they were made, and trimmed
          // ones were never seen here: what the replica applied before now may be out of date.
          reconcileSoon(Date.now());
        }
        const reply = (await client.xread(
          'COUNT',
          readCount,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          key,
          lastId,
        )) as Array<[string, StreamEntry[]]> | null;
        const entries = reply?.[0]?.[1];
        // The span covers applying what was read, not the blocking wait before it.
        if (entries) {
          await redisSpan(
            'XREAD',
            key,
            { 'peakride.supply.entries': entries.length },
            async () => applyEntries(entries),
            true,
          );
        }
      } catch (error) {
        if (closing) break;
        if (!failing) {
          readerOk = false;
          logger.warn(
            { err: error, lastId },
            'redis supply: reading the stream failed; answering from the replica',
          );
        }
        failing = true;
        await sleep(100);
        while (!closing && client.status !== 'ready') await sleep(100);
      }
    }
  };

  // ---- reconciliation with the database -----------------------------------------------------------
  let reconcileTimer: NodeJS.Timeout | undefined;
  let reconciling: Promise<void> | undefined;
  /** The floor of the reconciliation asked for while one was running, if any. */
  let reconcileNext: number | undefined;

  /**
   * Reads the state of every driver held from `loadStates` and corrects those that differ,
   * dropping those it says are offline. With `spare`, drivers whose state changed here since
   * `max(asked − graceMs, floorMs)` are left alone: their write may still be committing, or be
   * newer than what the database answered.
   */
  const reconcile = async (spare?: { graceMs: number; floorMs: number }) => {
    if (!loadStates) return;
    const drivers = [...known];
    let corrections = 0;
    for (let from = 0; from < drivers.length && !closing; from += RECONCILE_CHUNK) {
      const chunk = drivers.slice(from, from + RECONCILE_CHUNK);
      const since = spare ? Math.max(Date.now() - spare.graceMs, spare.floorMs) : Number.POSITIVE_INFINITY;
      const truth = await loadStates(chunk);
      for (const driverId of chunk) {
        if (!known.has(driverId) || pendingState.has(driverId)) continue;
        const changedAt = stateChangedAt.get(driverId);
        if (changedAt !== undefined && changedAt >= since) continue;
        const state = truth.get(driverId);
        if (state === undefined) {
          drop(driverId);
          corrections++;
        } else if (index.get(driverId)?.state !== state) {
          index.setState(driverId, state);
          stateChanged(driverId);
          corrections++;
        }
      }
    }
    stats.corrections += corrections;
    if (corrections > 0) logger.info({ corrections }, 'redis supply: states corrected from the database');
  };

  const sweepRemoved = () => {
    const cutoff = Date.now() - staleAfterMs;
    for (const [driverId, at] of removedAt) if (at < cutoff) removedAt.delete(driverId);
  };

  /**
   * Runs a reconciliation now, or right after the one running. `floorMs`: after an outage, the
   * time the replica recovered; what it applied before may have been overtaken by writes it missed.
   */
  const reconcileSoon = (floorMs = 0) => {
    if (closing || !loadStates) return;
    if (reconciling) {
      reconcileNext = Math.max(reconcileNext ?? 0, floorMs);
      return;
    }
    reconciling = reconcile({ graceMs: RECONCILE_GRACE_MS, floorMs })
      .catch((error) => logger.warn({ err: error }, 'redis supply: reading driver states failed'))
      .finally(() => {
        reconciling = undefined;
        if (reconcileNext !== undefined) {
          const next = reconcileNext;
          reconcileNext = undefined;
          reconcileSoon(next);
        }
      });
  };

  const assertStarted = () => {
    if (!started) throw new Error('Redis supply: call start() before writing.');
  };

  // ---- snapshots -------------------------------------------------------------------------------------
  // A fuzzy checkpoint: tagged with the last entry applied when it begins, it is serialised a chunk
  // per turn while entries keep being applied, so it may hold some later writes too. A replica
  // loading it replays every entry after its tag; those writes apply again in stream order
  // (positions keep the newest, states and removals end as the stream says), so the result is the
  // same as having followed the stream.
  let snapshotTimer: NodeJS.Timeout | undefined;
  let snapshotting: Promise<boolean> | undefined;

  const writeSnapshot = async (): Promise<boolean> => {
    const client = writer;
    if (!client || !started || closing || !readerOk || !lastIdRead) return false;
    const tag = lastId;
    const drivers = [...known];
    const parts: string[] = [];
    for (let from = 0; from < drivers.length; from += SNAPSHOT_CHUNK) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      const values: unknown[] = [];
      for (let i = from; i < Math.min(drivers.length, from + SNAPSHOT_CHUNK); i++) {
        const driverId = drivers[i]!;
        const held = index.get(driverId);
        if (held) {
          values.push(UPSERT, driverId, held.lat, held.lng, held.heading, held.seenAtMs, codeOf(held.state));
        }
      }
      if (values.length > 0) parts.push(JSON.stringify(values).slice(1, -1));
    }
    // Kept as long as its tail can be: past that it is useless.
    const body = `{"v":1,"id":${JSON.stringify(tag)},"values":[${parts.join(',')}]}`;
    await redisSpan('SET', snapshotKey, { 'peakride.supply.drivers': drivers.length }, () =>
      client.set(snapshotKey, body, 'PX', retainMs),
    );
    stats.snapshots++;
    return true;
  };

  /** Takes the turn (one replica per period) and writes a snapshot. */
  const snapshotTurn = () => {
    if (snapshotting || !writer) return;
    const client = writer;
    snapshotting = client
      .set(`${snapshotKey}:turn`, origin, 'PX', snapshotEveryMs, 'NX')
      .then((taken) => (taken === 'OK' ? writeSnapshot() : false))
      .catch((error) => {
        logger.warn({ err: error }, 'redis supply: writing a snapshot failed');
        return false;
      })
      .finally(() => {
        snapshotting = undefined;
      });
  };

  /** Loads the latest snapshot if the stream still holds every entry after it; answers its tag. */
  const loadSnapshot = async (client: Redis): Promise<string | undefined> => {
    const raw = await redisSpan('GET', snapshotKey, {}, () => client.get(snapshotKey));
    if (raw === null) return undefined;
    let snapshot: { v?: unknown; id?: unknown; values?: unknown };
    try {
      snapshot = JSON.parse(raw);
    } catch {
      stats.corrupt++;
      return undefined;
    }
    const { id, values } = snapshot;
    if (snapshot.v !== 1 || typeof id !== 'string' || !/^\d+-\d+$/.test(id) || !Array.isArray(values)) {
      stats.corrupt++;
      return undefined;
    }
    const lastGenerated = await lastGeneratedId(client);
    if (lastGenerated === undefined || !idAtOrAfter(lastGenerated, id)) return undefined;
    if (!(await intactAfter(client, id, lastGenerated))) return undefined;
    stats.fromSnapshot = applyValues(values);
    return id;
  };

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      clearInterval(reconcileTimer);
      clearInterval(snapshotTimer);
      await snapshotting;
      // What is pending goes out first, for up to 2 s; what is left then is counted as failed.
      if (started) await Promise.race([drained(), sleep(2000)]);
      closing = true;
      send();
      reader?.disconnect();
      await following;
      await reconciling;
      await writer?.quit().catch(() => writer?.disconnect());
      for (const waiter of waiters.splice(0)) waiter.resolve();
    })();
    return closed;
  };

  const port: SupplyPort = {
    upsert(driverId: string, position: DriverPosition, state?: SupplyState): void {
      assertStarted();
      const heading = position.heading ?? null;
      if (state === undefined) {
        const handle = index.handleOf(driverId);
        if (handle !== -1) {
          // The hot path: a known driver moves. An older report changes nothing, so is not sent.
          if (!index.move(handle, position.lat, position.lng, heading, position.seenAtMs)) return;
          const held = index.get(driverId)!;
          publish(POSITION, driverId, held.lat, held.lng, heading, held.seenAtMs, codeOf(held.state));
          return;
        }
      }
      const before = index.get(driverId);
      // Validates first: a corrupt position throws here and nothing is written anywhere.
      index.upsert(driverId, position, state);
      if (before && position.seenAtMs < before.seenAtMs) return;
      known.add(driverId);
      removedAt.delete(driverId);
      stateChanged(driverId);
      const code = state === undefined ? AVAILABLE : codeOf(state);
      publish(UPSERT, driverId, position.lat, position.lng, heading, position.seenAtMs, code);
    },

    setState(driverId: string, state: SupplyState): void {
      assertStarted();
      if (!index.has(driverId)) return;
      index.setState(driverId, state);
      stateChanged(driverId);
      publish(STATE, driverId, 0, 0, null, 0, codeOf(state));
    },

    remove(driverId: string): void {
      assertStarted();
      drop(driverId);
      // Sent even when unknown here: another replica may hold the driver.
      publish(REMOVE, driverId, 0, 0, null, 0, 0);
    },

    has: (driverId: string) => index.has(driverId),
    get: (driverId: string) => index.get(driverId),
    nearestAvailable: (query: NearestQuery) => index.nearestAvailable(query),
    countAvailable: (query: AreaQuery) => index.countAvailable(query),
    countAvailableWithin: (query: AreasQuery) => index.countAvailableWithin(query),
  };

  return {
    ...port,

    get size(): number {
      return index.size;
    },

    /** This process's id in the stream (also in its connection names, `${prefix}supply-<role>-<origin>`). */
    origin,

    /** False while publishing or reading fails, before `start()` resolves and after `close()`. */
    get healthy(): boolean {
      return started && !closing && writerOk && readerOk;
    },

    get stats(): Readonly<RedisSupplyStats> {
      return { ...stats };
    },

    /**
     * Connects, loads the latest snapshot and the entries after it (or the entries of the last
     * `staleAfterMs`), reads the states of the drivers found from `loadStates`, then follows the
     * stream. Resolves when the replica is ready; rejects within about `connectTimeoutMs` when
     * Redis cannot be reached, or when `loadStates` fails.
     */
    async start(): Promise<void> {
      if (started || closing) throw new Error('Redis supply: start() may be called once.');
      const connect = (role: 'writer' | 'reader') =>
        openRedisConnection({
          url: options.redis.url,
          name: `${options.prefix}supply-${role}-${origin}`,
          ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
          // Above the XREAD BLOCK time: a silent socket past it is dead.
          socketTimeoutMs: BLOCK_MS + 4_000,
        });
      const opened = await Promise.allSettled([connect('writer'), connect('reader')]);
      const failed = opened.find((result) => result.status === 'rejected');
      if (failed) {
        for (const result of opened) if (result.status === 'fulfilled') result.value.disconnect();
        throw (failed as PromiseRejectedResult).reason;
      }
      writer = (opened[0] as PromiseFulfilledResult<Redis>).value;
      reader = (opened[1] as PromiseFulfilledResult<Redis>).value;
      const ownWriter = writer;
      const ownReader = reader;
      try {
        // Stream ids are Redis's clock; the window and the trimming are reckoned on it.
        const sentAt = Date.now();
        const [seconds, micros] = await ownWriter.time();
        clockOffsetMs = Number(seconds) * 1000 + Number(micros) / 1000 - (sentAt + Date.now()) / 2;

        // From the latest snapshot and the entries after it; without one, from the entries of the
        // last `staleAfterMs` (older positions are stale anyway).
        const tag = await loadSnapshot(ownReader);
        lastId = tag ?? `${Math.max(0, Math.floor(redisNow() - staleAfterMs))}-0`;
        lastIdRead = tag !== undefined;
        let start = tag === undefined ? lastId : `(${lastId}`;
        for (;;) {
          const from = start;
          const page = (await redisSpan('XRANGE', key, {}, () =>
            ownReader.xrange(key, from, '+', 'COUNT', REPLAY_PAGE),
          )) as StreamEntry[];
          stats.replayed += applyEntries(page);
          if (page.length < REPLAY_PAGE) break;
          start = `(${lastId}`;
        }
        await reconcile();
      } catch (error) {
        ownWriter.disconnect();
        ownReader.disconnect();
        throw error;
      }
      ownWriter.on('ready', () => {
        if (writerOk || closing) return;
        writerOk = true;
        logger.info({ publishFailures: stats.publishFailures }, 'redis supply: publisher reconnected');
      });
      started = true;
      following = follow(ownReader);
      reconcileTimer = setInterval(
        () => {
          sweepRemoved();
          if (reconcileEveryMs > 0) reconcileSoon();
        },
        reconcileEveryMs > 0 ? reconcileEveryMs : staleAfterMs,
      );
      reconcileTimer.unref();
      if (snapshotEveryMs > 0) {
        snapshotTimer = setInterval(snapshotTurn, snapshotEveryMs);
        snapshotTimer.unref();
      }
    },

    /**
     * Writes a snapshot of this replica now (whoever's turn it is); false when this replica is not
     * in a state to (not started, closing, or not following the stream). For tests and benchmarks.
     */
    snapshot: (): Promise<boolean> => writeSnapshot(),

    /**
     * Resolves once every write this process made is in Redis (or failed) and this replica has
     * applied the stream up to its last entry as of the call: for tests and graceful shutdown.
     * Rejects when that takes longer than `timeoutMs`.
     */
    async settled(timeoutMs = 10_000): Promise<void> {
      if (!writer || closing) return;
      await drained();
      const last = (await writer.xrevrange(key, '+', '-', 'COUNT', 1)) as StreamEntry[];
      const target = last[0]?.[0];
      if (target === undefined || idAtOrAfter(lastId, target)) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => waiters.push({ target, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis supply: not caught up with ${target} after ${timeoutMs} ms.`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    },

    /** Stops following, sends what is pending (waiting up to 2 s) and closes both connections. */
    close,
  };
};

export type RedisSupply = ReturnType<typeof createRedisSupply>;
