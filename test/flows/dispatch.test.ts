import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createUnitOfWork } from '../../src/adapters/postgres/unit-of-work.js';
import { loadConfig } from '../../src/config.js';
import { createSupplyIndex } from '../../src/dispatch/supply-index.js';
import { createSurgeModel } from '../../src/dispatch/surge.js';
import { cities } from '../../src/domain/city.js';
import type { LatLng } from '../../src/domain/geo.js';
import type { Ride } from '../../src/domain/ride.js';
import { createEstimatedRouting } from '../../src/domain/routing.js';
import { createDispatcher, type Dispatcher } from '../../src/flows/dispatch.js';
import type { FlowDeps, Stores, UnitOfWork } from '../../src/flows/ports.js';
import { createTimers } from '../../src/flows/timers.js';
import { describeEachBackend, type OpenedDatabase } from '../support/backends.js';
import { silentLogger, uniqueId } from '../support/platform.js';
import { insertSearchingRide } from '../support/rides.js';
import { gridSpot, offset } from '../support/scenes.js';

/** 300 m, against `gridSpot`'s 1.1 km spacing: a driver at one spot is near that spot's ride only. */
const MATCH_RADIUS_METERS = 300;
/** A strike peak: many rides searching, nobody free near them. */
const SEARCHING = 60;

/** The stores as the dispatcher sees them, each call recorded by name (`rides.get`). */
const recording = (uow: UnitOfWork) => {
  const calls: string[] = [];
  const wrap = (stores: Stores) =>
    Object.fromEntries(
      Object.entries(stores).map(([store, methods]) => [
        store,
        Object.fromEntries(
          Object.entries(methods as Record<string, (...args: unknown[]) => unknown>).map(([method, call]) => [
            method,
            (...args: unknown[]) => {
              calls.push(`${store}.${method}`);
              return call(...args);
            },
          ]),
        ),
      ]),
    ) as unknown as Stores;
  const recorded: UnitOfWork = {
    stores: wrap(uow.stores),
    transact: (work) => uow.transact((stores) => work(wrap(stores))),
  };
  return { uow: recorded, calls };
};

describeEachBackend('dispatch sweep: searching rides with nobody near', (backend) => {
  let opened: OpenedDatabase;
  let uow: UnitOfWork;
  let calls: string[];
  let deps: FlowDeps;
  let dispatcher: Dispatcher;
  let spot = 0;
  /** Pickups on spots no other case uses. */
  const nextSpots = (count: number) => Array.from({ length: count }, () => gridSpot(spot++));

  const book = (pickup: LatLng, createdAt = new Date(), searchWindowMs?: number) =>
    insertSearchingRide(uow.stores, {
      city: 'paris',
      pickup,
      createdAt,
      ...(searchWindowMs === undefined ? {} : { searchWindowMs }),
    });

  const comeOnline = async (at: LatLng) => {
    const driverId = uniqueId('driver');
    await uow.stores.drivers.setStatus(driverId, 'online', at, new Date());
    deps.supply.upsert(driverId, { ...at, heading: null, seenAtMs: Date.now() });
    return driverId;
  };

  beforeAll(async () => {
    opened = await backend.open();
    await migrate(opened.database);
    uow = createUnitOfWork(opened.database);
    const recorded = recording(uow);
    calls = recorded.calls;
    deps = {
      uow: recorded.uow,
      supply: createSupplyIndex(),
      clock: { now: () => new Date() },
      cities,
      routing: createEstimatedRouting(),
      surge: createSurgeModel(),
      settings: { ...loadConfig({}).dispatch, matchRadiusMeters: MATCH_RADIUS_METERS },
    };
    dispatcher = createDispatcher(deps, silentLogger);
  });
  beforeEach(() => {
    calls.length = 0;
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await opened?.cleanup();
  });

  it('When rides search with no free driver near any of them, then a sweep reads none of them: one query however many there are', async () => {
    const pickups = nextSpots(SEARCHING);
    for (const pickup of pickups) await book(pickup);
    // A free driver, but kilometres from every pickup.
    await comeOnline(offset(pickups[0]!, -5000));
    calls.length = 0;

    await dispatcher.sweep();
    await dispatcher.sweep();
    expect(calls).toEqual(['rides.searchingWithoutLiveOffer', 'rides.searchingWithoutLiveOffer']);
  });

  it('When a driver comes online near one of them, then the next sweep offers that ride without reading it again', async () => {
    const rides: Ride[] = [];
    for (const pickup of nextSpots(SEARCHING)) rides.push(await book(pickup));
    await dispatcher.sweep();
    const near = rides[SEARCHING / 2]!;
    const driverId = await comeOnline(offset(near.pickup, 100));
    calls.length = 0;

    await dispatcher.sweep();
    expect(await uow.stores.offers.pendingForRide(near.id)).toMatchObject({ driverId, status: 'pending' });
    // The sweep's row is the ride: only the race check is read, and only for the ride that had a driver near.
    expect(calls).not.toContain('rides.get');
    expect(calls.filter((call) => call === 'offers.pendingForRide')).toHaveLength(1);
    const stillSearching = await uow.stores.rides.searchingWithoutLiveOffer(1000, ['paris']);
    expect(stillSearching.map((ride) => ride.id)).toEqual(
      expect.arrayContaining(rides.filter((ride) => ride !== near).map((ride) => ride.id)),
    );
    expect(stillSearching.map((ride) => ride.id)).not.toContain(near.id);
  });

  it('When a ride with nobody near reaches its search deadline, then the timers expire it, though no sweep considered it', async () => {
    const [pickup] = nextSpots(1);
    const past = await book(pickup!, new Date(Date.now() - 60_000), 1000);
    await dispatcher.sweep();
    expect(calls).toEqual(['rides.searchingWithoutLiveOffer']);

    await createTimers(deps, silentLogger).pass();
    expect(await uow.stores.rides.get(past.id)).toMatchObject({ status: 'expired' });
  });
});
