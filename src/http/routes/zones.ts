import { DomainError } from '../../domain/errors.js';
import type { App, AppDeps } from '../app-types.js';
import { authorize } from '../auth.js';
import { Problem, ZonesQuery, ZonesResponse } from '../schemas.js';

const coordinate = (name: 'lat' | 'lng', text: string, limit: number): number => {
  const value = Number(text);
  if (!(Math.abs(value) <= limit)) {
    throw new DomainError('REQUEST.INVALID', `${name} must be within [-${limit}, ${limit}], got ${text}.`);
  }
  return value;
};

export const registerZoneRoutes = (app: App, { flows, tokens }: AppDeps) => {
  app.get(
    '/v1/zones',
    {
      // An ops view: refused first under overload, like quotes. Supply and surge only, both fed
      // through Redis; nothing is read from PostgreSQL.
      config: { priority: 'sheddable', needs: ['redis'] },
      onRequest: authorize(tokens, 'ops'),
      schema: {
        summary: 'Supply, demand and surge of the H3 cell of a point and its neighbours',
        tags: ['ops'],
        security: [{ bearer: [] }],
        querystring: ZonesQuery,
        response: { 200: ZonesResponse, '4xx': Problem },
      },
    },
    async (request) => {
      const point = {
        lat: coordinate('lat', request.query.lat, 90),
        lng: coordinate('lng', request.query.lng, 180),
      };
      return flows.zones.zonesAround(point).zones;
    },
  );
};
