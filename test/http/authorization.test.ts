import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/domain/errors.js';
import { describeEachBackend } from '../support/backends.js';
import {
  type DriverClient,
  places,
  type Reply,
  type RiderClient,
  startTestPlatform,
  type TestPlatform,
  uniqueId,
} from '../support/platform.js';
import { expectProblem, gridSpot, isolatedGridEnv, type Point, UNKNOWN_ID } from '../support/scenes.js';

/**
 * The authorization matrix: every v1 route × every kind of caller × own or another party's
 * resource. Each cell gets a fresh scene (parties, a ride in the state the route needs), so a
 * refusal can be checked to have changed nothing and a success to have done its work.
 */

const dropoff = places.gareDeLyon;

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decodePart = (part: string | undefined) =>
  JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** The same token with the first signature character changed: header and claims intact. */
const breakSignature = (token: string) => {
  const [header, payload, signature = ''] = token.split('.');
  const first = signature.startsWith('A') ? 'B' : 'A';
  return `${header}.${payload}.${first}${signature.slice(1)}`;
};

/** The token's claims edited, its original signature kept. */
const editClaims = (token: string, claims: Record<string, unknown>) => {
  const [header, payload, signature] = token.split('.');
  return `${header}.${base64url({ ...decodePart(payload), ...claims })}.${signature}`;
};

/** An unsigned token (`alg: none`) claiming whatever it likes. */
const unsigned = (claims: Record<string, unknown>) =>
  `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 3600,
    ...claims,
  })}.`;

type CallerKey =
  | 'none'
  | 'malformed'
  | 'badSignature'
  | 'rider'
  | 'otherRider'
  | 'driver'
  | 'otherDriver'
  | 'ops';

const callerLabels: Record<CallerKey, string> = {
  none: 'with no token',
  malformed: 'with a malformed Authorization header (Basic)',
  badSignature: "with the owner's token, its signature broken",
  rider: "by the resource's rider",
  otherRider: 'by another rider',
  driver: "by the resource's driver",
  otherDriver: 'by another driver',
  ops: 'by ops',
};

interface Outcome {
  status: number;
  /** Absent for a success. */
  code?: ErrorCode;
}
const ok = (status = 200): Outcome => ({ status });
const missingToken: Outcome = { status: 401, code: 'AUTH.MISSING_TOKEN' };
const invalidToken: Outcome = { status: 401, code: 'AUTH.INVALID_TOKEN' };
const forbiddenRole: Outcome = { status: 403, code: 'AUTH.FORBIDDEN_ROLE' };
const notFound = (code: ErrorCode): Outcome => ({ status: 404, code });
const unauthenticated = { none: missingToken, malformed: invalidToken, badSignature: invalidToken };

interface Ctx {
  t: TestPlatform;
  ops: { token: string; getRide(id: string): Promise<Reply> };
  spot(): Point;
  /** Runs after the cell, pass or fail. */
  onCleanup(task: () => Promise<unknown>): void;
}

interface Scene {
  rider: RiderClient;
  driver?: DriverClient;
  /** Whose token gets its signature broken. */
  owner: RiderClient | DriverClient;
  rideId?: string;
  offerId?: string;
  quoteId?: string;
  home?: Point;
}

interface RouteSpec {
  route: string;
  labels?: Partial<Record<CallerKey, string>>;
  scene(ctx: Ctx): Promise<Scene>;
  send(ctx: Ctx, scene: Scene, headers: Record<string, string>): Promise<Reply>;
  /** State a refused call must leave exactly as it was, read back through the API. */
  observe?(ctx: Ctx, scene: Scene): Promise<unknown>;
  /** After a refusal: what the owner can still do shows nothing was consumed. */
  intact?(ctx: Ctx, scene: Scene): Promise<void>;
  /** After the owner's success: the call did its work. */
  succeeded?(ctx: Ctx, scene: Scene, reply: Reply, caller: CallerKey): Promise<void>;
  outcomes: Partial<Record<CallerKey, Outcome>>;
}

