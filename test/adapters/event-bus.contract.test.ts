import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../src/adapters/memory/event-bus.js';
import { createRedisEventBus } from '../../src/adapters/redis/event-bus.js';
import type { EventBus, OutboxMessage } from '../../src/flows/ports.js';
import { eventually, silentLogger } from '../support/platform.js';

/**
 * One contract for every event bus: in memory (one process, so the publishing process and the
 * subscribing one are the same bus) and Redis pub/sub (two buses, as two processes would hold).
 */

interface Deployment {
  /** The bus of a process of this deployment; with `isolated`, of another deployment. */
  open(options?: { isolated?: boolean }): Promise<EventBus>;
}

interface AdapterUnderTest {
  name: string;
  available: boolean;
  skipReason?: string;
  deployment(): Deployment;
}

const redisUrl = process.env.REDIS_URL;
/** Unique per file and run: test files and runs sharing a Redis never meet. */
const runPrefix = `peakride-test-bus-${randomBytes(5).toString('hex')}`;

const memoryAdapter: AdapterUnderTest = {
  name: 'in-memory',
  available: true,
  deployment() {
    const shared = createMemoryEventBus();
    return { open: async ({ isolated } = {}) => (isolated ? createMemoryEventBus() : shared) };
  },
};

const redisAdapter: AdapterUnderTest = {
  name: 'redis',
  available: Boolean(redisUrl),
  skipReason: 'REDIS_URL is unset',
  deployment() {
    const prefix = `${runPrefix}-${randomBytes(3).toString('hex')}:`;
    return {
      open: ({ isolated } = {}) =>
        createRedisEventBus({
          url: redisUrl!,
          prefix: isolated ? `${prefix}other:` : prefix,
          logger: silentLogger,
        }),
    };
  },
};

