import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { places, startTestPlatform, type TestPlatform } from '../support/platform.js';

describeEachBackend('a ride from quote to completion', (backend) => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(backend);
  });
  afterAll(() => t.close());

  it('When a rider books near an online driver, then the driver is offered it and carries it to completion', async () => {
    const driver = await t.driver();
    expect((await driver.online(places.gareDuNord)).status).toBe(200);
    const rider = await t.rider();

    const quote = await rider.quote(places.gareDuNord, places.gareDeLyon);
    expect(quote.status).toBe(201);
    expect(quote.body.fare.currency).toBe('EUR');
    expect(quote.body.pickupEtaSeconds).toEqual(expect.any(Number));

    const booked = await rider.book(quote.body.quoteId);
    expect(booked.status).toBe(201);
    expect(booked.body).toMatchObject({
      status: 'searching',
      riderId: rider.id,
      driverId: null,
      fare: quote.body.fare,
    });

    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(booked.body.id);
    const accepted = await driver.accept(offer.id);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'driver_assigned', driverId: driver.id });

    expect((await driver.arrive(booked.body.id)).body.status).toBe('driver_arrived');
    expect((await driver.start(booked.body.id)).body.status).toBe('in_progress');
    const completed = await driver.complete(booked.body.id);
    expect(completed.body).toMatchObject({ status: 'completed', fare: quote.body.fare });

    const seenByRider = await rider.getRide(booked.body.id);
    expect(seenByRider.body.status).toBe('completed');
    await driver.offline();
  });
});