type Stage = 'searching' | 'offered' | 'driver_assigned' | 'driver_arrived' | 'in_progress';

/** A fresh driver online at `home`, taken offline after the cell. */
const driverOnlineAt = async (ctx: Ctx, home: Point): Promise<DriverClient> => {
  const driver = await ctx.t.driver();
  expect((await driver.online(home)).status).toBe(200);
  ctx.onCleanup(() => driver.offline());
  return driver;
};

/** A rider's ride at a fresh spot, carried by a driver of its own up to `until`. */
const rideScene = async (ctx: Ctx, until: Stage): Promise<Scene> => {
  const home = ctx.spot();
  const rider = await ctx.t.rider();
  if (until === 'searching') {
    const ride = await rider.requestRide(home, dropoff);
    ctx.onCleanup(() => rider.cancel(ride.id));
    return { rider, owner: rider, rideId: ride.id, home };
  }
  const driver = await driverOnlineAt(ctx, home);
  const ride = await rider.requestRide(home, dropoff);
  // Cleanups run last first: the ride is cancelled (when it still can be) before the driver leaves.
  ctx.onCleanup(() => rider.cancel(ride.id));
  const offer = await driver.waitForOffer();
  expect(offer.rideId).toBe(ride.id);
  const scene: Scene = { rider, driver, owner: driver, rideId: ride.id, offerId: offer.id, home };
  if (until === 'offered') return scene;
  expect((await driver.accept(offer.id)).body.status).toBe('driver_assigned');
  if (until === 'driver_assigned') return scene;
  expect((await driver.arrive(ride.id)).body.status).toBe('driver_arrived');
  if (until === 'driver_arrived') return scene;
  expect((await driver.start(ride.id)).body.status).toBe('in_progress');
  return scene;
};

/** Ops' view of the ride, plus the live offers of its driver (if any). */
const rideAndOffers = async (ctx: Ctx, scene: Scene) => {
  const ride = await ctx.ops.getRide(scene.rideId!);
  expect(ride.status).toBe(200);
  const offers = scene.driver ? (await scene.driver.offers()).body : null;
  return { ride: ride.body, offers };
};

const post =
  (path: (scene: Scene) => string, body?: (scene: Scene) => unknown) =>
  (ctx: Ctx, scene: Scene, headers: Record<string, string>) =>
    ctx.t.request('POST', path(scene), {
      headers,
      ...(body ? { body: body(scene) } : {}),
    });

const lifecycleSpec = (action: 'arrive' | 'start' | 'complete', from: Stage, to: string): RouteSpec => ({
  route: `POST /v1/rides/:id/${action}`,
  labels: {
    badSignature: "with the assigned driver's token, its signature broken",
    driver: 'by the assigned driver',
    otherDriver: 'by a driver not assigned to the ride',
    rider: "by the ride's rider",
  },
  scene: (ctx) => rideScene(ctx, from),
  send: post((scene) => `/v1/rides/${scene.rideId}/${action}`),
  observe: rideAndOffers,
  async succeeded(ctx, scene, reply) {
    expect(reply.body).toMatchObject({ id: scene.rideId, status: to, driverId: scene.driver!.id });
    expect((await ctx.ops.getRide(scene.rideId!)).body.status).toBe(to);
  },
  outcomes: {
    ...unauthenticated,
    driver: ok(),
    otherDriver: notFound('RIDE.NOT_FOUND'),
    rider: forbiddenRole,
    ops: forbiddenRole,
  },
});

