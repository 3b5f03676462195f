import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../src/adapters/memory/event-bus.js';
import { createRedisEventBus } from '../../src/adapters/redis/event-bus.js';
import type { EventBus } from '../../src/flows/ports.js';
import { describeEachBackend, type OpenedDatabase } from '../support/backends.js';
import { silentLogger, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { connectLive, realtimeUrl, rideEvents } from '../support/realtime.js';
import { dropoff, offset, site } from '../support/scenes.js';

const redisUrl = process.env.REDIS_URL;

/**
 * Two platforms on one database, as two API processes behind a load balancer: the bus between
 * them is Redis when REDIS_URL is set (each process its own connections), else one in-memory bus.
 */
describeEachBackend(
  `live updates across processes [bus: ${redisUrl ? 'redis' : 'in-memory, REDIS_URL is unset'}]`,
  (backend) => {
    let opened: OpenedDatabase;
    let buses: EventBus[] = [];
    let served: TestPlatform;
    let other: TestPlatform;

    beforeAll(async () => {
      opened = await backend.open();
      const prefix = `peakride-test-processes-${randomBytes(5).toString('hex')}:`;
      const shared = createMemoryEventBus();
      const openBus = async () =>
        redisUrl ? createRedisEventBus({ url: redisUrl, prefix, logger: silentLogger }) : shared;
      buses = [await openBus(), await openBus()];
      const env = { PEAKRIDE_OUTBOX_POLL_MS: '20' };
      served = await startTestPlatform(backend, env, opened, undefined, buses[0]);
      other = await startTestPlatform(backend, env, opened, undefined, buses[1]);
    });
    afterAll(async () => {
      await served?.close();
      await other?.close();
      for (const bus of new Set(buses)) await bus.close();
      await opened?.cleanup();
    });

    it('When the rider follows their ride on one process and the driver acts through another, then the rider gets every event in order', async () => {
      const pickup = site(0);
      const driver = await served.driver();
      expect((await driver.online(offset(pickup, 200))).status).toBe(200);
      const rider = await served.rider();
      const ride = await rider.requestRide(pickup, dropoff);

      const riderLive = await connectLive(await realtimeUrl(other), { token: rider.token });
      riderLive.send({ type: 'subscribe', rideId: ride.id, since: 0 });
      const offer = await driver.waitForOffer();
      expect((await driver.accept(offer.id)).status).toBe(200);
      for (const step of ['arrive', 'start', 'complete'] as const) {
        expect((await driver[step](ride.id)).status).toBe(200);
      }

      const received = await riderLive.until((ms) => ms.some((m) => m.type === 'unsubscribed'));
      expect(rideEvents(received, ride.id).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
      await riderLive.close();
    });
  },
);
