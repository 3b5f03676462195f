import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createOsrmRouting,
  type OsrmFallbackEvent,
  OsrmUnavailableError,
  planChunks,
} from '../../src/adapters/routing/osrm.js';
import { cities } from '../../src/domain/city.js';
import { distanceMeters, type LatLng } from '../../src/domain/geo.js';
import {
  createEstimatedRouting,
  type RoutingPort,
  roadSpeedKmh,
  speedBoundsKmh,
  type TravelTable,
} from '../../src/domain/routing.js';

const paris = cities.find((city) => city.id === 'paris')!;
const stations = {
  gareDuNord: { lat: 48.8809, lng: 2.3553 },
  gareDeLyon: { lat: 48.8443, lng: 2.3743 },
  saintLazare: { lat: 48.8763, lng: 2.3253 },
  montparnasse: { lat: 48.8412, lng: 2.3206 },
  laDefense: { lat: 48.8918, lng: 2.238 },
} satisfies Record<string, LatLng>;
/** 03:30 on a Thursday in Paris: the fastest hour of the profile, where durations are not scaled. */
const night = new Date('2024-06-13T01:30:00Z');
/** 18:30 on the same Thursday: evening rush. */
const rush = new Date('2024-06-13T16:30:00Z');

// ---------------------------------------------------------------------------------------------
// A small osrm-routed stand-in that speaks the documented `table` format
// (https://github.com/Project-OSRM/osrm-backend/blob/master/docs/http.md#table-service):
// coordinates are `lng,lat;…`, `sources`/`destinations` are `;`-separated indices (default all),
// the answer is `{code:'Ok', durations, distances, sources, destinations}` in row-major order with
// null for "no route", and errors are HTTP 400 with `{code, message}`.
// Its roads: 10 m/s along 1.4 × the great-circle distance. Points north of 49.0° are on an island
// (no route to or from the rest); points south of 0° are at sea (they do not snap: NoSegment).

const FAKE_DETOUR = 1.4;
const FAKE_METRES_PER_SECOND = 10;
const onIsland = (point: LatLng) => point.lat > 49;
const atSea = (point: LatLng) => point.lat < 0;

interface Received {
  path: string;
  coordinates: LatLng[];
  sources: number[];
  destinations: number[];
  query: URLSearchParams;
}

interface HttpReply {
  status: number;
  body: string;
  delayMs?: number;
}
type Reply = HttpReply | 'hang-up';
/** Lets a test answer some requests its own way; undefined falls through to the documented behaviour. */
let override: ((request: Received, count: number) => Reply | undefined) | undefined;
let received: Received[] = [];

const json = (status: number, body: unknown): HttpReply => ({ status, body: JSON.stringify(body) });

const indices = (value: string | null, count: number): number[] =>
  value === null || value === 'all' ? [...Array(count).keys()] : value.split(';').map(Number);

const documentedAnswer = (request: Received): Reply => {
  const { coordinates, sources, destinations, query } = request;
  // osrm-routed's --max-table-size check, in both its old (coordinates) and new (pairs) forms.
  if (coordinates.length > 100 || sources.length * destinations.length > 100 * 100) {
    return json(400, { code: 'TooBig', message: 'Too many table coordinates' });
  }
  const missing = coordinates.findIndex(atSea);
  if (missing >= 0) {
    return json(400, {
      code: 'NoSegment',
      message: `Could not find a matching segment for coordinate ${missing}`,
    });
  }
  const annotations = (query.get('annotations') ?? 'duration').split(',');
  const cell = (from: LatLng, to: LatLng, unit: 'seconds' | 'meters') => {
    if (onIsland(from) !== onIsland(to)) return null;
    const road = distanceMeters(from, to) * FAKE_DETOUR;
    return Math.round((unit === 'seconds' ? road / FAKE_METRES_PER_SECOND : road) * 10) / 10;
  };
  const matrix = (unit: 'seconds' | 'meters') =>
    sources.map((s) => destinations.map((d) => cell(coordinates[s]!, coordinates[d]!, unit)));
  const waypoint = (i: number) => ({
    location: [coordinates[i]!.lng, coordinates[i]!.lat],
    name: '',
    hint: 'x',
    distance: 0,
  });
  return json(200, {
    code: 'Ok',
    sources: sources.map(waypoint),
    destinations: destinations.map(waypoint),
    ...(annotations.includes('duration') ? { durations: matrix('seconds') } : {}),
    ...(annotations.includes('distance') ? { distances: matrix('meters') } : {}),
  });
};