/** A message of each kind, with what JSON must carry intact: unicode, nulls, nested objects. */
const rideEvent = (seq: number): OutboxMessage => ({
  kind: 'ride.event',
  payload: {
    rideId: '3f1c1f9e-9a4b-4c1d-8d2e-1a2b3c4d5e6f',
    seq,
    riderId: 'rider-zoé',
    driverId: null,
    event: {
      type: 'ride.requested',
      status: 'searching',
      actor: { role: 'rider', id: 'rider-zoé' },
      reason: null,
      at: '2026-04-04T08:00:00.000Z',
    },
    ride: {
      id: '3f1c1f9e-9a4b-4c1d-8d2e-1a2b3c4d5e6f',
      riderId: 'rider-zoé',
      driverId: null,
      status: 'searching',
      city: 'paris',
      pickup: { lat: 48.8809, lng: 2.3553 },
      dropoff: { lat: 48.8443, lng: 2.3743 },
      fare: { amount: 1505, currency: 'EUR' },
      surge: 1.2,
      distanceMeters: 5591,
      durationSeconds: 915,
      quoteId: 'c15dc471-9a4b-4c1d-8d2e-1a2b3c4d5e6f',
      searchDeadline: '2026-04-04T08:02:00.000Z',
      cancellation: null,
      version: seq,
      createdAt: '2026-04-04T08:00:00.000Z',
      updatedAt: '2026-04-04T08:00:00.000Z',
    },
  },
});
const offer = (seq: number): OutboxMessage => ({
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

const record = (bus: EventBus) => {
  const received: OutboxMessage[] = [];
  const unsubscribe = bus.subscribe((message) => received.push(message));
  return { received, unsubscribe };
};

/** Waits until `received` holds `count` messages, then a little more: none beyond may come. */
const settle = async (received: unknown[], count: number) => {
  await eventually(
    async () => received.length,
    (length) => length >= count,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
};

for (const adapter of [memoryAdapter, redisAdapter]) {
  const label = adapter.available ? adapter.name : `${adapter.name}, skipped: ${adapter.skipReason}`;
  describe.skipIf(!adapter.available)(`event bus contract [${label}]`, () => {
    const opened: EventBus[] = [];
    const open = async (deployment: Deployment, options?: { isolated?: boolean }) => {
      const bus = await deployment.open(options);
      opened.push(bus);
      return bus;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((bus) => bus.close()));
    });

    it('When a process publishes batches, then every subscriber of every process gets each message once, in order, intact', async () => {
      const deployment = adapter.deployment();
      const publisher = await open(deployment);
      const first = record(await open(deployment));
      const second = record(await open(deployment));

      const messages = [rideEvent(1), offer(1), rideEvent(2)];
      await publisher.publish(messages.slice(0, 2));
      await publisher.publish(messages.slice(2));
      await publisher.publish([]);

      await settle(first.received, 3);
      await settle(second.received, 3);
      expect(first.received).toEqual(messages);
      expect(second.received).toEqual(messages);
    });

    it('When a subscriber unsubscribes, then it gets nothing more and the others still do', async () => {
      const deployment = adapter.deployment();
      const publisher = await open(deployment);
      const bus = await open(deployment);
      const leaving = record(bus);
      const staying = record(bus);
      await publisher.publish([rideEvent(1)]);
      await settle(leaving.received, 1);

      leaving.unsubscribe();
      await publisher.publish([rideEvent(2)]);
      await settle(staying.received, 2);
      expect(leaving.received.map((m) => m.payload.seq)).toEqual([1]);
      expect(staying.received.map((m) => m.payload.seq)).toEqual([1, 2]);
    });

    it('When a subscriber throws, then the others still get the message and the publish succeeds', async () => {
      const deployment = adapter.deployment();
      const publisher = await open(deployment);
      const bus = await open(deployment);
      bus.subscribe(() => {
        throw new Error('a subscriber bug');
      });
      const healthy = record(bus);
      await expect(publisher.publish([offer(1), offer(2)])).resolves.toBeUndefined();
      await settle(healthy.received, 2);
      expect(healthy.received.map((m) => m.payload.seq)).toEqual([1, 2]);
    });

    it('When another deployment shares the backend, then neither sees the other’s messages', async () => {
      const deployment = adapter.deployment();
      const publisher = await open(deployment);
      const ours = record(await open(deployment));
      const theirs = record(await open(deployment, { isolated: true }));
      await publisher.publish([rideEvent(7)]);
      await settle(ours.received, 1);
      expect(theirs.received).toEqual([]);
    });

    it('When the bus is closed, then a publish is refused, so the relay keeps its rows', async () => {
      const bus = await adapter.deployment().open();
      await bus.close();
      await expect(bus.publish([rideEvent(1)])).rejects.toThrow();
    });
  });
}

describe.skipIf(!redisUrl)(
  `event bus [redis${redisUrl ? '' : ', skipped: REDIS_URL is unset'}]: reconnection`,
  () => {
    it('When the subscriber connection drops, then it reconnects by itself, asks its subscribers to resync, and delivers again', async () => {
      const prefix = `${runPrefix}-reconnect:`;
      const publisher = await createRedisEventBus({ url: redisUrl!, prefix, logger: silentLogger });
      const subscriber = await createRedisEventBus({ url: redisUrl!, prefix, logger: silentLogger });
      const admin = new Redis(redisUrl!);
      try {
        const received: OutboxMessage[] = [];
        let resyncs = 0;
        subscriber.subscribe(
          (message) => received.push(message),
          () => {
            resyncs++;
          },
        );
        // Only this test's subscriber connection: others sharing the Redis are left alone.
        const clients = (await admin.client('LIST')) as string;
        const ours = clients
          .split('\n')
          .filter((line) => line.includes(`name=${prefix}events-subscriber`))
          .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
        expect(ours.length).toBeGreaterThan(0);
        for (const id of ours) await admin.client('KILL', 'ID', id!);

        await eventually(
          async () => resyncs,
          (count) => count > 0,
        );
        expect(resyncs).toBe(1);
        await publisher.publish([rideEvent(1)]);
        await settle(received, 1);
        expect(received).toEqual([rideEvent(1)]);
      } finally {
        await publisher.close();
        await subscriber.close();
        admin.disconnect();
      }
    });

    it('When Redis cannot be reached, then opening the bus fails instead of hanging', async () => {
      const started = Date.now();
      await expect(
        createRedisEventBus({
          url: 'redis://127.0.0.1:1',
          prefix: `${runPrefix}-down:`,
          logger: silentLogger,
        }),
      ).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5000);
    });
  },
);
