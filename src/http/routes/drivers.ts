import type { App, AppDeps } from '../app-types.js';
import { actorOf, authorize } from '../auth.js';
import { offerJson } from '../presenters.js';
import {
  DriverStatusResponse,
  LocationRequest,
  NoContent,
  OfferList,
  OnlineRequest,
  Problem,
} from '../schemas.js';

export const registerDriverRoutes = (app: App, { flows, tokens }: AppDeps) => {
  const driverOnly = authorize(tokens, 'driver');
  const common = { tags: ['drivers'], security: [{ bearer: [] }] };
  // Supply: a driver going online or reporting a position is what every match depends on.
  const critical = { priority: 'critical' } as const;
  // Joining supply and moving in it reach the dispatchers only through the Redis supply stream:
  // without Redis the driver would be told "online" and never be offered a ride. PostgreSQL holds
  // the driver's status (read for a driver this process's replica does not know yet).
  const supplyNeeds = ['postgres', 'redis'] as const;
  // Leaving supply is a PostgreSQL write: a dispatcher checks the status there before placing an
  // offer, and replicas drop drivers the database says are offline. Offers are read from there too.
  const postgresOnly = ['postgres'] as const;

  app.post(
    '/v1/drivers/me/online',
    {
      config: { ...critical, needs: supplyNeeds },
      onRequest: driverOnly,
      schema: {
        ...common,
        summary: 'Start taking rides from this position',
        body: OnlineRequest,
        response: { 200: DriverStatusResponse, '4xx': Problem },
      },
    },
    async (request) => flows.drivers.goOnline(actorOf(request).id, request.body),
  );

  app.post(
    '/v1/drivers/me/offline',
    {
      config: { ...critical, needs: postgresOnly },
      onRequest: driverOnly,
      schema: {
        ...common,
        summary: 'Stop taking rides; a live offer counts as declined',
        response: { 200: DriverStatusResponse, '4xx': Problem },
      },
    },
    async (request) => flows.drivers.goOffline(actorOf(request).id),
  );

  app.post(
    '/v1/drivers/me/location',
    {
      config: { ...critical, needs: supplyNeeds },
      onRequest: driverOnly,
      schema: {
        ...common,
        summary: 'Report the current position (every few seconds while online)',
        body: LocationRequest,
        response: { 204: NoContent, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const { at, ...position } = request.body;
      await flows.drivers.reportLocation(actorOf(request).id, {
        ...position,
        at: at ? new Date(at) : undefined,
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/drivers/me/offers',
    {
      config: { ...critical, needs: postgresOnly },
      onRequest: driverOnly,
      schema: {
        ...common,
        summary: 'Live offers for this driver',
        response: { 200: OfferList, '4xx': Problem },
      },
    },
    async (request) => (await flows.offers.listOffers(actorOf(request).id)).map(offerJson),
  );
};
