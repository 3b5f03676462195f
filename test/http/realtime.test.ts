import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.js';
import {
  connectLive,
  type LiveClient,
  type Message,
  realtimeUrl,
  refusedUpgrade,
  rideEvents,
  type TokenCarrier,
} from '../support/realtime.js';
import { dropoff, offset, site, UNKNOWN_ID } from '../support/scenes.js';

const carriers: TokenCarrier[] = ['header', 'protocol', 'query'];
const seqs = (messages: Message[]) => messages.map((message) => message.seq);

describeEachBackend('live updates over WebSocket', (backend) => {
  let t: TestPlatform;
  let url: string;
  const clients: LiveClient[] = [];
  const connect = async (...args: Parameters<typeof connectLive>) => {
    const client = await connectLive(...args);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    t = await startTestPlatform(backend, {
      PEAKRIDE_OUTBOX_POLL_MS: '20',
      PEAKRIDE_OFFER_TIMEOUT_SECONDS: '30',
      PEAKRIDE_SEARCH_WINDOW_SECONDS: '120',
    });
    url = await realtimeUrl(t);
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await t.close();
  });

  /** A driver online at the site, a rider whose ride there the driver is offered, over HTTP. */
  const scene = async (index: number) => {
    const pickup = site(index);
    const driver = await t.driver();
    expect((await driver.online(offset(pickup, 200))).status).toBe(200);
    const rider = await t.rider();
    return { pickup, driver, rider };
  };

  it('When the upgrade has no token or a bad one, in any carrier, then it is refused with a 401 problem before any WebSocket exists', async () => {
    const missing = await refusedUpgrade(url, {});
    expect(missing.status).toBe(401);
    expect(missing.contentType).toMatch(/^application\/problem\+json/);
    expect(missing.body).toMatchObject({ title: 'AUTH.MISSING_TOKEN', status: 401 });

    const rider = await t.rider();
    // Without an upgrade, the route is still authenticated first, then refused as a plain GET.
    expect((await t.request('GET', '/v1/realtime')).status).toBe(401);
    const plain = await t.request('GET', '/v1/realtime', { token: rider.token });
    expect({ status: plain.status, title: plain.body.title }).toEqual({
      status: 400,
      title: 'REQUEST.INVALID',
    });

    const tampered = `${rider.token.slice(0, -4)}AAAA`;
    for (const carrier of carriers) {
      for (const token of ['not-a-jwt', tampered]) {
        const refused = await refusedUpgrade(url, { token, carrier });
        expect({ carrier, status: refused.status, title: refused.body?.title }).toEqual({
          carrier,
          status: 401,
          title: 'AUTH.INVALID_TOKEN',
        });
      }
    }
  });

  it('When the token comes in the header, the subprotocol or the query, then the connection opens and says who it serves', async () => {
    const rider = await t.rider();
    for (const carrier of carriers) {
      const client = await connect(url, { token: rider.token, carrier });
      expect(client.messages[0]).toMatchObject({
        type: 'hello',
        protocol: 'peakride.v1',
        role: 'rider',
        subject: rider.id,
      });
      // Browsers fail a connection whose server does not echo one of the offered subprotocols.
      expect(client.socket.protocol).toBe(carrier === 'protocol' ? 'peakride.v1' : '');
      await client.close();
    }
  });

  it('When a driver carries a ride to completion over HTTP, then the driver gets the offer and the rider every event, in seq order, and the outbox empties', async () => {
    const { pickup, driver, rider } = await scene(0);
    const driverLive = await connect(url, { token: driver.token });
    const riderLive = await connect(url, { token: rider.token, carrier: 'protocol' });

    const ride = await rider.requestRide(pickup, dropoff);
    riderLive.send({ type: 'subscribe', rideId: ride.id, since: 0 });
    // The acknowledgement carries the ride's seq when the subscription took effect: wait for it before
    // the driver moves the ride on, or a slow database makes it 2.
    await riderLive.until((ms) => ms.some((m) => m.type === 'subscribed'));

    const [offer] = (await driverLive.until((ms) => ms.some((m) => m.type === 'offer'))).filter(
      (m) => m.type === 'offer',
    );
    // The same offer GET /v1/drivers/me/offers lists, with its status and the ride's seq.
    const { id: offerId, ...listed } = (await driver.offers()).body[0];
    expect(offer).toEqual({ type: 'offer', offerId, ...listed, status: 'pending', seq: 1 });

    expect((await driver.accept(offer.offerId)).status).toBe(200);
    await driverLive.until((ms) => ms.some((m) => m.type === 'offer' && m.status === 'accepted'));
    for (const step of ['arrive', 'start', 'complete'] as const) {
      expect((await driver[step](ride.id)).status).toBe(200);
    }

    const received = await riderLive.until((ms) =>
      ms.some((m) => m.type === 'unsubscribed' && m.rideId === ride.id),
    );
    const events = rideEvents(received, ride.id);
    expect(seqs(events)).toEqual([1, 2, 3, 4, 5]);
    expect(events.map((m) => m.event.type)).toEqual([
      'ride.requested',
      'ride.driver_assigned',
      'ride.driver_arrived',
      'ride.started',
      'ride.completed',
    ]);
    expect(events[1].event).toMatchObject({
      seq: 2,
      status: 'driver_assigned',
      actor: { role: 'driver', id: driver.id },
    });
    expect(events.at(-1).ride).toMatchObject({
      id: ride.id,
      status: 'completed',
      driverId: driver.id,
      version: 5,
    });
    expect(received.find((m) => m.type === 'subscribed')).toEqual({
      type: 'subscribed',
      rideId: ride.id,
      seq: 1,
    });
    expect(received.at(-1)).toEqual({ type: 'unsubscribed', rideId: ride.id, reason: 'finished' });

    const count = async () =>
      Number((await t.opened.database.query<{ n: string }>('SELECT count(*) AS n FROM outbox'))[0]?.n);
    expect(await eventually(count, (n) => n === 0)).toBe(0);
  });

  it('When a driver connects while holding an offer, then that offer is sent at once', async () => {
    const { pickup, driver, rider } = await scene(1);
    const ride = await rider.requestRide(pickup, dropoff);
    const held = await driver.waitForOffer();

    const driverLive = await connect(url, { token: driver.token, carrier: 'query' });
    const received = await driverLive.until((ms) => ms.some((m) => m.type === 'offer'));
    expect(received.find((m) => m.type === 'offer')).toMatchObject({
      offerId: held.id,
      rideId: ride.id,
      status: 'pending',
      expiresAt: held.expiresAt,
    });
    expect((await rider.cancel(ride.id)).status).toBe(200);
    const withdrawn = await driverLive.until((ms) =>
      ms.some((m) => m.type === 'offer' && m.status === 'withdrawn'),
    );
    expect(withdrawn.filter((m) => m.type === 'offer').map((m) => m.status)).toEqual([
      'pending',
      'withdrawn',
    ]);
  });

  it("When a rider subscribes to another rider's ride, or a driver to a ride not theirs, then they get RIDE.NOT_FOUND and the connection stays open", async () => {
    const { pickup, driver, rider } = await scene(2);
    const ride = await rider.requestRide(pickup, dropoff);
    const other = await t.rider();
    const otherLive = await connect(url, { token: other.token });
    const driverLive = await connect(url, { token: driver.token });

    for (const [client, rideId] of [
      [otherLive, ride.id],
      [otherLive, UNKNOWN_ID],
      [driverLive, ride.id],
    ] as const) {
      client.send({ type: 'subscribe', rideId, since: 0 });
      const received = await client.until((ms) => ms.some((m) => m.type === 'error' && m.rideId === rideId));
      expect(received.find((m) => m.type === 'error' && m.rideId === rideId)).toEqual({
        type: 'error',
        code: 'RIDE.NOT_FOUND',
        detail: expect.stringMatching(/\S/),
        rideId,
      });
      client.send({ type: 'ping', id: rideId });
      await client.until((ms) => ms.some((m) => m.type === 'pong' && m.id === rideId));
    }
    // The same answer for a ride that exists and one that does not: existence is not revealed.
    expect(rideEvents(otherLive.messages, ride.id)).toEqual([]);
    expect(otherLive.messages.some((m) => m.type === 'subscribed')).toBe(false);
    await rider.cancel(ride.id);
  });

  it('When a client sends invalid JSON, an oversized frame, an unknown type, a bad field or binary, then the connection closes with the documented code', async () => {
    const rider = await t.rider();
    const cases: Array<[string, (client: LiveClient) => void, number]> = [
      ['invalid JSON', (c) => c.sendRaw('{"type":"subscribe",'), 1007],
      ['over 4 KiB', (c) => c.send({ type: 'ping', id: 'x'.repeat(5000) }), 1009],
      ['unknown type', (c) => c.send({ type: 'shout' }), 1008],
      ['not an object', (c) => c.send([1, 2]), 1008],
      ['bad rideId', (c) => c.send({ type: 'subscribe', rideId: 'ride-1' }), 1008],
      ['negative since', (c) => c.send({ type: 'subscribe', rideId: UNKNOWN_ID, since: -1 }), 1008],
      ['extra field', (c) => c.send({ type: 'ping', extra: true }), 1008],
      ['binary frame', (c) => c.sendRaw(Buffer.from('{"type":"ping"}'), { binary: true }), 1003],
    ];
    for (const [name, misbehave, code] of cases) {
      const client = await connect(url, { token: rider.token });
      misbehave(client);
      const closed = await client.closed;
      expect({ name, code: closed.code }).toEqual({ name, code });
      if (code === 1008) expect(closed.reason).toMatch(/\S/);
    }
  });

  it('When three changes happen while the rider is disconnected, then resuming with since sends exactly those three, no duplicates', async () => {
    const { pickup, driver, rider } = await scene(4);
    const ride = await rider.requestRide(pickup, dropoff);

    const first = await connect(url, { token: rider.token });
    first.send({ type: 'subscribe', rideId: ride.id, since: 0 });
    const before = rideEvents(await first.until((ms) => rideEvents(ms, ride.id).length === 1), ride.id);
    const lastSeen = before.at(-1).seq;
    expect(lastSeen).toBe(1);
    await first.close();

    const offer = await driver.waitForOffer();
    expect((await driver.accept(offer.id)).status).toBe(200);
    expect((await driver.arrive(ride.id)).status).toBe(200);
    expect((await driver.start(ride.id)).status).toBe(200);

    const second = await connect(url, { token: rider.token });
    second.send({ type: 'subscribe', rideId: ride.id, since: lastSeen });
    await second.until((ms) => rideEvents(ms, ride.id).length >= 3);
    // Then a live one, after the backlog.
    expect((await driver.complete(ride.id)).status).toBe(200);
    const received = await second.until((ms) => ms.some((m) => m.type === 'unsubscribed'));
    expect(seqs(rideEvents(received, ride.id))).toEqual([2, 3, 4, 5]);
    expect(rideEvents(received, ride.id).map((m) => m.event.type)).toEqual([
      'ride.driver_assigned',
      'ride.driver_arrived',
      'ride.started',
      'ride.completed',
    ]);
  });

  it('When an assigned driver subscribes to their ride, then they follow it until the rider cancels', async () => {
    const { pickup, driver, rider } = await scene(5);
    const ride = await rider.requestRide(pickup, dropoff);
    const offer = await driver.waitForOffer();
    expect((await driver.accept(offer.id)).status).toBe(200);

    const driverLive = await connect(url, { token: driver.token });
    driverLive.send({ type: 'subscribe', rideId: ride.id, since: 0 });
    await driverLive.until((ms) => rideEvents(ms, ride.id).length === 1);
    expect((await rider.cancel(ride.id, 'changed my mind')).status).toBe(200);
    const received = await driverLive.until((ms) => ms.some((m) => m.type === 'unsubscribed'));
    // A driver's history of the ride starts when they took it.
    expect(rideEvents(received, ride.id).map((m) => [m.seq, m.event.type, m.event.reason])).toEqual([
      [2, 'ride.driver_assigned', null],
      [3, 'ride.cancelled', 'changed my mind'],
    ]);
  });

  it('When the assigned driver drops the ride, then they see their own drop and nothing after: the subscription ends', async () => {
    const { pickup, driver, rider } = await scene(6);
    const ride = await rider.requestRide(pickup, dropoff);
    const offer = await driver.waitForOffer();
    expect((await driver.accept(offer.id)).status).toBe(200);
    const driverLive = await connect(url, { token: driver.token });
    driverLive.send({ type: 'subscribe', rideId: ride.id });
    await driverLive.until((ms) => ms.some((m) => m.type === 'subscribed'));

    expect((await driver.cancel(ride.id, 'flat tyre')).body.status).toBe('searching');
    const received = await driverLive.until((ms) => ms.some((m) => m.type === 'unsubscribed'));
    expect(rideEvents(received, ride.id).map((m) => [m.seq, m.event.type, m.event.status])).toEqual([
      [3, 'ride.cancelled', 'searching'],
    ]);
    expect(received.at(-1)).toEqual({ type: 'unsubscribed', rideId: ride.id, reason: 'access_lost' });
    // And resubscribing is refused like any ride that is not theirs.
    driverLive.send({ type: 'subscribe', rideId: ride.id, since: 0 });
    await driverLive.until((ms) => ms.some((m) => m.type === 'error' && m.code === 'RIDE.NOT_FOUND'));
    await rider.cancel(ride.id);
  });
});

