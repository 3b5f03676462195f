import type { Priority } from '../../ops/load-shedding.js';
import { currentPriority } from '../../ops/work-priority.js';
import type { Database } from './database.js';

/**
 * A counting semaphore whose critical waiters go before sheddable ones, and which keeps one slot
 * out of the sheddable class's reach when it has more than one.
 */
export const createPriorityLanes = (slots: number) => {
  const sheddableLimit = slots > 1 ? slots - 1 : slots;
  let busy = 0;
  let busySheddable = 0;
  const waiting: Record<Priority, Array<() => void>> = { critical: [], sheddable: [] };

  const grant = () => {
    while (busy < slots) {
      const next =
        waiting.critical.shift() ?? (busySheddable < sheddableLimit ? waiting.sheddable.shift() : undefined);
      if (!next) return;
      next();
    }
  };

  return {
    /** Resolves with the slot's release once `priority`'s turn comes. */
    acquire(priority: Priority): Promise<() => void> {
      return new Promise((resolve) => {
        waiting[priority].push(() => {
          busy++;
          if (priority === 'sheddable') busySheddable++;
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            busy--;
            if (priority === 'sheddable') busySheddable--;
            grant();
          });
        });
        grant();
      });
    },
    waiting: () => waiting.critical.length + waiting.sheddable.length,
  };
};

/**
 * The database behind priority lanes (docs/load-shedding.md). Quotes that the shedding admitted
 * still queue for the database with everything else: first come, first served, a booking waits
 * behind every quote query ahead of it — in PGlite, which runs one statement at a time in this
 * process, or in the pool's queue for a connection. Here a critical statement or transaction
 * takes the next free slot before any sheddable one, and sheddable work never holds the last
 * slot. `slots` is what the database runs at once: the pool size, or 1 for PGlite.
 */
export const withPriorityLanes = (database: Database, slots: number): Database => {
  const lanes = createPriorityLanes(slots);
  const inLane = async <T>(work: () => Promise<T>): Promise<T> => {
    const release = await lanes.acquire(currentPriority());
    try {
      return await work();
    } finally {
      release();
    }
  };
  return {
    kind: database.kind,
    query: (sql, params) => inLane(() => database.query(sql, params)),
    exec: (sql) => inLane(() => database.exec(sql)),
    transaction: (work) => inLane(() => database.transaction(work)),
    ping: () => database.ping(),
    close: () => database.close(),
  };
};
