import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/domain/errors.js';
import { describeEachBackend } from '../support/backends.js';
import {
  type DriverClient,
  places,
  type Reply,
  type RiderClient,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.js';
import { expectProblem, gridSpot, isolatedGridEnv, UNKNOWN_ID } from '../support/scenes.js';

/**
 * Bad input on every v1 route: each refusal is a 4xx problem+json whose title is the expected
 * code, with a useful detail, and it changes nothing stored. The resources the routes act on
 * (rides in every state, a live offer) are real, so a request wrongly let through would show
 * up as a changed ride or offer.
 */

const dropoff = places.gareDeLyon;

/** Passes the loose "uuid" format check but is not an id PostgreSQL accepts. */
const URN_ID = `urn:uuid:${UNKNOWN_ID}`;
const JSON_TYPE = { 'content-type': 'application/json' };
/** Used by every refused booking; a refusal must not burn it (see the last booking test). */
const REFUSED_KEY = `refused-${randomUUID()}`;

interface StagedRide {
  rider: RiderClient;
  driver: DriverClient;
  rideId: string;
  offerId: string;
}

interface Fixtures {
  ops: { token: string; getRide(id: string): Promise<Reply> };
  /** A ride nobody is near: it stays `searching`, with no offer. */
  searching: { rider: RiderClient; rideId: string };
  /** A ride whose offer is live with `driver`. */
  offered: StagedRide;
  assigned: StagedRide;
  arrived: StagedRide;
  inProgress: StagedRide;
  completed: StagedRide;
  /** A rider with an unused quote and no ride, for the booking cases. */
  booker: { rider: RiderClient; quoteId: string };
  /** Target of every refused go-online request: must still be offline at the end. */
  neverOnline: DriverClient;
  /** Never goes online at all. */
  stranger: DriverClient;
  /** Went online, then offline. */
  wentOffline: DriverClient;
}

const setUp = async (t: TestPlatform): Promise<Fixtures> => {
  let next = 0;
  const spot = () => gridSpot(next++);

  const stage = async (
    until: 'offered' | 'driver_assigned' | 'driver_arrived' | 'in_progress' | 'completed',
  ): Promise<StagedRide> => {
    const at = spot();
    const driver = await t.driver();
    expect((await driver.online(at)).status).toBe(200);
    const rider = await t.rider();
    const ride = await rider.requestRide(at, dropoff);
    const offer = await driver.waitForOffer();
    expect(offer.rideId).toBe(ride.id);
    const staged = { rider, driver, rideId: ride.id, offerId: offer.id };
    if (until === 'offered') return staged;
    expect((await driver.accept(offer.id)).body.status).toBe('driver_assigned');
    if (until === 'driver_assigned') return staged;
    expect((await driver.arrive(ride.id)).body.status).toBe('driver_arrived');
    if (until === 'driver_arrived') return staged;
    expect((await driver.start(ride.id)).body.status).toBe('in_progress');
    if (until === 'in_progress') return staged;
    expect((await driver.complete(ride.id)).body.status).toBe('completed');
    // Free again at its spot: take it off the road.
    expect((await driver.offline()).status).toBe(200);
    return staged;
  };

  const searchingRider = await t.rider();
  const searchingRide = await searchingRider.requestRide(spot(), dropoff);

  const booker = await t.rider();
  const quote = await booker.quote(spot(), dropoff);
  expect(quote.status).toBe(201);

  const wentOffline = await t.driver();
  expect((await wentOffline.online(spot())).status).toBe(200);
  expect((await wentOffline.offline()).status).toBe(200);

  return {
    ops: await t.ops(),
    searching: { rider: searchingRider, rideId: searchingRide.id },
    offered: await stage('offered'),
    assigned: await stage('driver_assigned'),
    arrived: await stage('driver_arrived'),
    inProgress: await stage('in_progress'),
    completed: await stage('completed'),
    booker: { rider: booker, quoteId: quote.body.quoteId },
    neverOnline: await t.driver(),
    stranger: await t.driver(),
    wentOffline,
  };
};

/** Everything a refused request could have changed, read back through the API. */
const snapshot = async (f: Fixtures) => {
  const rideIds = [
    f.searching.rideId,
    f.offered.rideId,
    f.assigned.rideId,
    f.arrived.rideId,
    f.inProgress.rideId,
    f.completed.rideId,
  ];
  const rides = await Promise.all(rideIds.map((id) => f.ops.getRide(id)));
  const liveOffers = await f.offered.driver.offers();
  return {
    rides: rides.map((reply) => ({ status: reply.status, ride: reply.body })),
    liveOffers: { status: liveOffers.status, offers: liveOffers.body },
  };
};

type Send = (t: TestPlatform, f: Fixtures) => Promise<Reply>;

interface Case {
  when: string;
  status: number;
  code: ErrorCode;
  send: Send;
}

/** A POST route, what it acts on, and (when it takes one) a body it would accept. */
interface PostRoute {
  route: string;
  url(f: Fixtures): string;
  token(f: Fixtures): string | undefined;
  headers?(f: Fixtures): Record<string, string>;
  valid?(f: Fixtures): Record<string, unknown>;
}

const postRoutes: PostRoute[] = [
  {
    route: 'POST /v1/dev/tokens',
    url: () => '/v1/dev/tokens',
    token: () => undefined,
    valid: () => ({ role: 'rider', subject: `rider-${randomUUID().slice(0, 8)}` }),
  },
  {
    route: 'POST /v1/quotes',
    url: () => '/v1/quotes',
    token: (f) => f.booker.rider.token,
    valid: () => ({ pickup: places.gareDuNord, dropoff }),
  },
  {
    route: 'POST /v1/rides',
    url: () => '/v1/rides',
    token: (f) => f.booker.rider.token,
    headers: () => ({ 'idempotency-key': REFUSED_KEY }),
    valid: (f) => ({ quoteId: f.booker.quoteId }),
  },
  {
    route: 'POST /v1/rides/:id/cancel',
    url: (f) => `/v1/rides/${f.searching.rideId}/cancel`,
    token: (f) => f.searching.rider.token,
    valid: () => ({ reason: 'changed my mind' }),
  },
  {
    route: 'POST /v1/drivers/me/online',
    url: () => '/v1/drivers/me/online',
    token: (f) => f.neverOnline.token,
    valid: () => gridSpot(700),
  },
  {
    // The driver holds a live offer: going offline would decline it, which the snapshot would show.
    route: 'POST /v1/drivers/me/offline',
    url: () => '/v1/drivers/me/offline',
    token: (f) => f.offered.driver.token,
  },
  {
    route: 'POST /v1/drivers/me/location',
    url: () => '/v1/drivers/me/location',
    token: (f) => f.offered.driver.token,
    valid: () => ({ ...gridSpot(701), heading: 90, speed: 8 }),
  },
  {
    route: 'POST /v1/offers/:id/accept',
    url: (f) => `/v1/offers/${f.offered.offerId}/accept`,
    token: (f) => f.offered.driver.token,
  },
  {
    route: 'POST /v1/offers/:id/decline',
    url: (f) => `/v1/offers/${f.offered.offerId}/decline`,
    token: (f) => f.offered.driver.token,
  },
  {
    route: 'POST /v1/rides/:id/arrive',
    url: (f) => `/v1/rides/${f.assigned.rideId}/arrive`,
    token: (f) => f.assigned.driver.token,
  },
  {
    route: 'POST /v1/rides/:id/start',
    url: (f) => `/v1/rides/${f.arrived.rideId}/start`,
    token: (f) => f.arrived.driver.token,
  },
  {
    route: 'POST /v1/rides/:id/complete',
    url: (f) => `/v1/rides/${f.inProgress.rideId}/complete`,
    token: (f) => f.inProgress.driver.token,
  },
];

/** Faults of the body as a whole, the same on every POST route. */
const bodyFaults = (r: PostRoute): Case[] => {
  const send =
    (payload: { body?: unknown; rawBody?: string; contentType?: string }): Send =>
    (t, f) => {
      const token = r.token(f);
      const headers: Record<string, string> = { ...r.headers?.(f) };
      if (payload.contentType) headers['content-type'] = payload.contentType;
      return t.request('POST', r.url(f), {
        ...(token ? { token } : {}),
        headers,
        ...(payload.body !== undefined ? { body: payload.body } : {}),
        ...(payload.rawBody !== undefined ? { rawBody: payload.rawBody } : {}),
      });
    };
  const valid = (f: Fixtures) => r.valid?.(f) ?? {};
  return [
    {
      when: 'the body is malformed JSON',
      status: 400,
      code: 'REQUEST.MALFORMED_JSON',
      send: send({ rawBody: '{"lat": 48.85, ', contentType: 'application/json' }),
    },
    {
      when: 'the body is empty but declared as JSON',
      status: 400,
      code: 'REQUEST.MALFORMED_JSON',
      send: send({ rawBody: '', contentType: 'application/json' }),
    },
    {
      when: 'the body is text/plain',
      status: 415,
      code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      send: (t, f) => send({ rawBody: JSON.stringify(valid(f)), contentType: 'text/plain' })(t, f),
    },
    {
      when: 'the body is form-encoded',
      status: 415,
      code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      send: send({ rawBody: 'lat=48.85&lng=2.35', contentType: 'application/x-www-form-urlencoded' }),
    },
    {
      when: 'the body is over the 16 KiB limit',
      status: 413,
      code: 'REQUEST.TOO_LARGE',
      send: (t, f) => send({ body: { ...valid(f), padding: 'x'.repeat(20_000) } })(t, f),
    },
    {
      when: 'the body is a JSON array',
      status: 400,
      code: 'REQUEST.INVALID',
      send: send({ body: [] }),
    },
    {
      when: 'the body is a bare JSON number',
      status: 400,
      code: 'REQUEST.INVALID',
      send: send({ rawBody: '42', contentType: 'application/json' }),
    },
    {
      when: r.valid
        ? 'an otherwise valid body has an unknown extra field'
        : 'the route takes no body but gets a field',
      status: 400,
      code: 'REQUEST.INVALID',
      send: (t, f) => send({ body: { ...valid(f), unexpected: true } })(t, f),
    },
  ];
};

const post =
  (url: (f: Fixtures) => string, token: (f: Fixtures) => string | undefined, body?: unknown): Send =>
  (t, f) => {
    const bearer = token(f);
    return t.request('POST', url(f), {
      ...(bearer ? { token: bearer } : {}),
      ...(body !== undefined ? { body } : {}),
    });
  };

/** Field-level cases: `make(body)` sends the body as the route's usual caller. */
const fieldCases = (
  make: (body: unknown) => Send,
  cases: Array<[when: string, body: unknown, status?: number, code?: ErrorCode]>,
): Case[] =>
  cases.map(([when, body, status = 400, code = 'REQUEST.INVALID']) => ({
    when,
    status,
    code,
    send: make(body),
  }));

const p = places.gareDuNord;
const coordinateCases = (wrap: (point: Record<string, unknown>) => unknown, of = '') =>
  (
    [
      ['lat is a numeric string ("48.8")', wrap({ lat: '48.8', lng: p.lng })],
      ['lat is null', wrap({ lat: null, lng: p.lng })],
      ['lng is a boolean', wrap({ lat: p.lat, lng: true })],
      ['lng is missing', wrap({ lat: p.lat })],
      ['lat is 91', wrap({ lat: 91, lng: p.lng })],
      ['lat is -90.0001', wrap({ lat: -90.0001, lng: p.lng })],
      ['lng is -181', wrap({ lat: p.lat, lng: -181 })],
      ['lng is 180.5', wrap({ lat: p.lat, lng: 180.5 })],
    ] as Array<[string, unknown]>
  ).map(([when, body]): [string, unknown] => [of ? `${of} ${when}` : when, body]);

const idCases = (
  path: (id: string) => string,
  token: (f: Fixtures) => string,
  notFound: ErrorCode,
  method: 'GET' | 'POST' = 'POST',
): Case[] => {
  const send =
    (id: string): Send =>
    (t, f) =>
      t.request(method, path(id), { token: token(f) });
  return [
    { when: 'the id is not a UUID', status: 400, code: 'REQUEST.INVALID', send: send('not-a-uuid') },
    { when: 'the id is a number', status: 400, code: 'REQUEST.INVALID', send: send('12345') },
    { when: 'the id is a "urn:uuid:" URN', status: 400, code: 'REQUEST.INVALID', send: send(URN_ID) },
    {
      when: 'the id is not valid percent-encoding',
      status: 400,
      code: 'REQUEST.INVALID',
      send: send('%E0%A4%A'),
    },
    { when: 'the id is a well-formed but unknown UUID', status: 404, code: notFound, send: send(UNKNOWN_ID) },
  ];
};

const routeCases = new Map<string, Case[]>();
const add = (route: string, cases: Case[]) =>
  routeCases.set(route, [...(routeCases.get(route) ?? []), ...cases]);
for (const route of postRoutes) add(route.route, bodyFaults(route));

add(
  'POST /v1/dev/tokens',
  fieldCases(
    (body) =>
      post(
        () => '/v1/dev/tokens',
        () => undefined,
        body,
      ),
    [
      ['the body is {}', {}],
      ['subject is missing', { role: 'rider' }],
      ['role is missing', { subject: 'someone' }],
      ['role is not a known role', { role: 'admin', subject: 'someone' }],
      ['role is null', { role: null, subject: 'someone' }],
      ['subject is a number', { role: 'rider', subject: 42 }],
      ['subject is empty', { role: 'rider', subject: '' }],
      ['subject has a space and a slash', { role: 'rider', subject: 'a b/c' }],
      ['subject is 129 characters', { role: 'rider', subject: 'a'.repeat(129) }],
    ],
  ),
);

add(
  'POST /v1/quotes',
  fieldCases(
    (body) =>
      post(
        () => '/v1/quotes',
        (f) => f.booker.rider.token,
        body,
      ),
    [
      ['the body is {}', {}],
      ['dropoff is missing', { pickup: p }],
      ['pickup is an array', { pickup: [p.lat, p.lng], dropoff }],
      ['pickup is null', { pickup: null, dropoff }],
      ...coordinateCases((pickup) => ({ pickup, dropoff }), "the pickup's"),
      ...coordinateCases((point) => ({ pickup: p, dropoff: point }), "the drop-off's"),
      ['pickup has an unknown extra field', { pickup: { ...p, altitude: 35 }, dropoff }],
      [
        'the pickup is outside every served city',
        { pickup: places.tokyo, dropoff },
        422,
        'QUOTE.OUTSIDE_SERVICE_AREA',
      ],
      [
        'the drop-off is in another city',
        { pickup: p, dropoff: places.kingsCross },
        422,
        'QUOTE.OUTSIDE_SERVICE_AREA',
      ],
    ],
  ),
);
add('POST /v1/quotes', [
  {
    when: 'lat overflows to Infinity (1e400)',
    status: 400,
    code: 'REQUEST.INVALID',
    send: (t, f) =>
      t.request('POST', '/v1/quotes', {
        token: f.booker.rider.token,
        rawBody: `{"pickup":{"lat":1e400,"lng":2.35},"dropoff":${JSON.stringify(dropoff)}}`,
        headers: JSON_TYPE,
      }),
  },
]);

/** `key: null` sends no Idempotency-Key at all. */
const book =
  (body: (f: Fixtures) => unknown, key: string | null = REFUSED_KEY): Send =>
  (t, f) =>
    t.request('POST', '/v1/rides', {
      token: f.booker.rider.token,
      body: body(f),
      headers: key === null ? {} : { 'idempotency-key': key },
    });
add('POST /v1/rides', [
  {
    when: 'there is no Idempotency-Key',
    status: 400,
    code: 'IDEMPOTENCY.KEY_REQUIRED',
    send: book((f) => ({ quoteId: f.booker.quoteId }), null),
  },
  {
    when: 'the Idempotency-Key is empty',
    status: 400,
    code: 'IDEMPOTENCY.KEY_REQUIRED',
    send: book((f) => ({ quoteId: f.booker.quoteId }), ''),
  },
  {
    when: 'the Idempotency-Key has a space',
    status: 400,
    code: 'IDEMPOTENCY.KEY_REQUIRED',
    send: book((f) => ({ quoteId: f.booker.quoteId }), 'two words'),
  },
  {
    when: 'the Idempotency-Key is 256 characters',
    status: 400,
    code: 'IDEMPOTENCY.KEY_REQUIRED',
    send: book((f) => ({ quoteId: f.booker.quoteId }), 'k'.repeat(256)),
  },
  ...fieldCases(
    (body) => book(() => body),
    [
      ['the body is {}', {}],
      ['quoteId is not a UUID', { quoteId: 'not-a-uuid' }],
      ['quoteId is a "urn:uuid:" URN', { quoteId: URN_ID }],
      ['quoteId is a number', { quoteId: 12345 }],
      ['quoteId is null', { quoteId: null }],
    ],
  ),
  {
    // A fresh key: this refusal is a booking outcome, stored and replayed under its key by design.
    when: 'quoteId is a well-formed but unknown UUID',
    status: 404,
    code: 'QUOTE.NOT_FOUND',
    send: book(() => ({ quoteId: UNKNOWN_ID }), randomUUID()),
  },
]);

add(
  'GET /v1/rides/:id',
  idCases(
    (id) => `/v1/rides/${id}`,
    (f) => f.ops.token,
    'RIDE.NOT_FOUND',
    'GET',
  ),
);

const cancelAs = (ride: (f: Fixtures) => string, token: (f: Fixtures) => string) => (body: unknown) =>
  post((f) => `/v1/rides/${ride(f)}/cancel`, token, body);
add('POST /v1/rides/:id/cancel', [
  ...fieldCases(
    cancelAs(
      (f) => f.searching.rideId,
      (f) => f.searching.rider.token,
    ),
    [
      ['reason is a number', { reason: 42 }],
      ['reason is null', { reason: null }],
      ['reason is empty', { reason: '' }],
      ['reason is 501 characters', { reason: 'r'.repeat(501) }],
    ],
  ),
  ...idCases(
    (id) => `/v1/rides/${id}/cancel`,
    (f) => f.searching.rider.token,
    'RIDE.NOT_FOUND',
  ),
  ...fieldCases(
    cancelAs(
      (f) => f.inProgress.rideId,
      (f) => f.inProgress.rider.token,
    ),
    [['the rider cancels a ride in progress', {}, 409, 'RIDE.INVALID_TRANSITION']],
  ),
  ...fieldCases(
    cancelAs(
      (f) => f.inProgress.rideId,
      (f) => f.inProgress.driver.token,
    ),
    [['the driver cancels a ride in progress', {}, 409, 'RIDE.INVALID_TRANSITION']],
  ),
  ...fieldCases(
    cancelAs(
      (f) => f.completed.rideId,
      (f) => f.completed.rider.token,
    ),
    [['the rider cancels a completed ride', { reason: 'too late' }, 409, 'RIDE.INVALID_TRANSITION']],
  ),
  ...fieldCases(
    cancelAs(
      (f) => f.completed.rideId,
      (f) => f.completed.driver.token,
    ),
    [['the driver cancels a completed ride', {}, 409, 'RIDE.INVALID_TRANSITION']],
  ),
]);

add(
  'POST /v1/drivers/me/online',
  fieldCases(
    (body) =>
      post(
        () => '/v1/drivers/me/online',
        (f) => f.neverOnline.token,
        body,
      ),
    [['the body is {}', {}], ...coordinateCases((point) => point)],
  ),
);

const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
add('POST /v1/drivers/me/location', [
  ...fieldCases(
    (body) =>
      post(
        () => '/v1/drivers/me/location',
        (f) => f.offered.driver.token,
        body,
      ),
    [
      ['the body is {}', {}],
      ...coordinateCases((point) => point),
      ['heading is 361', { ...p, heading: 361 }],
      ['heading is -1', { ...p, heading: -1 }],
      ['heading is null', { ...p, heading: null }],
      ['speed is a numeric string ("8")', { ...p, speed: '8' }],
      ['speed is negative', { ...p, speed: -1 }],
      ['"at" is not a date-time', { ...p, at: 'yesterday' }],
      ['"at" is a date without a time', { ...p, at: '2024-05-01' }],
      ['"at" has no UTC offset', { ...p, at: '2024-05-01T10:00:00' }],
      ['"at" is 30 February', { ...p, at: '2024-02-30T10:00:00Z' }],
      ['"at" is 25 o\'clock', { ...p, at: '2024-05-01T25:00:00Z' }],
      ['"at" is epoch milliseconds', { ...p, at: Date.now() }],
      ['"at" is null', { ...p, at: null }],
    ],
  ),
  {
    when: '"at" is a minute ahead of the server clock',
    status: 400,
    code: 'REQUEST.INVALID',
    send: (t, f) =>
      post(
        () => '/v1/drivers/me/location',
        () => f.offered.driver.token,
        { ...p, at: at(60_000) },
      )(t, f),
  },
  {
    when: '"at" is an hour old, older than a position stays fresh',
    status: 400,
    code: 'REQUEST.INVALID',
    send: (t, f) =>
      post(
        () => '/v1/drivers/me/location',
        () => f.offered.driver.token,
        { ...p, at: at(-3_600_000) },
      )(t, f),
  },
  {
    when: 'the driver never went online',
    status: 409,
    code: 'DRIVER.OFFLINE',
    send: post(
      () => '/v1/drivers/me/location',
      (f) => f.stranger.token,
      p,
    ),
  },
  {
    when: 'the driver has gone offline',
    status: 409,
    code: 'DRIVER.OFFLINE',
    send: post(
      () => '/v1/drivers/me/location',
      (f) => f.wentOffline.token,
      p,
    ),
  },
]);

for (const action of ['accept', 'decline'] as const) {
  add(`POST /v1/offers/:id/${action}`, [
    ...idCases(
      (id) => `/v1/offers/${id}/${action}`,
      (f) => f.offered.driver.token,
      'OFFER.NOT_FOUND',
    ),
    {
      when: 'the offer was already accepted',
      status: 409,
      code: 'OFFER.ALREADY_TAKEN',
      send: post(
        (f) => `/v1/offers/${f.assigned.offerId}/${action}`,
        (f) => f.assigned.driver.token,
      ),
    },
  ]);
}

const lifecycle = (
  action: 'arrive' | 'start' | 'complete',
  validTarget: (f: Fixtures) => StagedRide,
  wrongStates: Array<[status: string, target: (f: Fixtures) => StagedRide]>,
): Case[] => [
  ...idCases(
    (id) => `/v1/rides/${id}/${action}`,
    (f) => validTarget(f).driver.token,
    'RIDE.NOT_FOUND',
  ),
  ...wrongStates.map(
    ([status, target]): Case => ({
      when: `the ride is ${status}`,
      status: 409,
      code: 'RIDE.INVALID_TRANSITION',
      send: post(
        (f) => `/v1/rides/${target(f).rideId}/${action}`,
        (f) => target(f).driver.token,
      ),
    }),
  ),
];
add(
  'POST /v1/rides/:id/arrive',
  lifecycle('arrive', (f) => f.assigned, [
    ['driver_arrived', (f) => f.arrived],
    ['in_progress', (f) => f.inProgress],
    ['completed', (f) => f.completed],
  ]),
);
add(
  'POST /v1/rides/:id/start',
  lifecycle('start', (f) => f.arrived, [
    ['driver_assigned', (f) => f.assigned],
    ['in_progress', (f) => f.inProgress],
    ['completed', (f) => f.completed],
  ]),
);
add(
  'POST /v1/rides/:id/complete',
  lifecycle('complete', (f) => f.inProgress, [
    ['driver_assigned', (f) => f.assigned],
    ['driver_arrived', (f) => f.arrived],
    ['completed', (f) => f.completed],
  ]),
);

const zones =
  (query: string, token: (f: Fixtures) => string | undefined = (f) => f.ops.token): Send =>
  (t, f) =>
    t.request('GET', `/v1/zones${query}`, { token: token(f) });
add('GET /v1/zones', [
  {
    when: 'there is no token',
    status: 401,
    code: 'AUTH.MISSING_TOKEN',
    send: zones('?lat=48.88&lng=2.35', () => undefined),
  },
  {
    when: 'a rider asks',
    status: 403,
    code: 'AUTH.FORBIDDEN_ROLE',
    send: zones('?lat=48.88&lng=2.35', (f) => f.booker.rider.token),
  },
  { when: 'lat and lng are missing', status: 400, code: 'REQUEST.INVALID', send: zones('') },
  { when: 'lng is missing', status: 400, code: 'REQUEST.INVALID', send: zones('?lat=48.88') },
  { when: 'lat is not a number', status: 400, code: 'REQUEST.INVALID', send: zones('?lat=north&lng=2.35') },
  { when: 'lat is NaN', status: 400, code: 'REQUEST.INVALID', send: zones('?lat=NaN&lng=2.35') },
  { when: 'lat is Infinity', status: 400, code: 'REQUEST.INVALID', send: zones('?lat=Infinity&lng=2.35') },
  {
    when: 'lat is in exponent form',
    status: 400,
    code: 'REQUEST.INVALID',
    send: zones('?lat=4.888e1&lng=2.35'),
  },
  { when: 'lat is 90.5', status: 400, code: 'REQUEST.INVALID', send: zones('?lat=90.5&lng=2.35') },
  { when: 'lng is -180.01', status: 400, code: 'REQUEST.INVALID', send: zones('?lat=48.88&lng=-180.01') },
  { when: 'lat is empty', status: 400, code: 'REQUEST.INVALID', send: zones('?lat=&lng=2.35') },
  {
    when: 'there is an unknown parameter',
    status: 400,
    code: 'REQUEST.INVALID',
    send: zones('?lat=48.88&lng=2.35&radius=5'),
  },
  {
    when: 'the point is outside every served city',
    status: 422,
    code: 'ZONE.OUTSIDE_SERVICE_AREA',
    send: zones(`?lat=${places.tokyo.lat}&lng=${places.tokyo.lng}`),
  },
]);

describeEachBackend('bad input on every route is refused and changes nothing', (backend) => {
  let t: TestPlatform;
  let f: Fixtures;
  beforeAll(async () => {
    t = await startTestPlatform(backend, isolatedGridEnv);
    f = await setUp(t);
  });
  afterAll(async () => {
    for (const driver of [f?.offered.driver, f?.neverOnline]) await driver?.offline();
    await t?.close();
  });

  for (const [route, cases] of routeCases) {
    describe(route, () => {
      const table = cases.map((c) => [c.when, c.status, c.code, c.send] as const);
      it.each(table)('When %s, then %i %s', async (_when, status, code, send) => {
        const before = await snapshot(f);
        expect(before.rides.every((ride) => ride.status === 200)).toBe(true);
        expect(before.liveOffers.offers).toEqual([expect.objectContaining({ id: f.offered.offerId })]);

        expectProblem(await send(t, f), status, code);

        expect(await snapshot(f)).toEqual(before);
      });
    });
  }

  it('When GET /v1/drivers/me/offers carries a malformed JSON body, then the body is ignored and the live offer is listed', async () => {
    const reply = await t.request('GET', '/v1/drivers/me/offers', {
      token: f.offered.driver.token,
      rawBody: '{"unexpected": ',
      headers: JSON_TYPE,
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([
      expect.objectContaining({ id: f.offered.offerId, rideId: f.offered.rideId }),
    ]);
  });

  it('When a path does not exist under a ride, then 404 ROUTE.NOT_FOUND and the ride is unchanged', async () => {
    const before = await snapshot(f);
    expectProblem(
      await t.request('POST', `/v1/rides/${f.assigned.rideId}/teleport`, { token: f.assigned.driver.token }),
      404,
      'ROUTE.NOT_FOUND',
    );
    expect(await snapshot(f)).toEqual(before);
  });

  it('When every go-online request was refused, then the driver is still offline', async () => {
    expectProblem(await f.neverOnline.location(places.gareDuNord), 409, 'DRIVER.OFFLINE');
  });

  it('When the rider whose bookings were all refused books properly, reusing a refused key, then the quote is still good and a ride is created', async () => {
    const booked = await f.booker.rider.book(f.booker.quoteId, REFUSED_KEY);
    expect(booked.status).toBe(201);
    expect(booked.headers['idempotent-replayed']).toBeUndefined();
    expect(booked.body).toMatchObject({ status: 'searching', riderId: f.booker.rider.id, version: 1 });
    expect((await f.booker.rider.cancel(booked.body.id)).body.status).toBe('cancelled');
  });
});
