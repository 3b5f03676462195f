import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../src/adapters/memory/event-bus.js';
import { createUnitOfWork } from '../../src/adapters/postgres/unit-of-work.js';
import type { Actor } from '../../src/domain/ride.js';
import { createLiveUpdates, type LiveMessage } from '../../src/flows/live-updates.js';
import type { EventBus, OutboxMessage, RideEventAnnouncement, UnitOfWork } from '../../src/flows/ports.js';
import { describeEachBackend } from '../support/backends.js';
import { eventually, silentLogger, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { dropoff, offset, site } from '../support/scenes.js';

/**
 * The ordering guarantees of live updates, with the bus in the test's hands: announcements are
 * replayed late, twice, out of order or not at all, and the subscriber must still see every
 * event of the ride exactly once, in seq order.
 */
describeEachBackend('live updates: order and completeness whatever the bus does', (backend) => {
  let t: TestPlatform;
  /** Everything the platform's relay published. */
  const published: OutboxMessage[] = [];
  const platformBus = createMemoryEventBus();
  platformBus.subscribe((message) => published.push(message));

  /** The bus the live updates under test listen to: only what a test publishes. */
  let resyncs: Array<() => void> = [];
  const testBus = createMemoryEventBus();
  const controlledBus: EventBus = {
    publish: (messages) => testBus.publish(messages),
    subscribe(onMessage, onResync) {
      if (onResync) resyncs.push(onResync);
      return testBus.subscribe(onMessage);
    },
    close: () => testBus.close(),
  };

  const live = (uow: UnitOfWork = createUnitOfWork(t.opened.database)) =>
    createLiveUpdates({ uow, clock: { now: () => new Date() } }, controlledBus, silentLogger, {
      maxSubscriptions: 3,
    });

  const connect = (updates: ReturnType<typeof live>, actor: Actor) => {
    const sent: LiveMessage[] = [];
    return { sent, conn: updates.connect(actor, { send: (message) => sent.push(message) }) };
  };
  const seqsOf = (sent: LiveMessage[]) => sent.flatMap((m) => (m.type === 'ride.event' ? [m.seq] : []));

  const announced = async (rideId: string, seq: number): Promise<OutboxMessage> => {
    const find = () =>
      published.find((m) => m.kind === 'ride.event' && m.payload.rideId === rideId && m.payload.seq === seq);
    await eventually(async () => find(), Boolean);
    const message = find();
    if (!message) throw new Error(`ride ${rideId} seq ${seq} was never published`);
    return message;
  };

  /** A ride its driver has accepted: seq 1 (requested) and 2 (driver assigned) in its log. */
  const acceptedRide = async (index: number) => {
    const pickup = site(index);
    const driver = await t.driver();
    expect((await driver.online(offset(pickup, 150))).status).toBe(200);
    const rider = await t.rider();
    const ride = await rider.requestRide(pickup, dropoff);
    const offer = await driver.waitForOffer();
    expect((await driver.accept(offer.id)).status).toBe(200);
    return { ride, rider, driver };
  };
  /** Seq 3, 4 and 5: arrived, started, completed. */
  const carryToEnd = async (driver: Awaited<ReturnType<typeof acceptedRide>>['driver'], rideId: string) => {
    for (const step of ['arrive', 'start', 'complete'] as const) {
      expect((await driver[step](rideId)).status).toBe(200);
    }
  };

  beforeAll(async () => {
    t = await startTestPlatform(
      backend,
      { PEAKRIDE_OUTBOX_POLL_MS: '20' },
      undefined,
      undefined,
      platformBus,
    );
  });
  afterAll(() => t.close());

  it('When an announcement arrives ahead of the ones before it, then the gap is filled from the log first, and repeats are dropped', async () => {
    const { ride, driver } = await acceptedRide(0);
    const updates = live();
    const { sent, conn } = connect(updates, { role: 'ops', id: 'ops-1' });
    await conn.subscribe(ride.id);
    expect(sent).toEqual([{ type: 'subscribed', rideId: ride.id, seq: 2 }]);

    await carryToEnd(driver, ride.id);
    // What the subscriber had before subscribing comes late: dropped.
    await controlledBus.publish([await announced(ride.id, 1), await announced(ride.id, 2)]);
    expect(seqsOf(sent)).toEqual([]);
    // Only the last of three new events reaches this process: 3 and 4 come from the log, first.
    await controlledBus.publish([await announced(ride.id, 5)]);
    await eventually(
      async () => sent.at(-1)?.type,
      (type) => type === 'unsubscribed',
    );
    expect(seqsOf(sent)).toEqual([3, 4, 5]);
    // Then the missing ones arrive after all, and again: nothing is sent twice.
    await controlledBus.publish([await announced(ride.id, 3), await announced(ride.id, 4)]);
    await controlledBus.publish([await announced(ride.id, 5)]);
    expect(seqsOf(sent)).toEqual([3, 4, 5]);
    const last = sent.filter((m) => m.type === 'ride.event').at(-1);
    expect(last).toMatchObject({ seq: 5, event: { type: 'ride.completed' }, ride: { status: 'completed' } });
    expect(sent.at(-1)).toEqual({ type: 'unsubscribed', rideId: ride.id, reason: 'finished' });
    updates.close();
  });

  it('When an event commits and is announced while the backlog is being read, then the subscriber gets every event once, in order', async () => {
    const { ride, rider, driver } = await acceptedRide(3);
    expect((await driver.arrive(ride.id)).status).toBe(200);
    expect((await driver.start(ride.id)).status).toBe(200);

    // The log read returns what it read (seq 1 to 4) only when the test says so.
    let logRead!: () => void;
    const reading = new Promise<void>((resolve) => {
      logRead = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inner = createUnitOfWork(t.opened.database);
    const slowLog: UnitOfWork = {
      ...inner,
      stores: {
        ...inner.stores,
        events: {
          ...inner.stores.events,
          async list(rideId) {
            const events = await inner.stores.events.list(rideId);
            logRead();
            await gate;
            return events;
          },
        },
      },
    };

    const updates = live(slowLog);
    const { sent, conn } = connect(updates, { role: 'rider', id: rider.id });
    const subscribing = conn.subscribe(ride.id, 0);
    await reading;
    expect((await driver.complete(ride.id)).status).toBe(200);
    await controlledBus.publish([await announced(ride.id, 5), await announced(ride.id, 3)]);
    release();
    await subscribing;
    await eventually(
      async () => sent.at(-1)?.type,
      (type) => type === 'unsubscribed',
    );
    expect(seqsOf(sent)).toEqual([1, 2, 3, 4, 5]);
    await controlledBus.publish([await announced(ride.id, 5)]);
    expect(seqsOf(sent)).toEqual([1, 2, 3, 4, 5]);
    expect(sent[0]).toEqual({ type: 'subscribed', rideId: ride.id, seq: 4 });
    updates.close();
  });

  it('When the bus says it may have lost messages, then every subscription catches up from the log', async () => {
    const { ride, rider, driver } = await acceptedRide(4);
    resyncs = [];
    const updates = live();
    const { sent, conn } = connect(updates, { role: 'rider', id: rider.id });
    await conn.subscribe(ride.id);
    await carryToEnd(driver, ride.id);
    await announced(ride.id, 5);
    expect(seqsOf(sent)).toEqual([]);

    for (const resync of resyncs) resync();
    await eventually(
      async () => seqsOf(sent),
      (seqs) => seqs.length === 3,
    );
    expect(seqsOf(sent)).toEqual([3, 4, 5]);
    updates.close();
  });

  it('When a connection follows as many rides as allowed, then one more is refused with REALTIME.TOO_MANY_SUBSCRIPTIONS', async () => {
    const rides = await Promise.all(
      [5, 6, 7, 8].map((index) => t.rider().then((r) => r.requestRide(site(index), dropoff))),
    );
    const updates = live();
    const { sent, conn } = connect(updates, { role: 'ops', id: 'ops-2' });
    for (const ride of rides) await conn.subscribe(ride.id);
    expect(sent.filter((m) => m.type === 'subscribed')).toHaveLength(3);
    expect(sent.at(-1)).toMatchObject({
      type: 'error',
      code: 'REALTIME.TOO_MANY_SUBSCRIPTIONS',
      rideId: rides[3]?.id,
    });
    // Unsubscribing makes room again.
    conn.unsubscribe(rides[0]!.id);
    await conn.subscribe(rides[3]!.id);
    expect(sent.at(-1)).toEqual({ type: 'subscribed', rideId: rides[3]?.id, seq: 1 });
    updates.close();
  });

  it('When live updates announce a ride event, then its payload names who may follow the ride and carries the ride', async () => {
    const { ride, rider, driver } = await acceptedRide(9);
    await carryToEnd(driver, ride.id);
    const message = await announced(ride.id, 4);
    const payload = message.payload as RideEventAnnouncement;
    expect(payload).toMatchObject({
      rideId: ride.id,
      seq: 4,
      riderId: rider.id,
      driverId: driver.id,
      event: { type: 'ride.started', status: 'in_progress', actor: { role: 'driver', id: driver.id } },
      ride: { id: ride.id, status: 'in_progress', version: 4 },
    });
    expect(new Date(payload.event.at).toISOString()).toBe(payload.event.at);
  });
});
