import { afterAll, beforeAll, expect, it } from 'vitest';
import { IDEMPOTENCY_RETENTION_MS } from '../../src/flows/housekeeping.js';
import { describeEachBackend } from '../support/backends.js';
import { places, startTestPlatform, type TestPlatform } from '../support/platform.js';

describeEachBackend('idempotency keys are kept for a day', (backend) => {
  let t: TestPlatform;
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  beforeAll(async () => {
    t = await startTestPlatform(backend, {}, undefined, clock);
  });
  afterAll(() => t.close());

  it('When housekeeping runs, then keys younger than a day still replay and older ones are forgotten', async () => {
    const rider = await t.rider();
    const first = await rider.quote(places.saintLazare, places.gareDeLyon);
    const booked = await rider.book(first.body.quoteId, 'morning-commute');
    expect(booked.status).toBe(201);
    expect((await rider.cancel(booked.body.id)).status).toBe(200);

    // Just under a day later the key still holds: another body with it is refused.
    offsetMs = IDEMPOTENCY_RETENTION_MS - 60_000;
    await t.platform.housekeeping!.forgetOldIdempotencyKeys();
    const tooSoon = await rider.quote(places.saintLazare, places.gareDeLyon);
    const reused = await rider.book(tooSoon.body.quoteId, 'morning-commute');
    expect(reused.status).toBe(422);
    expect(reused.body.title).toBe('IDEMPOTENCY.KEY_REUSED');

    // Past the day the key is gone and books a new ride.
    offsetMs = IDEMPOTENCY_RETENTION_MS + 60_000;
    await t.platform.housekeeping!.forgetOldIdempotencyKeys();
    const nextDay = await rider.quote(places.saintLazare, places.gareDeLyon);
    const rebooked = await rider.book(nextDay.body.quoteId, 'morning-commute');
    expect(rebooked.status).toBe(201);
    expect(rebooked.body.id).not.toBe(booked.body.id);
    expect(rebooked.headers['idempotent-replayed']).toBeUndefined();
    await rider.cancel(rebooked.body.id);
  });
});
