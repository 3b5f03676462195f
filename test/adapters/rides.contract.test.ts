import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createUnitOfWork } from '../../src/adapters/postgres/unit-of-work.js';
import type { Stores } from '../../src/flows/ports.js';
import { describeEachBackend, type OpenedDatabase } from '../support/backends.js';
import { places, uniqueId } from '../support/platform.js';
import { insertSearchingRide } from '../support/rides.js';

/**
 * The ride store on both backends. Each case books its rides in cities of its own, so the cases
 * never see each other's rides.
 */
describeEachBackend('ride store: searching rides without a live offer', (backend) => {
  let opened: OpenedDatabase;
  let stores: Stores;
  const t0 = new Date('2030-03-05T08:00:00.000Z');
  const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
  const ride = (city: string, createdAt: Date) =>
    insertSearchingRide(stores, { city, pickup: places.gareDuNord, createdAt });

  beforeAll(async () => {
    opened = await backend.open();
    await migrate(opened.database);
    stores = createUnitOfWork(opened.database).stores;
  });
  afterAll(() => opened?.cleanup());

  it('When rides search, then they are answered whole, as get reads them, oldest first, up to the limit', async () => {
    const city = uniqueId('city');
    // Booked out of order, so the answer's order cannot pass for the order of insertion.
    const newest = await ride(city, at(2));
    const oldest = await ride(city, at(0));
    const middle = await ride(city, at(1));

    const answered = await stores.rides.searchingWithoutLiveOffer(10, [city]);
    expect(answered).toEqual([oldest, middle, newest]);
    const read = await Promise.all([oldest, middle, newest].map((one) => stores.rides.get(one.id)));
    expect(answered).toEqual(read);
    expect(await stores.rides.searchingWithoutLiveOffer(2, [city])).toEqual([oldest, middle]);
  });

  it('When cities are given, then only rides in those cities are answered; without, every city', async () => {
    const [north, south, elsewhere] = [uniqueId('city'), uniqueId('city'), uniqueId('city')];
    const inNorth = await ride(north, at(0));
    const inSouth = await ride(south, at(1));
    const inElsewhere = await ride(elsewhere, at(2));

    expect(await stores.rides.searchingWithoutLiveOffer(10, [north])).toEqual([inNorth]);
    expect(await stores.rides.searchingWithoutLiveOffer(10, [north, south])).toEqual([inNorth, inSouth]);
    expect(await stores.rides.searchingWithoutLiveOffer(10, [])).toEqual([]);
    const everywhere = await stores.rides.searchingWithoutLiveOffer(200);
    expect(everywhere).toEqual(expect.arrayContaining([inNorth, inSouth, inElsewhere]));
  });

  it('When a ride holds a pending offer or stops searching, then it is left out; once the offer is declined, it is back', async () => {
    const city = uniqueId('city');
    const offered = await ride(city, at(0));
    const cancelled = await ride(city, at(1));
    const driverId = uniqueId('driver');
    await stores.drivers.setStatus(driverId, 'online', places.gareDuNord, at(3));
    const offerId = randomUUID();
    expect(
      await stores.offers.insert({
        id: offerId,
        rideId: offered.id,
        driverId,
        status: 'pending',
        createdAt: at(3),
        expiresAt: at(18),
        answeredAt: null,
      }),
    ).toBe(true);
    expect(await stores.rides.searchingWithoutLiveOffer(10, [city])).toEqual([cancelled]);

    const cancellation = { by: 'rider' as const, reason: null };
    const afterCancel = { ...cancelled, status: 'cancelled' as const, cancellation, version: 2 };
    expect(await stores.rides.update({ ...afterCancel, updatedAt: at(4) }, 'searching')).toBe(true);
    expect(await stores.rides.searchingWithoutLiveOffer(10, [city])).toEqual([]);

    expect(await stores.offers.answer(offerId, 'declined', at(5))).toBe(true);
    expect(await stores.rides.searchingWithoutLiveOffer(10, [city])).toEqual([offered]);
  });
});
