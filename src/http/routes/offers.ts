import type { App, AppDeps } from '../app-types.js';
import { actorOf, authorize } from '../auth.js';
import { rideJson } from '../presenters.js';
import { IdParams, OfferDeclined, Problem, Ride } from '../schemas.js';

export const registerOfferRoutes = (app: App, { flows, tokens }: AppDeps) => {
  const common = { tags: ['drivers'], security: [{ bearer: [] }], params: IdParams };
  // An answer is a PostgreSQL transaction, announced through the outbox; the driver's supply state
  // is written best-effort and corrected from the database.
  const config = { priority: 'critical', needs: ['postgres'] } as const;

  app.post(
    '/v1/offers/:id/accept',
    {
      config,
      onRequest: authorize(tokens, 'driver'),
      schema: {
        ...common,
        summary: 'Accept the offer: the ride is yours (409 when late, repeated or taken)',
        response: { 200: Ride, '4xx': Problem },
      },
    },
    async (request) => rideJson(await flows.offers.acceptOffer(actorOf(request).id, request.params.id)),
  );

  app.post(
    '/v1/offers/:id/decline',
    {
      config,
      onRequest: authorize(tokens, 'driver'),
      schema: { ...common, summary: 'Decline the offer', response: { 200: OfferDeclined, '4xx': Problem } },
    },
    async (request) => {
      const offer = await flows.offers.declineOffer(actorOf(request).id, request.params.id);
      return { id: offer.id, rideId: offer.rideId, status: 'declined' as const };
    },
  );
};
