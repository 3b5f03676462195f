import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import {
  type DriverClient,
  type Reply,
  type RiderClient,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';
import { dropoff, type Point, site } from '../support/scenes.js';

/*
 * Pickups are `site`s, about 11 km apart. Only one test here puts a driver online, at its own
 * site, so the rides other tests leave searching are never offered to anyone.
 */

const REPLAYED = 'idempotent-replayed';

/** The same answer, as sent: status, body (values and key order) and length on the wire. */
const expectSameAnswer = (replay: Reply, first: Reply) => {
  expect(replay.status).toBe(first.status);
  expect(replay.body).toStrictEqual(first.body);
  expect(JSON.stringify(replay.body)).toBe(JSON.stringify(first.body));
  expect(replay.headers['content-type']).toBe(first.headers['content-type']);
  expect(replay.headers['content-length']).toBe(first.headers['content-length']);
};

const quoteFor = async (rider: RiderClient, pickup: Point): Promise<string> => {
  const quote = await rider.quote(pickup, dropoff);
  expect(quote.status).toBe(201);
  return quote.body.quoteId as string;
};

describeEachBackend('booking is idempotent', (backend) => {
  let t: TestPlatform;
  let cleanup: Array<() => Promise<unknown>> = [];
  /** Cancels the rider's ride after the test (a no-op if it is finished already). */
  const releaseLater = (rider: RiderClient, rideId: string) =>
    cleanup.push(() => rider.cancel(rideId, 'test over'));

  beforeAll(async () => {
    t = await startTestPlatform(backend);
  });
  afterEach(async () => {
    for (const step of cleanup) await step();
    cleanup = [];
  });
  afterAll(() => t.close());

  it('When a booking is replayed with the same key, then the first answer comes back unchanged even after the ride moved on', async () => {
    const pickup = site(0);
    const driver: DriverClient = await t.driver();
    expect((await driver.online(pickup)).status).toBe(200);
    cleanup.push(() => driver.offline());
    const rider = await t.rider();
    const quoteId = await quoteFor(rider, pickup);
    const key = randomUUID();

    const first = await rider.book(quoteId, key);
    expect(first.status).toBe(201);
    expect(first.headers[REPLAYED]).toBeUndefined();
    expect(first.body).toMatchObject({ status: 'searching', driverId: null, version: 1 });
    releaseLater(rider, first.body.id);

    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(first.body.id);
    expect((await driver.accept(offer.id)).status).toBe(200);
    expect((await rider.getRide(first.body.id)).body.status).toBe('driver_assigned');

    for (let attempt = 0; attempt < 2; attempt++) {
      const replay = await rider.book(quoteId, key);
      expect(replay.headers[REPLAYED]).toBe('true');
      expectSameAnswer(replay, first);
    }
  });

  it('When the first answer was a 4xx, then a replay returns that same 4xx even after its cause went away', async () => {
    const rider = await t.rider();
    const held = await rider.requestRide(site(1), dropoff);
    const quoteId = await quoteFor(rider, site(1));
    const key = randomUUID();

    const first = await rider.book(quoteId, key);
    expect(first.status).toBe(409);
    expect(first.body.title).toBe('RIDE.RIDER_HAS_ACTIVE_RIDE');
    expect(first.headers['content-type']).toMatch(/^application\/problem\+json/);

    // The open ride is gone now, so the same request under a new key would be booked...
    expect((await rider.cancel(held.id)).status).toBe(200);
    const replay = await rider.book(quoteId, key);
    // ...but under the old key the first answer stands.
    expect(replay.headers[REPLAYED]).toBe('true');
    expectSameAnswer(replay, first);

    const fresh = await rider.book(await quoteFor(rider, site(1)), randomUUID());
    expect(fresh.status).toBe(201);
    releaseLater(rider, fresh.body.id);
  });

  it("When a booking with another rider's quote is replayed, then the same 404 QUOTE.NOT_FOUND comes back", async () => {
    const owner = await t.rider();
    const other = await t.rider();
    const quoteId = await quoteFor(owner, site(2));
    const key = randomUUID();

    const first = await other.book(quoteId, key);
    expect(first.status).toBe(404);
    expect(first.body.title).toBe('QUOTE.NOT_FOUND');

    const replay = await other.book(quoteId, key);
    expect(replay.headers[REPLAYED]).toBe('true');
    expectSameAnswer(replay, first);
  });

  it('When 20 identical bookings arrive at once, then exactly one ride is created and all get its 201', async () => {
    const rider = await t.rider();
    const quoteId = await quoteFor(rider, site(3));
    const key = randomUUID();

    const replies = await Promise.all(Array.from({ length: 20 }, () => rider.book(quoteId, key)));

    for (const reply of replies) expect(reply.status).toBe(201);
    const [first] = replies;
    const rideId = first?.body.id as string;
    releaseLater(rider, rideId);
    for (const reply of replies) expectSameAnswer(reply, first as Reply);
    // One request did the booking, the other 19 got its answer back.
    expect(replies.filter((reply) => reply.headers[REPLAYED] === undefined)).toHaveLength(1);
    expect(replies.filter((reply) => reply.headers[REPLAYED] === 'true')).toHaveLength(19);

    const ops = await t.ops();
    expect((await ops.getRide(rideId)).body).toMatchObject({
      id: rideId,
      riderId: rider.id,
      status: 'searching',
      quoteId,
      version: 1,
    });
    // The rider holds exactly this ride: the quote is spent and a new booking is refused.
    const sameQuote = await rider.book(quoteId, randomUUID());
    expect(sameQuote.status).toBe(409);
    expect(sameQuote.body.title).toBe('QUOTE.ALREADY_USED');
    const newQuote = await rider.book(await quoteFor(rider, site(3)), randomUUID());
    expect(newQuote.status).toBe(409);
    expect(newQuote.body.title).toBe('RIDE.RIDER_HAS_ACTIVE_RIDE');
  });

  it('When a rider sends 10 bookings at once under different keys, then one ride is booked and the others get 409 RIDE.RIDER_HAS_ACTIVE_RIDE', async () => {
    const rider = await t.rider();
    const quotes = await Promise.all(Array.from({ length: 10 }, () => quoteFor(rider, site(9))));

    const replies = await Promise.all(quotes.map((quoteId) => rider.book(quoteId, randomUUID())));

    const booked = replies.filter((reply) => reply.status === 201);
    expect(booked).toHaveLength(1);
    releaseLater(rider, booked[0]?.body.id);
    const refused = replies.filter((reply) => reply.status !== 201);
    expect(refused).toHaveLength(9);
    for (const reply of refused) {
      expect(reply.status).toBe(409);
      expect(reply.body.title).toBe('RIDE.RIDER_HAS_ACTIVE_RIDE');
    }
  });

  it('When the same key comes with a different body, then 422 IDEMPOTENCY.KEY_REUSED and nothing is booked', async () => {
    const rider = await t.rider();
    const firstQuote = await quoteFor(rider, site(4));
    const otherQuote = await quoteFor(rider, site(4));
    const key = randomUUID();
    const first = await rider.book(firstQuote, key);
    expect(first.status).toBe(201);
    releaseLater(rider, first.body.id);

    const reused = await rider.book(otherQuote, key);

    expect(reused.status).toBe(422);
    expect(reused.body.title).toBe('IDEMPOTENCY.KEY_REUSED');
    // The key still answers for its first request.
    expectSameAnswer(await rider.book(firstQuote, key), first);
    // The refused request spent nothing: once the first ride is cancelled, its quote still books.
    expect((await rider.cancel(first.body.id)).status).toBe(200);
    const booked = await rider.book(otherQuote, randomUUID());
    expect(booked.status).toBe(201);
    expect(booked.body.quoteId).toBe(otherQuote);
    releaseLater(rider, booked.body.id);
  });

  it('When two riders use the same key string, then each gets their own ride', async () => {
    const key = `shared-${randomUUID()}`;
    const [alice, bob] = [await t.rider(), await t.rider()];
    const aliceQuote = await quoteFor(alice, site(5));
    const bobQuote = await quoteFor(bob, site(5));

    const aliceRide = await alice.book(aliceQuote, key);
    const bobRide = await bob.book(bobQuote, key);

    for (const [reply, rider, quoteId] of [
      [aliceRide, alice, aliceQuote],
      [bobRide, bob, bobQuote],
    ] as const) {
      expect(reply.status).toBe(201);
      expect(reply.headers[REPLAYED]).toBeUndefined();
      expect(reply.body).toMatchObject({ riderId: rider.id, quoteId, status: 'searching' });
      releaseLater(rider, reply.body.id);
    }
    expect(bobRide.body.id).not.toBe(aliceRide.body.id);
    expectSameAnswer(await alice.book(aliceQuote, key), aliceRide);
    expectSameAnswer(await bob.book(bobQuote, key), bobRide);
  });

  it('When a quote was already used, then booking it again gets 409 QUOTE.ALREADY_USED, even once its ride is over', async () => {
    const rider = await t.rider();
    const quoteId = await quoteFor(rider, site(6));
    const first = await rider.book(quoteId, randomUUID());
    expect(first.status).toBe(201);
    expect((await rider.cancel(first.body.id)).status).toBe(200);

    const again = await rider.book(quoteId, randomUUID());

    expect(again.status).toBe(409);
    expect(again.body.title).toBe('QUOTE.ALREADY_USED');
  });

  it("When a rider books another rider's quote, then 404 QUOTE.NOT_FOUND and the quote stays its owner's", async () => {
    const owner = await t.rider();
    const other = await t.rider();
    const quoteId = await quoteFor(owner, site(7));

    const stolen = await other.book(quoteId, randomUUID());
    expect(stolen.status).toBe(404);
    expect(stolen.body.title).toBe('QUOTE.NOT_FOUND');
    const unknown = await other.book(randomUUID(), randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body.title).toBe('QUOTE.NOT_FOUND');

    const booked = await owner.book(quoteId, randomUUID());
    expect(booked.status).toBe(201);
    expect(booked.body.riderId).toBe(owner.id);
    releaseLater(owner, booked.body.id);
  });

  it('When a quote is booked, then the ride charges exactly the quoted fare', async () => {
    const rider = await t.rider();
    const quote = await rider.quote(site(8), { lat: 48.99, lng: 2.55 });
    expect(quote.status).toBe(201);

    const booked = await rider.book(quote.body.quoteId);

    expect(booked.status).toBe(201);
    releaseLater(rider, booked.body.id);
    expect(booked.body).toMatchObject({
      quoteId: quote.body.quoteId,
      fare: quote.body.fare,
      surge: quote.body.surge,
      distanceMeters: quote.body.distanceMeters,
      durationSeconds: quote.body.durationSeconds,
    });
    const stored = await (await t.ops()).getRide(booked.body.id);
    expect(stored.body.fare).toEqual(quote.body.fare);
  });
});

describeEachBackend('booking with an expired quote', (backend) => {
  const QUOTE_TTL_MS = 200;
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(backend, { PEAKRIDE_QUOTE_TTL_SECONDS: String(QUOTE_TTL_MS / 1000) });
  });
  afterAll(() => t.close());

  it('When the quote has expired, then booking gets 410 QUOTE.EXPIRED, and so does its replay', async () => {
    const rider = await t.rider();
    const quote = await rider.quote(site(0), dropoff);
    expect(quote.status).toBe(201);
    const expiresAt = Date.parse(quote.body.expiresAt);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(QUOTE_TTL_MS);
    // Waiting for the stated expiry itself (plus a little): this is what the test is about.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 50));
    const key = randomUUID();

    const expired = await rider.book(quote.body.quoteId, key);

    expect(expired.status).toBe(410);
    expect(expired.body.title).toBe('QUOTE.EXPIRED');
    const replay = await rider.book(quote.body.quoteId, key);
    expect(replay.headers[REPLAYED]).toBe('true');
    expectSameAnswer(replay, expired);
    // Still expired under a new key: the refusal is about the quote, not the key.
    const retried = await rider.book(quote.body.quoteId, randomUUID());
    expect(retried.status).toBe(410);
    expect(retried.headers[REPLAYED]).toBeUndefined();
  });
});
