import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { places, startTestPlatform, type TestPlatform } from '../support/platform.js';

describeEachBackend("a ride's event log", (backend) => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(backend);
  });
  afterAll(() => t.close());

  it('When a driver drops a ride and another completes it, then ops read every change with who made it and why', async () => {
    const first = await t.driver();
    const second = await t.driver();
    await first.online(places.montparnasse);
    const rider = await t.rider();
    const ride = await rider.requestRide(places.montparnasse, places.gareDeLyon);

    const offer = await first.waitForOffer();
    expect((await first.accept(offer.id)).status).toBe(200);
    expect((await first.cancel(ride.id, 'flat tyre')).body.status).toBe('searching');
    await second.online(places.montparnasse);
    const secondOffer = await second.waitForOffer();
    expect(secondOffer.rideId).toBe(ride.id);
    await second.accept(secondOffer.id);
    for (const step of ['arrive', 'start', 'complete'] as const) await second[step](ride.id);

    const ops = await t.ops();
    const history = await t.request('GET', `/v1/rides/${ride.id}/events`, { token: ops.token });
    expect(history.status).toBe(200);
    expect(
      history.body.map(
        (event: { seq: number; type: string; status: string; actor: object; reason: string | null }) => ({
          seq: event.seq,
          type: event.type,
          status: event.status,
          actor: event.actor,
          reason: event.reason,
        }),
      ),
    ).toEqual([
      {
        seq: 1,
        type: 'ride.requested',
        status: 'searching',
        actor: { role: 'rider', id: rider.id },
        reason: null,
      },
      {
        seq: 2,
        type: 'ride.driver_assigned',
        status: 'driver_assigned',
        actor: { role: 'driver', id: first.id },
        reason: null,
      },
      {
        seq: 3,
        type: 'ride.cancelled',
        status: 'searching',
        actor: { role: 'driver', id: first.id },
        reason: 'flat tyre',
      },
      {
        seq: 4,
        type: 'ride.driver_assigned',
        status: 'driver_assigned',
        actor: { role: 'driver', id: second.id },
        reason: null,
      },
      {
        seq: 5,
        type: 'ride.driver_arrived',
        status: 'driver_arrived',
        actor: { role: 'driver', id: second.id },
        reason: null,
      },
      {
        seq: 6,
        type: 'ride.started',
        status: 'in_progress',
        actor: { role: 'driver', id: second.id },
        reason: null,
      },
      {
        seq: 7,
        type: 'ride.completed',
        status: 'completed',
        actor: { role: 'driver', id: second.id },
        reason: null,
      },
    ]);
    expect((await ops.getRide(ride.id)).body.version).toBe(7);
    await first.offline();
    await second.offline();
  });

  it('When a rider or a driver asks for a ride history, then they are refused; an unknown ride is 404', async () => {
    const rider = await t.rider();
    const ride = await rider.requestRide(places.saintLazare, places.gareDeLyon);
    const driver = await t.driver();
    expect((await t.request('GET', `/v1/rides/${ride.id}/events`, { token: rider.token })).body.title).toBe(
      'AUTH.FORBIDDEN_ROLE',
    );
    expect((await t.request('GET', `/v1/rides/${ride.id}/events`, { token: driver.token })).status).toBe(403);
    const ops = await t.ops();
    const unknown = await t.request('GET', '/v1/rides/3f1c1f9e-9a4b-4c1d-8d2e-1a2b3c4d5e6f/events', {
      token: ops.token,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.title).toBe('RIDE.NOT_FOUND');
    await rider.cancel(ride.id, 'changed my mind');
    const history = await t.request('GET', `/v1/rides/${ride.id}/events`, { token: ops.token });
    expect(history.body.at(-1)).toMatchObject({
      type: 'ride.cancelled',
      status: 'cancelled',
      actor: { role: 'rider', id: rider.id },
      reason: 'changed my mind',
    });
  });
});