const specs: RouteSpec[] = [
  {
    route: 'POST /v1/dev/tokens',
    labels: {
      badSignature: 'with a token whose signature is broken',
      rider: 'by a rider',
      driver: 'by a driver',
    },
    async scene(ctx) {
      const rider = await ctx.t.rider();
      return { rider, owner: rider, driver: await ctx.t.driver() };
    },
    send: post(
      () => '/v1/dev/tokens',
      () => ({ role: 'rider', subject: uniqueId('rider') }),
    ),
    async succeeded(_ctx, _scene, reply) {
      expect(reply.body.token).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
    },
    // Anyone, in dev mode: the route does not look at the caller at all.
    outcomes: {
      none: ok(201),
      malformed: ok(201),
      badSignature: ok(201),
      rider: ok(201),
      driver: ok(201),
      ops: ok(201),
    },
  },
  {
    route: 'POST /v1/quotes',
    labels: {
      badSignature: "with a rider's token, its signature broken",
      rider: 'by a rider',
      driver: 'by a driver',
    },
    async scene(ctx) {
      const rider = await ctx.t.rider();
      return { rider, owner: rider, driver: await ctx.t.driver(), home: ctx.spot() };
    },
    send: post(
      () => '/v1/quotes',
      (scene) => ({ pickup: scene.home, dropoff }),
    ),
    async succeeded(_ctx, _scene, reply) {
      expect(reply.body).toMatchObject({ quoteId: expect.any(String), fare: { currency: 'EUR' } });
    },
    outcomes: { ...unauthenticated, rider: ok(201), driver: forbiddenRole, ops: forbiddenRole },
  },
  {
    route: 'POST /v1/rides',
    labels: {
      badSignature: "with the quote's rider's token, its signature broken",
      rider: 'by the rider who got the quote',
      otherRider: "by another rider, with that rider's quote",
      driver: 'by a driver',
    },
    async scene(ctx) {
      const rider = await ctx.t.rider();
      const quote = await rider.quote(ctx.spot(), dropoff);
      expect(quote.status).toBe(201);
      return { rider, owner: rider, driver: await ctx.t.driver(), quoteId: quote.body.quoteId };
    },
    send: (ctx, scene, headers) =>
      ctx.t.request('POST', '/v1/rides', {
        headers: { ...headers, 'idempotency-key': uniqueId('key') },
        body: { quoteId: scene.quoteId },
      }),
    async intact(ctx, scene) {
      // The quote was not consumed: its rider can still book it.
      const booked = await scene.rider.book(scene.quoteId!);
      expect(booked.status).toBe(201);
      ctx.onCleanup(() => scene.rider.cancel(booked.body.id));
    },
    async succeeded(ctx, scene, reply) {
      expect(reply.body).toMatchObject({
        status: 'searching',
        riderId: scene.rider.id,
        quoteId: scene.quoteId,
      });
      ctx.onCleanup(() => scene.rider.cancel(reply.body.id));
    },
    outcomes: {
      ...unauthenticated,
      rider: ok(201),
      otherRider: notFound('QUOTE.NOT_FOUND'),
      driver: forbiddenRole,
      ops: forbiddenRole,
    },
  },
  {
    route: 'GET /v1/rides/:id',
    labels: {
      badSignature: "with the assigned driver's token, its signature broken",
      rider: "by the ride's rider",
      driver: 'by the assigned driver',
      otherDriver: 'by a driver not assigned to the ride',
    },
    scene: (ctx) => rideScene(ctx, 'driver_assigned'),
    send: (ctx, scene, headers) => ctx.t.request('GET', `/v1/rides/${scene.rideId}`, { headers }),
    observe: rideAndOffers,
    async succeeded(ctx, scene, reply) {
      expect(reply.body).toEqual((await ctx.ops.getRide(scene.rideId!)).body);
      expect(reply.body).toMatchObject({ riderId: scene.rider.id, driverId: scene.driver!.id });
    },
    outcomes: {
      ...unauthenticated,
      rider: ok(),
      otherRider: notFound('RIDE.NOT_FOUND'),
      driver: ok(),
      otherDriver: notFound('RIDE.NOT_FOUND'),
      ops: ok(),
    },
  },
  {
    route: 'GET /v1/rides/:id of a ride still being offered',
    labels: { rider: "by the ride's rider", driver: 'by the driver holding its offer (not assigned)' },
    scene: (ctx) => rideScene(ctx, 'offered'),
    send: (ctx, scene, headers) => ctx.t.request('GET', `/v1/rides/${scene.rideId}`, { headers }),
    observe: rideAndOffers,
    async succeeded(_ctx, scene, reply) {
      expect(reply.body).toMatchObject({ id: scene.rideId, status: 'searching', driverId: null });
    },
    outcomes: { rider: ok(), driver: notFound('RIDE.NOT_FOUND'), ops: ok() },
  },
  {
    route: 'POST /v1/rides/:id/cancel',
    labels: {
      badSignature: "with the assigned driver's token, its signature broken",
      rider: "by the ride's rider",
      driver: 'by the assigned driver',
      otherDriver: 'by a driver not assigned to the ride',
    },
    scene: (ctx) => rideScene(ctx, 'driver_assigned'),
    send: post(
      (scene) => `/v1/rides/${scene.rideId}/cancel`,
      () => ({ reason: 'plans changed' }),
    ),
    observe: rideAndOffers,
    async succeeded(ctx, scene, reply, caller) {
      const seen = (await ctx.ops.getRide(scene.rideId!)).body;
      expect(reply.body).toEqual(seen);
      // The rider's cancel ends the ride; the assigned driver's sends it back to the queue.
      expect(seen).toMatchObject(
        caller === 'rider'
          ? { status: 'cancelled', cancellation: { by: 'rider', reason: 'plans changed' } }
          : { status: 'searching', driverId: null, cancellation: null },
      );
    },
    outcomes: {
      ...unauthenticated,
      rider: ok(),
      otherRider: notFound('RIDE.NOT_FOUND'),
      driver: ok(),
      otherDriver: notFound('RIDE.NOT_FOUND'),
      ops: forbiddenRole,
    },
  },
  {
    route: 'POST /v1/rides/:id/cancel of a ride still being offered',
    labels: { rider: "by the ride's rider", driver: 'by the driver holding its offer (not assigned)' },
    scene: (ctx) => rideScene(ctx, 'offered'),
    send: post((scene) => `/v1/rides/${scene.rideId}/cancel`),
    observe: rideAndOffers,
    async succeeded(ctx, scene, reply) {
      expect(reply.body).toMatchObject({ status: 'cancelled', cancellation: { by: 'rider' } });
      // Cancelled while offered: the offer is withdrawn at once.
      expect((await scene.driver!.offers()).body).toEqual([]);
      expect((await ctx.ops.getRide(scene.rideId!)).body.status).toBe('cancelled');
    },
    outcomes: { rider: ok(), driver: notFound('RIDE.NOT_FOUND') },
  },
  {
    route: 'POST /v1/drivers/me/online',
    labels: {
      driver: 'by the driver',
      badSignature: "with the driver's token, its signature broken",
      rider: 'by a rider',
    },
    async scene(ctx) {
      const driver = await ctx.t.driver();
      ctx.onCleanup(() => driver.offline());
      return { rider: await ctx.t.rider(), driver, owner: driver, home: ctx.spot() };
    },
    send: post(
      () => '/v1/drivers/me/online',
      (scene) => scene.home,
    ),
    async intact(_ctx, scene) {
      expectProblem(await scene.driver!.location(scene.home!), 409, 'DRIVER.OFFLINE');
    },
    async succeeded(_ctx, scene, reply) {
      expect(reply.body).toMatchObject({ driverId: scene.driver!.id, status: 'online' });
      expect((await scene.driver!.location(scene.home!)).status).toBe(204);
    },
    outcomes: { ...unauthenticated, driver: ok(), rider: forbiddenRole, ops: forbiddenRole },
  },
  {
    route: 'POST /v1/drivers/me/offline',
    labels: {
      driver: 'by the driver',
      badSignature: "with the driver's token, its signature broken",
      rider: 'by a rider',
    },
    async scene(ctx) {
      const home = ctx.spot();
      const driver = await driverOnlineAt(ctx, home);
      return { rider: await ctx.t.rider(), driver, owner: driver, home };
    },
    send: post(() => '/v1/drivers/me/offline'),
    async intact(_ctx, scene) {
      expect((await scene.driver!.location(scene.home!)).status).toBe(204);
    },
    async succeeded(_ctx, scene, reply) {
      expect(reply.body).toMatchObject({ driverId: scene.driver!.id, status: 'offline' });
      expectProblem(await scene.driver!.location(scene.home!), 409, 'DRIVER.OFFLINE');
    },
    outcomes: { ...unauthenticated, driver: ok(), rider: forbiddenRole, ops: forbiddenRole },
  },
  {
    // The call moves the driver about 900 m away, off the grid of homes; a quote at home shows whether it did.
    route: 'POST /v1/drivers/me/location',
    labels: {
      driver: 'by the driver',
      badSignature: "with the driver's token, its signature broken",
      rider: 'by a rider',
    },
    async scene(ctx) {
      const home = ctx.spot();
      const driver = await driverOnlineAt(ctx, home);
      const rider = await ctx.t.rider();
      expect((await rider.quote(home, dropoff)).body.pickupEtaSeconds).toEqual(expect.any(Number));
      return { rider, driver, owner: driver, home };
    },
    send: post(
      () => '/v1/drivers/me/location',
      (scene) => ({ lat: scene.home!.lat + 0.006, lng: scene.home!.lng + 0.009, heading: 45 }),
    ),
    async intact(_ctx, scene) {
      expect((await scene.rider.quote(scene.home!, dropoff)).body.pickupEtaSeconds).toEqual(
        expect.any(Number),
      );
    },
    async succeeded(_ctx, scene, reply) {
      expect(reply.body).toBeUndefined();
      expect((await scene.rider.quote(scene.home!, dropoff)).body.pickupEtaSeconds).toBeNull();
    },
    outcomes: { ...unauthenticated, driver: ok(204), rider: forbiddenRole, ops: forbiddenRole },
  },
  {
    route: 'GET /v1/drivers/me/offers',
    labels: {
      badSignature: "with the driver's token, its signature broken",
      driver: 'by the driver holding an offer',
      otherDriver: 'by another driver',
      rider: 'by the rider of the offered ride',
    },
    scene: (ctx) => rideScene(ctx, 'offered'),
    send: (ctx, _scene, headers) => ctx.t.request('GET', '/v1/drivers/me/offers', { headers }),
    observe: rideAndOffers,
    async succeeded(_ctx, scene, reply, caller) {
      // Another driver's list never shows this driver's offer.
      expect(reply.body).toEqual(
        caller === 'driver' ? [expect.objectContaining({ id: scene.offerId, rideId: scene.rideId })] : [],
      );
    },
    outcomes: {
      ...unauthenticated,
      driver: ok(),
      otherDriver: ok(),
      rider: forbiddenRole,
      ops: forbiddenRole,
    },
  },
  {
    route: 'POST /v1/offers/:id/accept',
    labels: {
      badSignature: "with the offered driver's token, its signature broken",
      driver: 'by the offered driver',
      otherDriver: "by another driver (another driver's offer)",
      rider: 'by the rider of the offered ride',
    },
    scene: (ctx) => rideScene(ctx, 'offered'),
    send: post((scene) => `/v1/offers/${scene.offerId}/accept`),
    observe: rideAndOffers,
    async succeeded(ctx, scene, reply) {
      expect(reply.body).toMatchObject({
        id: scene.rideId,
        status: 'driver_assigned',
        driverId: scene.driver!.id,
      });
      expect((await ctx.ops.getRide(scene.rideId!)).body.status).toBe('driver_assigned');
    },
    outcomes: {
      ...unauthenticated,
      driver: ok(),
      otherDriver: notFound('OFFER.NOT_FOUND'),
      rider: forbiddenRole,
      ops: forbiddenRole,
    },
  },
  {
    route: 'POST /v1/offers/:id/decline',
    labels: {
      badSignature: "with the offered driver's token, its signature broken",
      driver: 'by the offered driver',
      otherDriver: "by another driver (another driver's offer)",
      rider: 'by the rider of the offered ride',
    },
    scene: (ctx) => rideScene(ctx, 'offered'),
    send: post((scene) => `/v1/offers/${scene.offerId}/decline`),
    observe: rideAndOffers,
    async succeeded(_ctx, scene, reply) {
      expect(reply.body).toEqual({ id: scene.offerId, rideId: scene.rideId, status: 'declined' });
      expect((await scene.driver!.offers()).body).toEqual([]);
    },
    outcomes: {
      ...unauthenticated,
      driver: ok(),
      otherDriver: notFound('OFFER.NOT_FOUND'),
      rider: forbiddenRole,
      ops: forbiddenRole,
    },
  },
  lifecycleSpec('arrive', 'driver_assigned', 'driver_arrived'),
  lifecycleSpec('start', 'driver_arrived', 'in_progress'),
  lifecycleSpec('complete', 'in_progress', 'completed'),
];

