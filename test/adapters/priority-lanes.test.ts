import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPriorityLanes, withPriorityLanes } from '../../src/adapters/postgres/priority-lanes.js';
import type { Priority } from '../../src/ops/load-shedding.js';
import { runAs } from '../../src/ops/work-priority.js';
import { describeEachBackend, type OpenedDatabase } from '../support/backends.js';

/** Finishing order of statements sent together, each under its class. */
const finishingOrder = async (
  run: (sql: string, params: readonly unknown[]) => Promise<unknown>,
  statements: Array<{ name: string; priority: Priority; sql: string; params?: unknown[] }>,
) => {
  const order: string[] = [];
  await Promise.all(
    statements.map(({ name, priority, sql, params = [] }) =>
      runAs(priority, () => run(sql, params)).then(() => order.push(name)),
    ),
  );
  return order;
};

it('When critical and sheddable work wait for slots, then each free slot goes to the oldest critical waiter first', async () => {
  const lanes = createPriorityLanes(2);
  const granted: string[] = [];
  const take = (name: string, priority: Priority) =>
    lanes.acquire(priority).then((release) => {
      granted.push(name);
      return release;
    });
  const first = await take('critical-0', 'critical');
  const holders = [
    take('sheddable-1', 'sheddable'),
    take('sheddable-2', 'sheddable'),
    take('critical-3', 'critical'),
    take('critical-4', 'critical'),
  ];
  await Promise.resolve();
  // One slot is left: sheddable-1 takes it, and it may take no more (the last slot is kept).
  expect(granted).toEqual(['critical-0', 'sheddable-1']);
  expect(lanes.waiting()).toBe(3);
  first();
  await new Promise((resolve) => setImmediate(resolve));
  expect(granted).toEqual(['critical-0', 'sheddable-1', 'critical-3']);
  for (const release of await Promise.all(holders.slice(0, 1))) release();
  await new Promise((resolve) => setImmediate(resolve));
  expect(granted).toEqual(['critical-0', 'sheddable-1', 'critical-3', 'critical-4']);
  expect(lanes.waiting()).toBe(1);
});

it('When a slot is released twice, then it is freed once', async () => {
  const lanes = createPriorityLanes(1);
  const release = await lanes.acquire('critical');
  const next = lanes.acquire('critical');
  const after = lanes.acquire('critical');
  release();
  release();
  await next;
  let afterGranted = false;
  void after.then(() => {
    afterGranted = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  expect(afterGranted).toBe(false);
});

describeEachBackend('the database behind priority lanes', (backend) => {
  let opened: OpenedDatabase;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(async () => {
    await opened.cleanup();
  });

  it('When a critical statement arrives behind a queue of sheddable ones, then it finishes before all but the one already running', async () => {
    const slots = backend.name === 'pglite' ? 1 : 3;
    // Every connection open first: otherwise the critical statement may wait for a connection
    // of its own to be made (slow on a loaded machine) while sheddable ones run on open ones.
    await Promise.all(Array.from({ length: slots }, () => opened.database.query('SELECT pg_sleep(0.01)')));
    const database = withPriorityLanes(opened.database, slots);
    const sheddable = Array.from({ length: 20 }, (_, i) => ({
      name: `sheddable-${i}`,
      priority: 'sheddable' as const,
      sql: 'SELECT pg_sleep(0.01), $1::int AS n',
      params: [i],
    }));
    const order = await finishingOrder(
      (sql, params) => database.query(sql, params),
      [...sheddable, { name: 'critical', priority: 'critical', sql: 'SELECT 1 AS n' }],
    );
    // PGlite runs one statement at a time; on PostgreSQL sheddable work holds at most slots - 1.
    const alreadyRunning = Math.max(1, slots - 1);
    expect(order.indexOf('critical')).toBeLessThanOrEqual(alreadyRunning);
    expect(order).toHaveLength(21);
  });

  it('When sheddable transactions fill every slot they may hold, then a critical transaction still runs at once', async () => {
    const slots = backend.name === 'pglite' ? 1 : 3;
    const database = withPriorityLanes(opened.database, slots);
    const order: string[] = [];
    const sheddable = Array.from({ length: 6 }, (_, i) =>
      runAs('sheddable', () =>
        database.transaction(async (tx) => {
          await tx.query('SELECT pg_sleep(0.05)');
          order.push(`sheddable-${i}`);
        }),
      ),
    );
    const critical = database.transaction(async (tx) => {
      const [row] = await tx.query<{ n: number }>('SELECT 1 AS n');
      order.push('critical');
      return row?.n;
    });
    expect(await critical).toBe(1);
    await Promise.all(sheddable);
    expect(order.indexOf('critical')).toBeLessThanOrEqual(backend.name === 'pglite' ? 1 : 0);
  });
});
