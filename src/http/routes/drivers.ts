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

  app.post(
    '/v1/drivers/me/online',
    {
      config: critical,
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
      config: critical,
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
      config: critical,
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
      config: critical,
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
