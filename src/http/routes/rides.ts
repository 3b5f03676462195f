import { createHash } from 'node:crypto';
import { isDomainError } from '../../domain/errors.js';
import type { Ride as RideModel } from '../../domain/ride.js';
import type { App, AppDeps, Backend } from '../app-types.js';
import { actorOf, authorize } from '../auth.js';
import { rideEventJson, rideJson } from '../presenters.js';
import { PROBLEM_CONTENT_TYPE, problemOf } from '../problem.js';
import {
  BookingRequest,
  CancelRequest,
  IdempotencyHeaders,
  IdParams,
  Problem,
  Ride,
  RideEventList,
} from '../schemas.js';

const lifecycleRoutes = [
  { path: 'arrive', summary: 'The assigned driver is at the pickup', run: 'arrive' },
  { path: 'start', summary: 'The rider is on board', run: 'startRide' },
  { path: 'complete', summary: 'The rider was dropped off', run: 'completeRide' },
] as const;

/**
 * What a booking uses: one PostgreSQL transaction (idempotency key, quote, ride, event, outbox row);
 * the outbox is relayed to the bus later, so Redis is not among them. Readiness follows it too.
 */
export const bookingNeeds: readonly Backend[] = ['postgres'];
/**
 * Reads and changes of a ride are PostgreSQL transactions announced through the outbox; the supply
 * state they touch is written best-effort and corrected from the database (adapters/redis/supply.ts).
 */
const rideNeeds: readonly Backend[] = ['postgres'];

export const registerRideRoutes = (app: App, { flows, tokens }: AppDeps) => {
  app.post(
    '/v1/rides',
    {
      config: { priority: 'critical', needs: bookingNeeds },
      onRequest: authorize(tokens, 'rider'),
      schema: {
        summary: 'Book the quoted ride (idempotent: send an Idempotency-Key)',
        tags: ['riders'],
        security: [{ bearer: [] }],
        headers: IdempotencyHeaders,
        body: BookingRequest,
        response: { 201: Ride, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const renderOutcome = (outcome: RideModel | Error) =>
        isDomainError(outcome)
          ? { statusCode: problemOf(outcome).status, body: problemOf(outcome, request.url) }
          : { statusCode: 201, body: rideJson(outcome as RideModel) };
      const result = await flows.booking.bookRide(
        {
          riderId: actorOf(request).id,
          quoteId: request.body.quoteId,
          idempotencyKey: request.headers['idempotency-key'],
          requestHash: createHash('sha256').update(JSON.stringify(request.body)).digest('base64url'),
        },
        renderOutcome,
      );
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      if (result.statusCode >= 400) reply.type(PROBLEM_CONTENT_TYPE);
      // Stored answers were rendered by this same route on their first run.
      return reply.code(result.statusCode).send(result.body as never);
    },
  );

  app.get(
    '/v1/rides/:id',
    {
      // Reads: the realtime channel carries the same changes, and a rider can read again later.
      config: { priority: 'sheddable', needs: rideNeeds },
      onRequest: authorize(tokens, 'rider', 'driver', 'ops'),
      schema: {
        summary: 'A ride, for its rider, its assigned driver or ops; anyone else gets 404',
        tags: ['riders', 'drivers', 'ops'],
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: Ride, '4xx': Problem },
      },
    },
    async (request) => rideJson(await flows.rides.getRide(actorOf(request), request.params.id)),
  );

  app.get(
    '/v1/rides/:id/events',
    {
      config: { priority: 'sheddable', needs: rideNeeds },
      onRequest: authorize(tokens, 'ops'),
      schema: {
        summary: "A ride's history: every change, who made it and why, oldest first",
        tags: ['ops'],
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: RideEventList, '4xx': Problem },
      },
    },
    async (request) =>
      (await flows.rides.rideHistory(actorOf(request), request.params.id)).map(rideEventJson),
  );

  app.post(
    '/v1/rides/:id/cancel',
    {
      config: { priority: 'critical', needs: rideNeeds },
      onRequest: authorize(tokens, 'rider', 'driver'),
      // The reason is optional, and so is the body that carries it.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        summary: 'Cancel: the rider at any time before the trip starts; the assigned driver before it starts',
        tags: ['riders', 'drivers'],
        security: [{ bearer: [] }],
        params: IdParams,
        body: CancelRequest,
        response: { 200: Ride, '4xx': Problem },
      },
    },
    async (request) =>
      rideJson(
        await flows.rides.cancelRide(actorOf(request), request.params.id, request.body?.reason ?? null),
      ),
  );

  for (const { path, summary, run } of lifecycleRoutes) {
    app.post(
      `/v1/rides/:id/${path}`,
      {
        config: { priority: 'critical', needs: rideNeeds },
        onRequest: authorize(tokens, 'driver'),
        schema: {
          summary,
          tags: ['drivers'],
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: Ride, '4xx': Problem },
        },
      },
      async (request) => rideJson(await flows.rides[run](actorOf(request), request.params.id)),
    );
  }
};
