import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { eventually, places, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { offset } from '../support/scenes.js';

/**
 * In a shortage, rides are matched in batches with a credit for the time they have waited: a
 * ride that has waited a minute keeps its place against a newcomer a little closer to the only
 * free driver, where first-come nearest-driver would hand the driver to the newcomer.
 */
describeEachBackend('dispatch in a shortage is fair to rides that have waited', (backend) => {
  let t: TestPlatform;
  let shiftMs = 0;
  const clock = { now: () => new Date(Date.now() + shiftMs) };

  beforeAll(async () => {
    t = await startTestPlatform(
      backend,
      {
        PEAKRIDE_SEARCH_WINDOW_SECONDS: '3600',
        PEAKRIDE_OFFER_TIMEOUT_SECONDS: '600',
        PEAKRIDE_MATCH_RADIUS_METERS: '1000',
        PEAKRIDE_BATCH_WINDOW_MS: '300',
      },
      undefined,
      clock,
    );
  });
  afterAll(() => t?.close());

  it('When one driver frees up between a ride waiting for a minute and a newcomer closer to them, then the older ride gets the driver', async () => {
    const centre = places.montparnasse;
    const older = await t.rider();
    const olderRide = await older.requestRide(offset(centre, 500), places.gareDeLyon);
    // A minute passes with no driver around.
    shiftMs += 60_000;
    const newer = await t.rider();
    const newerRide = await newer.requestRide(offset(centre, -150), places.gareDeLyon);

    const driver = await t.driver();
    expect((await driver.online(centre)).status).toBe(200);
    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(olderRide.id);

    // The newcomer is not forgotten: the next driver to free up is theirs.
    const second = await t.driver();
    expect((await second.online(offset(centre, -100))).status).toBe(200);
    expect((await second.waitForOffer()).rideId).toBe(newerRide.id);
    const newerView = await eventually(
      () => newer.getRide(newerRide.id),
      (reply) => reply.status === 200,
    );
    expect(newerView.body.status).toBe('searching');
  });
});
