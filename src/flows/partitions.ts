import { hostname } from 'node:os';
import type { Logger } from './dispatch.js';
import type { UnitOfWork } from './ports.js';
import { repeat } from './repeat.js';

export interface PartitionOptions {
  /** Every partition there is (the served cities). */
  partitions: readonly string[];
  /** A lease lives this long unless renewed; a dead dispatcher's cities move on after it. */
  ttlMs: number;
  /** Who this process is, in the lease table; unique per process by default. */
  holder?: string;
}

/**
 * Shares the partitions (cities) among the live dispatchers through leases in the database.
 * Each tick, a third of the lease's life: heartbeat, renew what it holds, give back what exceeds
 * its fair share (partitions / live dispatchers, rounded up: a newcomer gets work), claim free or
 * expired partitions up to that share. A dispatcher that dies stops renewing; its leases run out
 * after `ttlMs` and another claims them on its next tick. A holder acts only on leases it knows
 * to be live (with a margin), and the database constraints stay the last line of defence.
 */
export const createPartitionKeeper = (uow: UnitOfWork, options: PartitionOptions, logger: Logger) => {
  const holder = options.holder ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tickMs = Math.max(50, Math.floor(options.ttlMs / 3));
  /** Partition → until when this process may act on it (its own clock, with a margin). */
  const held = new Map<string, number>();

  const validUntil = () => Date.now() + options.ttlMs - tickMs;

  const tick = async () => {
    const leases = uow.stores.leases;
    const live = await leases.heartbeat(holder, options.ttlMs);
    const kept = await leases.renew(holder, [...held.keys()], options.ttlMs);
    for (const partition of held.keys()) {
      if (!kept.includes(partition)) {
        held.delete(partition);
        logger.warn({ partition, holder }, 'dispatch lease lost');
      }
    }
    for (const partition of kept) held.set(partition, validUntil());
    const share = Math.ceil(options.partitions.length / Math.max(1, live));
    const extra = [...held.keys()].slice(share);
    if (extra.length > 0) {
      for (const partition of extra) held.delete(partition);
      await leases.release(holder, extra);
      logger.info({ partitions: extra, holder, live }, 'dispatch leases handed back for balance');
    }
    for (const partition of options.partitions) {
      if (held.size >= share) break;
      if (held.has(partition)) continue;
      if (await leases.claim(holder, partition, options.ttlMs)) {
        held.set(partition, validUntil());
        logger.info({ partition, holder }, 'dispatch lease taken');
      }
    }
  };

  const ticks = repeat(tick, (error) => logger.error({ err: error }, 'dispatch lease tick failed'));

  return {
    holder,
    /** The partitions this process may dispatch now. */
    owned(): string[] {
      const now = Date.now();
      return [...held].filter(([, until]) => until > now).map(([partition]) => partition);
    },
    owns(partition: string): boolean {
      return (held.get(partition) ?? 0) > Date.now();
    },
    /** Claims a first share before returning, so dispatch starts with work. */
    async start(): Promise<void> {
      await tick();
      ticks.start(tickMs);
    },
    async stop(): Promise<void> {
      await ticks.stop();
      held.clear();
      await uow.stores.leases.leave(holder);
    },
  };
};

export type PartitionKeeper = ReturnType<typeof createPartitionKeeper>;