describeEachBackend('live updates: heartbeats and draining', (backend) => {
  const HEARTBEAT_MS = 300;
  let t: TestPlatform;
  let url: string;
  beforeAll(async () => {
    t = await startTestPlatform(backend, { PEAKRIDE_WS_HEARTBEAT_SECONDS: String(HEARTBEAT_MS / 1000) });
    url = await realtimeUrl(t);
  });
  afterAll(() => t.close());

  it('When a client stops answering pings, then the server terminates it within about two intervals, and one that answers stays', async () => {
    const rider = await t.rider();
    const answering = await connectLive(url, { token: rider.token });
    const silent = await connectLive(url, { token: rider.token, autoPong: false });
    expect(silent.messages[0]).toMatchObject({ type: 'hello', heartbeatSeconds: HEARTBEAT_MS / 1000 });
    const started = Date.now();

    const closed = await silent.closed;
    // Terminated, not closed: a dead peer would not answer a close handshake either.
    expect(closed.code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(4 * HEARTBEAT_MS + 500);
    expect(answering.socket.readyState).toBe(answering.socket.OPEN);
    await answering.close();
  });

  it('When the platform drains, then every client is told to reconnect and closed with 1012', async () => {
    const rider = await t.rider();
    const client = await connectLive(url, { token: rider.token });
    t.platform.realtime!.drain();
    const closed = await client.closed;
    expect(closed.code).toBe(1012);
    expect(client.messages.at(-1)).toMatchObject({ type: 'reconnect' });
  });
});
