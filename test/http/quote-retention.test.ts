import { afterAll, beforeAll, expect, it } from 'vitest';
import { QUOTE_RETENTION_MS } from '../../src/flows/housekeeping.js';
import { describeEachBackend } from '../support/backends.js';
import { places, startTestPlatform, type TestPlatform } from '../support/platform.js';

describeEachBackend('quotes nobody booked are kept an hour past their expiry', (backend) => {
  let t: TestPlatform;
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  beforeAll(async () => {
    t = await startTestPlatform(backend, {}, undefined, clock);
  });
  afterAll(() => t.close());

  it('When housekeeping runs, then a quote within the hour still reads as expired, an older one is gone, and a booked one stays', async () => {
    const rider = await t.rider();
    const unused = await rider.quote(places.saintLazare, places.gareDeLyon);
    const other = await t.rider();
    const used = await other.quote(places.saintLazare, places.gareDeLyon);
    const booked = await other.book(used.body.quoteId, 'kept-with-its-ride');
    expect(booked.status).toBe(201);
    expect((await other.cancel(booked.body.id)).status).toBe(200);

    // The quote expired minutes ago, well within the hour: kept, and a late booking says why.
    offsetMs = QUOTE_RETENTION_MS;
    await t.platform.housekeeping!.forgetUnusedQuotes();
    const late = await rider.book(unused.body.quoteId, 'late-1');
    expect(late.status).toBe(410);
    expect(late.body.title).toBe('QUOTE.EXPIRED');

    // Past the hour after its expiry it is gone; the booked quote stays with its ride.
    offsetMs = 2 * QUOTE_RETENTION_MS;
    await t.platform.housekeeping!.forgetUnusedQuotes();
    const tooLate = await rider.book(unused.body.quoteId, 'late-2');
    expect(tooLate.status).toBe(404);
    expect(tooLate.body.title).toBe('QUOTE.NOT_FOUND');
    const ride = await other.getRide(booked.body.id);
    expect(ride.status).toBe(200);
    expect(ride.body.quoteId).toBe(used.body.quoteId);
  });
});
