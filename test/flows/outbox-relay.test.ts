import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../src/adapters/memory/event-bus.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createUnitOfWork } from '../../src/adapters/postgres/unit-of-work.js';
import { createOutboxRelay, type OutboxRelay } from '../../src/flows/outbox-relay.js';
import type { EventBus, OutboxMessage, UnitOfWork } from '../../src/flows/ports.js';
import { describeEachBackend, type OpenedDatabase } from '../support/backends.js';
import { eventually, silentLogger } from '../support/platform.js';

/** A message told apart by its seq. */
const message = (seq: number): OutboxMessage => ({
  kind: 'offer',
  payload: {
    offerId: '69e297da-9a4b-4c1d-8d2e-1a2b3c4d5e6f',
    rideId: '3f1c1f9e-9a4b-4c1d-8d2e-1a2b3c4d5e6f',
    driverId: 'dan',
    status: 'pending',
    expiresAt: '2026-04-04T08:00:15.000Z',
    pickup: { lat: 48.8809, lng: 2.3553 },
    dropoff: { lat: 48.8443, lng: 2.3743 },
    fare: { amount: 1505, currency: 'EUR' },
    seq,
  },
});
const seqOf = (published: OutboxMessage) => published.payload.seq;

const recordingBus = () => {
  const bus = createMemoryEventBus();
  const received: OutboxMessage[] = [];
  bus.subscribe((published) => received.push(published));
  return { bus, received };
};

const failingBus: EventBus = {
  publish: async () => {
    throw new Error('the bus is down');
  },
  subscribe: () => () => {},
  close: async () => {},
};

describeEachBackend('outbox relay', (backend) => {
  let opened: OpenedDatabase;
  let uow: UnitOfWork;
  let relays: OutboxRelay[] = [];
  const relay = (bus: EventBus, batchSize?: number) => {
    const created = createOutboxRelay(uow, bus, silentLogger, {
      intervalMs: 20,
      ...(batchSize ? { batchSize } : {}),
    });
    relays.push(created);
    return created;
  };
  const waiting = async () =>
    Number((await opened.database.query<{ n: string }>('SELECT count(*) AS n FROM outbox'))[0]?.n);
  const add = async (from: number, count: number) => {
    for (let seq = from; seq < from + count; seq++) {
      await uow.transact((stores) => stores.outbox.add(message(seq)));
    }
  };

  beforeAll(async () => {
    opened = await backend.open();
    await migrate(opened.database);
    uow = createUnitOfWork(opened.database);
  });
  beforeEach(async () => {
    await opened.database.query('DELETE FROM outbox');
  });
  afterEach(async () => {
    for (const running of relays) await running.stop();
    relays = [];
  });
  afterAll(() => opened.cleanup());

  it('When the publish fails, then the messages stay in the outbox, and the next round publishes them in order and empties it', async () => {
    await add(1, 5);
    await expect(relay(failingBus).relayOnce()).rejects.toThrow('the bus is down');
    expect(await waiting()).toBe(5);

    const { bus, received } = recordingBus();
    expect(await relay(bus).relayOnce()).toBe(5);
    expect(received.map(seqOf)).toEqual([1, 2, 3, 4, 5]);
    expect(await waiting()).toBe(0);
  });

  it('When a change is rolled back, then its message never reaches the outbox', async () => {
    await expect(
      uow.transact(async (stores) => {
        await stores.outbox.add(message(1));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await waiting()).toBe(0);
  });

  it('When the relay runs, then it publishes what is added while it runs, a backlog without pausing, and empties the outbox', async () => {
    await add(1, 250);
    const { bus, received } = recordingBus();
    relay(bus, 100).start();
    await eventually(
      async () => received.length,
      (length) => length === 250,
    );
    await add(251, 3);
    await eventually(
      async () => received.length,
      (length) => length === 253,
    );
    expect(received.map(seqOf)).toEqual(Array.from({ length: 253 }, (_, i) => i + 1));
    // Subscribers hear of a message just before the relay's delete commits.
    expect(await eventually(waiting, (n) => n === 0)).toBe(0);
  });

  it('When several relays drain the outbox at once, then every message is published exactly once, each relay in order', async () => {
    await add(1, 300);
    const buses = [recordingBus(), recordingBus(), recordingBus()];
    const drain = async (running: OutboxRelay) => {
      while ((await running.relayOnce()) > 0) {}
    };
    await Promise.all(buses.map(({ bus }) => drain(relay(bus, 20))));

    const all = buses.flatMap(({ received }) => received.map(seqOf));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    for (const { received } of buses) {
      const seqs = received.map(seqOf);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(await waiting()).toBe(0);
  });
});
