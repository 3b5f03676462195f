import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createUnitOfWork } from '../../src/adapters/postgres/unit-of-work.js';
import { createPartitionKeeper, type PartitionKeeper } from '../../src/flows/partitions.js';
import type { UnitOfWork } from '../../src/flows/ports.js';
import { describeEachBackend, type OpenedDatabase } from '../support/backends.js';
import { silentLogger } from '../support/platform.js';

const TTL_MS = 600;
const CITIES = ['paris', 'london'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds or `ms` pass; returns whether it held. */
const within = async (ms: number, check: () => boolean | Promise<boolean>) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
};

describeEachBackend('dispatchers share the cities through leases', (backend) => {
  let opened: OpenedDatabase;
  let uow: UnitOfWork;
  let keepers: PartitionKeeper[] = [];
  const keeper = (holder: string) => {
    const created = createPartitionKeeper(uow, { partitions: CITIES, ttlMs: TTL_MS, holder }, silentLogger);
    keepers.push(created);
    return created;
  };

  beforeAll(async () => {
    opened = await backend.open();
    await migrate(opened.database);
    uow = createUnitOfWork(opened.database);
  });
  afterEach(async () => {
    for (const running of keepers) await running.stop();
    keepers = [];
  });
  afterAll(() => opened?.cleanup());

  it('When one dispatcher runs, then it holds every city', async () => {
    const only = keeper('only');
    await only.start();
    expect(only.owned().sort()).toEqual(['london', 'paris']);
    expect(await uow.stores.leases.holders()).toEqual([
      { partition: 'london', holder: 'only' },
      { partition: 'paris', holder: 'only' },
    ]);
  });

  it('When a second dispatcher joins, then the first hands a city over and each holds one, never both the same', async () => {
    const first = keeper('first');
    await first.start();
    const second = keeper('second');
    await second.start();
    const balanced = await within(
      5 * TTL_MS,
      () => first.owned().length === 1 && second.owned().length === 1,
    );
    expect(balanced).toBe(true);
    expect(first.owned()[0]).not.toBe(second.owned()[0]);
    const holders = await uow.stores.leases.holders();
    expect(holders.map((lease) => lease.holder).sort()).toEqual(['first', 'second']);
  });

  it('When a dispatcher stops cleanly, then the other takes its city at its next tick', async () => {
    const first = keeper('first');
    const second = keeper('second');
    await first.start();
    await second.start();
    await within(5 * TTL_MS, () => first.owned().length === 1 && second.owned().length === 1);
    await first.stop();
    expect(await within(TTL_MS, () => second.owned().length === 2)).toBe(true);
  });

  it('When a dispatcher dies holding both cities, then nobody takes them while its lease lives, and another has them within a lease and a tick after', async () => {
    // A dead holder: leases written once, never renewed.
    for (const city of CITIES) expect(await uow.stores.leases.claim('dead', city, TTL_MS)).toBe(true);
    const diedAt = Date.now();
    const survivor = keeper('survivor');
    await survivor.start();
    expect(survivor.owned()).toEqual([]);
    expect(await within(3 * TTL_MS, () => survivor.owned().length === 2)).toBe(true);
    const failoverMs = Date.now() - diedAt;
    expect(failoverMs).toBeGreaterThanOrEqual(TTL_MS - 50);
    expect(failoverMs).toBeLessThan(TTL_MS + 2 * (TTL_MS / 3) + 400);
  });

  it('When two dispatchers claim a free city at once, then exactly one gets it', async () => {
    await uow.stores.leases.release('nobody', CITIES);
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => uow.stores.leases.claim(`racer-${i}`, 'paris', TTL_MS)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    await sleep(TTL_MS + 50);
  });
});