const describeOutcome = (outcome: Outcome) =>
  outcome.code ? `${outcome.status} ${outcome.code}` : `it succeeds (${outcome.status})`;

const matrix = specs.flatMap((spec) =>
  (Object.entries(spec.outcomes) as Array<[CallerKey, Outcome]>).map(
    ([caller, outcome]) =>
      [
        spec.route,
        spec.labels?.[caller] ?? callerLabels[caller],
        describeOutcome(outcome),
        spec,
        caller,
        outcome,
      ] as const,
  ),
);

describeEachBackend('who may call what', (backend) => {
  let ctx: Ctx;
  let cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    const t = await startTestPlatform(backend, isolatedGridEnv);
    let next = 0;
    ctx = {
      t,
      ops: await t.ops(),
      spot: () => gridSpot(next++),
      onCleanup: (task) => cleanups.push(task),
    };
  });
  afterEach(async () => {
    // Best effort: a cell that failed half-way may have nothing to cancel or take offline.
    for (const task of cleanups.reverse()) await task().catch(() => undefined);
    cleanups = [];
  });
  afterAll(() => ctx?.t.close());

  const headersFor = async (caller: CallerKey, scene: Scene): Promise<Record<string, string>> => {
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    switch (caller) {
      case 'none':
        return {};
      case 'malformed':
        return { authorization: `Basic ${Buffer.from(`${scene.owner.id}:secret`).toString('base64')}` };
      case 'badSignature':
        return bearer(breakSignature(scene.owner.token));
      case 'rider':
        return bearer(scene.rider.token);
      case 'otherRider':
        return bearer(await ctx.t.token('rider'));
      case 'driver':
        return bearer(scene.driver!.token);
      case 'otherDriver':
        return bearer(await ctx.t.token('driver'));
      case 'ops':
        return bearer(ctx.ops.token);
    }
  };

  describe('the matrix', () => {
    it.each(matrix)(
      'When %s is called %s, then %s',
      async (_route, _caller, _then, spec, caller, outcome) => {
        const scene = await spec.scene(ctx);
        const headers = await headersFor(caller, scene);
        const before = await spec.observe?.(ctx, scene);

        const reply = await spec.send(ctx, scene, headers);

        if (outcome.code) {
          expectProblem(reply, outcome.status, outcome.code);
          if (spec.observe) expect(await spec.observe(ctx, scene)).toEqual(before);
          await spec.intact?.(ctx, scene);
        } else {
          expect(reply.status).toBe(outcome.status);
          await spec.succeeded?.(ctx, scene, reply, caller);
        }
      },
    );
  });

  describe('forged tokens', () => {
    const forgeries: Array<
      [when: string, attempt: 'read' | 'cancel', forge: (a: RiderClient, v: RiderClient) => string]
    > = [
      [
        "a rider edits their token's subject to the victim's id",
        'cancel',
        (a, v) => editClaims(a.token, { sub: v.id }),
      ],
      ["a rider edits their token's role to ops", 'read', (a) => editClaims(a.token, { role: 'ops' })],
      [
        'an unsigned (alg none) token claims to be ops',
        'read',
        () => unsigned({ sub: 'ops-1', role: 'ops' }),
      ],
      [
        'an unsigned (alg none) token claims to be the victim',
        'cancel',
        (_a, v) => unsigned({ sub: v.id, role: 'rider' }),
      ],
      ['the bearer token is garbage', 'read', () => 'not.a.jwt'],
    ];
    it.each(forgeries)(
      "When %s, then 401 AUTH.INVALID_TOKEN and the victim's ride is unchanged",
      async (_when, attempt, forge) => {
        const victim = await rideScene(ctx, 'searching');
        const attacker = await ctx.t.rider();
        const before = await rideAndOffers(ctx, victim);
        const token = forge(attacker, victim.rider);
        const reply =
          attempt === 'read'
            ? await ctx.t.request('GET', `/v1/rides/${victim.rideId}`, { token })
            : await ctx.t.request('POST', `/v1/rides/${victim.rideId}/cancel`, { token, body: {} });
        expectProblem(reply, 401, 'AUTH.INVALID_TOKEN');
        expect(await rideAndOffers(ctx, victim)).toEqual(before);
      },
    );

    const malformedHeaders: Array<[when: string, header: (token: string) => string]> = [
      ['the scheme is missing', (token) => token],
      ['"Bearer" has no token', () => 'Bearer'],
      ['the token is followed by another word', (token) => `Bearer ${token} extra`],
      ['the scheme is Token', (token) => `Token ${token}`],
    ];
    it.each(malformedHeaders)(
      'When %s in the Authorization header, then 401 AUTH.INVALID_TOKEN',
      async (_when, header) => {
        const driver = await ctx.t.driver();
        const reply = await ctx.t.request('GET', '/v1/drivers/me/offers', {
          headers: { authorization: header(driver.token) },
        });
        expectProblem(reply, 401, 'AUTH.INVALID_TOKEN');
        // The same token, sent properly, works: only the header's form was wrong.
        expect((await driver.offers()).status).toBe(200);
      },
    );
  });

  describe('who you are is settled before what you sent', () => {
    const cases: Array<[when: string, status: number, code: ErrorCode, send: () => Promise<Reply>]> = [
      [
        'no token comes with malformed JSON',
        401,
        'AUTH.MISSING_TOKEN',
        () =>
          ctx.t.request('POST', '/v1/quotes', {
            rawBody: '{"pickup": ',
            headers: { 'content-type': 'application/json' },
          }),
      ],
      [
        'a rider sends an invalid location to a driver route',
        403,
        'AUTH.FORBIDDEN_ROLE',
        async () =>
          ctx.t.request('POST', '/v1/drivers/me/location', {
            token: await ctx.t.token('rider'),
            body: { lat: 91, lng: '2' },
          }),
      ],
      [
        'a rider accepts an unknown offer',
        403,
        'AUTH.FORBIDDEN_ROLE',
        async () =>
          ctx.t.request('POST', `/v1/offers/${UNKNOWN_ID}/accept`, { token: await ctx.t.token('rider') }),
      ],
      [
        'ops cancels a ride whose id is not a UUID',
        403,
        'AUTH.FORBIDDEN_ROLE',
        () => ctx.t.request('POST', '/v1/rides/not-a-uuid/cancel', { token: ctx.ops.token, body: {} }),
      ],
      [
        'a driver books without an Idempotency-Key',
        403,
        'AUTH.FORBIDDEN_ROLE',
        async () =>
          ctx.t.request('POST', '/v1/rides', {
            token: await ctx.t.token('driver'),
            body: { quoteId: UNKNOWN_ID },
          }),
      ],
    ];
    it.each(cases)('When %s, then %i %s', async (_when, status, code, send) => {
      expectProblem(await send(), status, code);
    });
  });
});
