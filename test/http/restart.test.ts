import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Database, openPglite } from '../../src/adapters/postgres/database.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { pgliteBackend } from '../support/backends.js';
import {
  driverClient,
  places,
  riderClient,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';

const laDefense = { lat: 48.8918, lng: 2.238 };

/** A database in `dir` that the platform uses but does not close: the test decides when. */
const onDisk = (database: Database) => ({ database, cleanup: () => Promise.resolve() });

describe('the embedded mode across a restart', () => {
  let dir: string;
  let database: Database | undefined;
  let t: TestPlatform | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peakride-restart-'));
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('When the platform is stopped and started again on the same data directory, then rides, tokens and online drivers are still there', async () => {
    // Starting from the template dump skips initdb; the data still lands in `dir`.
    const template = new Blob([await readFile(inject('pgliteTemplate'))]);
    database = await openPglite({ dataDir: dir, loadDataDir: template });
    t = await startTestPlatform(pgliteBackend, {}, onDisk(database));

    // One ride carried to completion near Gare du Nord...
    const driver = await t.driver();
    expect((await driver.online(places.gareDuNord)).status).toBe(200);
    const first = await t.rider();
    const done = await first.requestRide(places.gareDuNord, places.gareDeLyon);
    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(done.id);
    expect((await driver.accept(offer.id)).status).toBe(200);
    expect((await driver.arrive(done.id)).status).toBe(200);
    expect((await driver.start(done.id)).status).toBe(200);
    expect((await driver.complete(done.id)).body.status).toBe('completed');

    // ...and one booked at La Défense, more than 5 km from the driver, so it stays searching.
    const second = await t.rider();
    const waiting = await second.requestRide(laDefense, places.saintLazare);
    const ops = await t.ops();
    const before = await Promise.all([ops.getRide(done.id), ops.getRide(waiting.id)]);
    expect(before.map((reply) => reply.body.status)).toEqual(['completed', 'searching']);
    // A few dispatch sweeps (50 ms apart) pass: the driver, too far away, is not offered it.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await driver.offers()).body).toEqual([]);

    await t.close();
    t = undefined;
    await database.close();
    database = undefined;

    // Reopen the directory as `npm start` would: no template this time.
    database = await openPglite({ dataDir: dir });
    expect((await migrate(database)).applied).toEqual([]);
    t = await startTestPlatform(pgliteBackend, {}, onDisk(database));

    // Tokens minted before the restart still verify: the same parties, bound to the new platform.
    const request = t.request;
    const riderA = riderClient(request, first.id, first.token);
    const riderB = riderClient(request, second.id, second.token);
    const sameDriver = driverClient(request, driver.id, driver.token);
    const opsAgain = (rideId: string) => request('GET', `/v1/rides/${rideId}`, { token: ops.token });
    expect((await riderA.getRide(done.id)).status).toBe(200);
    expect((await riderB.getRide(waiting.id)).status).toBe(200);
    expect((await sameDriver.getRide(done.id)).status).toBe(200);

    const after = await Promise.all([opsAgain(done.id), opsAgain(waiting.id)]);
    for (const [index, reply] of after.entries()) {
      const earlier = before[index]!.body;
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        id: earlier.id,
        status: earlier.status,
        fare: earlier.fare,
        riderId: earlier.riderId,
        driverId: earlier.driverId,
        version: earlier.version,
      });
    }

    // The driver was online when the platform stopped: reporting a position works at once,
    // and the ride that waited through the restart is offered to them.
    expect((await sameDriver.location({ ...laDefense })).status).toBe(204);
    const resumed = await sameDriver.waitForOffer();
    expect(resumed.rideId).toBe(waiting.id);
    const accepted = await sameDriver.accept(resumed.id);
    expect(accepted.body).toMatchObject({ status: 'driver_assigned', driverId: driver.id });
    expect((await riderB.cancel(waiting.id)).body.status).toBe('cancelled');
    expect((await sameDriver.offline()).status).toBe(200);
  });
});