const handle = (req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://fake');
  const match = /^\/osrm\/table\/v1\/driving\/([^/]+)$/.exec(url.pathname);
  if (!match) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        code: 'InvalidUrl',
        message: `URL string malformed close to position 1: ${url.pathname}`,
      }),
    );
    return;
  }
  const coordinates = decodeURIComponent(match[1]!)
    .split(';')
    .map((pair) => {
      const [lng, lat] = pair.split(',').map(Number);
      return { lat: lat!, lng: lng! };
    });
  const request: Received = {
    path: req.url!,
    coordinates,
    sources: indices(url.searchParams.get('sources'), coordinates.length),
    destinations: indices(url.searchParams.get('destinations'), coordinates.length),
    query: url.searchParams,
  };
  received.push(request);
  const reply = override?.(request, received.length) ?? documentedAnswer(request);
  if (reply === 'hang-up') {
    req.socket.destroy();
    return;
  }
  setTimeout(() => {
    if (res.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(reply.body);
  }, reply.delayMs ?? 0);
};

let server: Server;
let url: string;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/osrm/`;
});

afterEach(async () => {
  override = undefined;
  received = [];
  await Promise.all(opened.splice(0).map((routing) => routing.close()));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const routingWith = (options: Partial<Parameters<typeof createOsrmRouting>[0]> = {}) => {
  const routing = createOsrmRouting({ url, timeoutMs: 2_000, ...options });
  opened.push(routing);
  return routing;
};

/** What the fake's roads give for a pair, before any time-of-day scaling. */
const fakeSeconds = (from: LatLng, to: LatLng) =>
  Math.round(((distanceMeters(from, to) * FAKE_DETOUR) / FAKE_METRES_PER_SECOND) * 10) / 10;
const fakeMeters = (from: LatLng, to: LatLng) => Math.round(distanceMeters(from, to) * FAKE_DETOUR * 10) / 10;

const everyCell = (table: TravelTable) =>
  Array.from({ length: table.sourceCount }, (_, s) =>
    Array.from({ length: table.destinationCount }, (_, d) => [table.seconds(s, d), table.meters(s, d)]),
  );

/** Points scattered over Paris, reproducibly, at the six decimals the adapter sends. */
const scatter = (count: number, seed: number): LatLng[] =>
  fc
    .sample(
      fc.record({
        lat: fc.double({ min: 48.8, max: 48.92, noNaN: true }),
        lng: fc.double({ min: 2.25, max: 2.42, noNaN: true }),
      }),
      { numRuns: count, seed },
    )
    .map(({ lat, lng }) => ({ lat: Number(lat.toFixed(6)), lng: Number(lng.toFixed(6)) }));

describe('OSRM table adapter, against a local server that speaks the documented format', () => {
  it('When a table is asked, then the URL carries lng,lat pairs, sources then destinations by index, and both annotations, and the answer is read row by row', async () => {
    const routing = routingWith({ timeOfDay: 'ignore' });
    const sources = [stations.gareDuNord, stations.saintLazare];
    const destinations = [stations.gareDeLyon, stations.montparnasse, stations.laDefense];
    const table = await routing.table({ model: paris.road, sources, destinations, at: rush });

    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.path).toMatch(
      /^\/osrm\/table\/v1\/driving\/2\.355300,48\.880900;2\.325300,48\.876300;2\.374300,48\.844300;2\.320600,48\.841200;2\.238000,48\.891800\?/,
    );
    expect(request!.query.get('sources')).toBe('0;1');
    expect(request!.query.get('destinations')).toBe('2;3;4');
    expect(request!.query.get('annotations')).toBe('duration,distance');
    expect(request!.query.has('radiuses')).toBe(false);

    expect([table.sourceCount, table.destinationCount]).toEqual([2, 3]);
    sources.forEach((from, s) => {
      destinations.forEach((to, d) => {
        expect(table.seconds(s, d)).toBe(fakeSeconds(from, to));
        expect(table.meters(s, d)).toBe(fakeMeters(from, to));
      });
    });
    expect(routing.fallbacks).toBe(0);
  });

  it("When durations are scaled by the time of day, then they are OSRM's at the fastest hour and longer by the profile's ratio in the rush", async () => {
    const routing = routingWith();
    const request = { model: paris.road, sources: [stations.gareDuNord], destinations: [stations.laDefense] };
    const raw = fakeSeconds(stations.gareDuNord, stations.laDefense);
    const atNight = await routing.table({ ...request, at: night });
    const inRush = await routing.table({ ...request, at: rush });
    expect(roadSpeedKmh(paris.road, night)).toBe(speedBoundsKmh(paris.road).max);
    expect(atNight.seconds(0, 0)).toBeCloseTo(raw, 9);
    const ratio = speedBoundsKmh(paris.road).max / roadSpeedKmh(paris.road, rush);
    expect(ratio).toBeGreaterThan(1.5);
    expect(inRush.seconds(0, 0)).toBeCloseTo(raw * ratio, 9);
    // Distances do not depend on the hour.
    expect(inRush.meters(0, 0)).toBe(atNight.meters(0, 0));
  });

  it('When a table needs more than 100 coordinates, then it is split into requests of at most 100 that together give the same cells as one big table', async () => {
    const routing = routingWith({ timeOfDay: 'ignore' });
    for (const [sourceCount, destinationCount, seed] of [
      [1, 250, 1],
      [150, 150, 2],
      [120, 3, 3],
    ] as const) {
      received = [];
      const sources = scatter(sourceCount, seed);
      const destinations = scatter(destinationCount, seed + 100);
      const table = await routing.table({ model: paris.road, sources, destinations, at: night });
      expect(received.length).toBeGreaterThan(1);
      for (const request of received) {
        expect(request.coordinates.length).toBeLessThanOrEqual(100);
        // Sources first, then destinations, each index once.
        expect([...request.sources, ...request.destinations]).toEqual([...request.coordinates.keys()]);
      }
      const asked = received.reduce((sum, r) => sum + r.sources.length * r.destinations.length, 0);
      expect(asked).toBe(sourceCount * destinationCount);
      sources.forEach((from, s) => {
        destinations.forEach((to, d) => {
          expect(table.seconds(s, d)).toBe(fakeSeconds(from, to));
        });
      });
    }
    // 1 × 250 goes in three requests of 1 + 99 destinations or fewer, not 125 of 1 + 1.
    expect(planChunks([0], [...Array(250).keys()], 100)).toHaveLength(3);
  });

  it('When any table is planned, then every source × destination pair is asked exactly once and no request exceeds the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 2, max: 120 }),
        (sourceCount, destinationCount, max) => {
          const chunks = planChunks([...Array(sourceCount).keys()], [...Array(destinationCount).keys()], max);
          const asked = new Uint16Array(sourceCount * destinationCount);
          const largest = chunks.reduce(
            (most, chunk) => Math.max(most, chunk.sources.length + chunk.destinations.length),
            0,
          );
          expect(largest).toBeLessThanOrEqual(max);
          for (const chunk of chunks) {
            for (const s of chunk.sources)
              for (const d of chunk.destinations) asked[s * destinationCount + d]!++;
          }
          expect(asked.every((times) => times === 1)).toBe(true);
        },
      ),
    );
  });

  it('When OSRM finds no route for some pairs (null cells), then those pairs are unroutable and the others answered', async () => {
    const routing = routingWith({ timeOfDay: 'ignore' });
    const island = { lat: 49.02, lng: 2.3 };
    const table = await routing.table({
      model: paris.road,
      sources: [stations.gareDuNord, island],
      destinations: [stations.gareDeLyon, island],
      at: night,
    });
    expect(everyCell(table)).toEqual([
      [
        [
          fakeSeconds(stations.gareDuNord, stations.gareDeLyon),
          fakeMeters(stations.gareDuNord, stations.gareDeLyon),
        ],
        [null, null],
      ],
      [
        [null, null],
        [0, 0],
      ],
    ]);
    expect(routing.fallbacks).toBe(0);
  });

  it('When a point does not snap to any road (NoSegment), then that point alone is unroutable: it is dropped and the rest asked again', async () => {
    const routing = routingWith({ timeOfDay: 'ignore', snapRadiusMeters: 250 });
    const sea = { lat: -10, lng: -20 };
    const table = await routing.table({
      model: paris.road,
      sources: [stations.gareDuNord, sea, stations.saintLazare],
      destinations: [stations.gareDeLyon, sea],
      at: night,
    });
    expect(received).toHaveLength(3); // first sea point (a source), then the second (a destination), then the answer
    expect(received[0]!.query.get('radiuses')).toBe('250;250;250;250;250');
    expect(received[2]!.coordinates).toEqual([
      stations.gareDuNord,
      stations.saintLazare,
      stations.gareDeLyon,
    ]);
    expect(table.seconds(0, 0)).toBe(fakeSeconds(stations.gareDuNord, stations.gareDeLyon));
    expect(table.seconds(2, 0)).toBe(fakeSeconds(stations.saintLazare, stations.gareDeLyon));
    for (const [s, d] of [
      [1, 0],
      [1, 1],
      [0, 1],
      [2, 1],
    ] as const) {
      expect(table.seconds(s, d)).toBeNull();
    }
    expect(routing.fallbacks).toBe(0);
  });

  it('When a point is not a valid coordinate, then it is never sent and is unroutable', async () => {
    const routing = routingWith({ timeOfDay: 'ignore' });
    const table = await routing.table({
      model: paris.road,
      sources: [{ lat: Number.NaN, lng: 2.3 }, stations.gareDuNord],
      destinations: [stations.gareDeLyon, { lat: 95, lng: 2.3 }],
      at: night,
    });
    expect(received).toHaveLength(1);
    expect(received[0]!.coordinates).toEqual([stations.gareDuNord, stations.gareDeLyon]);
    expect(everyCell(table)).toEqual([
      [
        [null, null],
        [null, null],
      ],
      [
        [
          fakeSeconds(stations.gareDuNord, stations.gareDeLyon),
          fakeMeters(stations.gareDuNord, stations.gareDeLyon),
        ],
        [null, null],
      ],
    ]);
  });

  it('When a table has no sources or no destinations, then nothing is sent', async () => {
    const routing = routingWith();
    const table = await routing.table({
      model: paris.road,
      sources: [],
      destinations: [stations.laDefense],
      at: night,
    });
    expect([table.sourceCount, table.destinationCount]).toEqual([0, 1]);
    expect(received).toHaveLength(0);
  });

  it('When distances are not wanted (an old MLD server), then only durations are asked and metres are null', async () => {
    const routing = routingWith({ timeOfDay: 'ignore', distances: false });
    const table = await routing.table({
      model: paris.road,
      sources: [stations.gareDuNord],
      destinations: [stations.laDefense],
      at: night,
    });
    expect(received[0]!.query.get('annotations')).toBe('duration');
    expect(table.seconds(0, 0)).toBe(fakeSeconds(stations.gareDuNord, stations.laDefense));
    expect(table.meters(0, 0)).toBeNull();
  });
});

describe('OSRM table adapter, when OSRM fails', () => {
  const estimated = createEstimatedRouting();
  const sources = [stations.gareDuNord, stations.saintLazare];
  const destinations = [stations.gareDeLyon, stations.laDefense];

  const failures: Array<[string, Reply, OsrmFallbackEvent['reason'], RegExp]> = [
    [
      'answers slower than the timeout',
      { ...json(200, { code: 'Ok' }), delayMs: 2_000 },
      'timeout',
      /within 150 ms/,
    ],
    [
      'answers an error code',
      json(400, { code: 'InvalidQuery', message: 'Query string malformed' }),
      'osrm-error',
      /InvalidQuery/,
    ],
    [
      'answers HTTP 502 from a proxy, not JSON',
      { status: 502, body: '<html>Bad Gateway</html>' },
      'http-status',
      /502/,
    ],
    [
      'answers Ok with a table of the wrong shape',
      json(200, { code: 'Ok', durations: [[1]] }),
      'bad-response',
      /2×2/,
    ],
    ['hangs up', 'hang-up', 'network', /./],
  ];

  it.each(failures)(
    'When the server %s and there is a fallback, then the fallback answers, is counted and is reported',
    async (_what, reply, reason) => {
      override = () => reply;
      const events: OsrmFallbackEvent[] = [];
      const routing = routingWith({
        timeoutMs: 150,
        fallback: estimated,
        onFallback: (event) => events.push(event),
      });
      const started = performance.now();
      const table = await routing.table({ model: paris.road, sources, destinations, at: rush });
      const elapsed = performance.now() - started;
      const expected = await estimated.table({ model: paris.road, sources, destinations, at: rush });
      expect(everyCell(table)).toEqual(everyCell(expected));
      expect(routing.fallbacks).toBe(1);
      expect(events).toEqual([{ reason, detail: expect.any(String), pairs: 4 }]);
      // A slow server costs the timeout, not its own delay.
      expect(elapsed).toBeLessThan(1_500);
    },
  );

  it.each(failures)(
    'When the server %s and there is no fallback, then the table fails with a message that says why',
    async (_what, reply, reason, detail) => {
      override = () => reply;
      const routing = routingWith({ timeoutMs: 150 });
      const failure = routing.table({ model: paris.road, sources, destinations, at: rush });
      await expect(failure).rejects.toBeInstanceOf(OsrmUnavailableError);
      await expect(failure).rejects.toMatchObject({ reason, message: expect.stringMatching(detail) });
      await expect(failure).rejects.toThrow(/^OSRM table service unavailable/);
    },
  );

  it('When nothing listens at the URL, then the fallback answers and the reason is a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const events: OsrmFallbackEvent[] = [];
    const routing = createOsrmRouting({
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 500,
      fallback: estimated,
      onFallback: (event) => events.push(event),
    });
    opened.push(routing);
    const table = await routing.table({ model: paris.road, sources, destinations, at: rush });
    expect(table.seconds(0, 0)).toBeGreaterThan(0);
    expect(events.map((event) => event.reason)).toEqual(['network']);
    await expect(
      createOsrmRouting({ url: `http://127.0.0.1:${port}`, timeoutMs: 500 }).table({
        model: paris.road,
        sources,
        destinations,
        at: rush,
      }),
    ).rejects.toMatchObject({ reason: 'network', message: expect.stringContaining(`127.0.0.1:${port}`) });
  });

  it('When one request of a split table fails, then only its part comes from the fallback', async () => {
    override = (_request, count) =>
      count === 2 ? json(400, { code: 'NoTable', message: 'No table found' }) : undefined;
    const events: OsrmFallbackEvent[] = [];
    const routing = routingWith({
      timeOfDay: 'ignore',
      maxTableSize: 3,
      fallback: estimated,
      onFallback: (event) => events.push(event),
    });
    const many = scatter(4, 7);
    const table = await routing.table({
      model: paris.road,
      sources: many,
      destinations: [stations.laDefense],
      at: night,
    });
    expect(received).toHaveLength(2); // two sources + one destination per request
    expect(events).toEqual([{ reason: 'osrm-error', detail: expect.stringContaining('NoTable'), pairs: 2 }]);
    const fromOsrm = many.filter((from, s) => table.seconds(s, 0) === fakeSeconds(from, stations.laDefense));
    expect(fromOsrm).toHaveLength(2);
  });

  it('When the fallback itself fails, then the table fails with its error', async () => {
    override = () => json(400, { code: 'InvalidQuery' });
    const broken: RoutingPort = { table: () => Promise.reject(new Error('fallback down')) };
    const routing = routingWith({ fallback: broken });
    await expect(routing.table({ model: paris.road, sources, destinations, at: rush })).rejects.toThrow(
      'fallback down',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Against a real osrm-routed. To run it:
//   wget https://download.geofabrik.de/europe/france/ile-de-france-latest.osm.pbf
//   docker run -t -v "$PWD:/data" ghcr.io/project-osrm/osrm-backend osrm-extract -p /opt/car.lua /data/ile-de-france-latest.osm.pbf
//   docker run -t -v "$PWD:/data" ghcr.io/project-osrm/osrm-backend osrm-partition /data/ile-de-france-latest.osrm
//   docker run -t -v "$PWD:/data" ghcr.io/project-osrm/osrm-backend osrm-customize /data/ile-de-france-latest.osrm
//   docker run -t -p 5000:5000 -v "$PWD:/data" ghcr.io/project-osrm/osrm-backend osrm-routed --algorithm mld /data/ile-de-france-latest.osrm
//   OSRM_URL=http://127.0.0.1:5000 npx vitest run test/adapters/osrm.test.ts

const liveUrl = process.env.OSRM_URL;

describe.skipIf(!liveUrl)(
  'OSRM table adapter, live (needs OSRM_URL pointing at an osrm-routed server with an extract covering Paris (e.g. ile-de-france from Geofabrik, built with the car profile))',
  () => {
    const points = Object.values(stations);
    const straightSeconds = (from: LatLng, to: LatLng, kmh: number) => (distanceMeters(from, to) * 3.6) / kmh;

    it('When the main Paris stations are tabled, then every trip takes longer than at 130 km/h in a straight line and less than at 5 km/h', async () => {
      const routing = createOsrmRouting({ url: liveUrl!, timeoutMs: 5_000, timeOfDay: 'ignore' });
      try {
        const table = await routing.table({
          model: paris.road,
          sources: points,
          destinations: points,
          at: night,
        });
        points.forEach((from, s) => {
          points.forEach((to, d) => {
            const seconds = table.seconds(s, d);
            expect(seconds, `${s} → ${d}`).not.toBeNull();
            if (s === d) return;
            expect(seconds!).toBeGreaterThan(straightSeconds(from, to, 130));
            expect(seconds!).toBeLessThan(straightSeconds(from, to, 5));
            const meters = table.meters(s, d);
            // Old MLD servers have no distances; when there are, roads are longer than a straight line.
            if (meters !== null) expect(meters).toBeGreaterThan(distanceMeters(from, to) * 0.95);
          });
        });
        expect(routing.fallbacks).toBe(0);
      } finally {
        await routing.close();
      }
    });

    it('When the same trips start in the evening rush, then they take longer than at night', async () => {
      const routing = createOsrmRouting({ url: liveUrl!, timeoutMs: 5_000 });
      try {
        const request = {
          model: paris.road,
          sources: [stations.gareDuNord],
          destinations: [stations.laDefense],
        };
        const atNight = await routing.table({ ...request, at: night });
        const inRush = await routing.table({ ...request, at: rush });
        expect(inRush.seconds(0, 0)!).toBeGreaterThan(atNight.seconds(0, 0)!);
      } finally {
        await routing.close();
      }
    });

    it('When a point lies far from any road of the extract (the Atlantic), then it alone is unroutable', async () => {
      const routing = createOsrmRouting({ url: liveUrl!, timeoutMs: 5_000, snapRadiusMeters: 1_000 });
      try {
        const atlantic = { lat: 46, lng: -8 };
        const table = await routing.table({
          model: paris.road,
          sources: [stations.gareDuNord, atlantic],
          destinations: [stations.gareDeLyon, atlantic],
          at: night,
        });
        expect(table.seconds(0, 0)).toBeGreaterThan(0);
        expect(table.seconds(0, 1)).toBeNull();
        expect(table.seconds(1, 0)).toBeNull();
        expect(table.seconds(1, 1)).toBeNull();
        expect(routing.fallbacks).toBe(0);
      } finally {
        await routing.close();
      }
    });
  },
);
