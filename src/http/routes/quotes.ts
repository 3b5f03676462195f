import type { App, AppDeps } from '../app-types.js';
import { actorOf, authorize } from '../auth.js';
import { quoteJson } from '../presenters.js';
import { Problem, QuoteRequest, QuoteResponse } from '../schemas.js';

export const registerQuoteRoutes = (app: App, { flows, tokens }: AppDeps) => {
  app.post(
    '/v1/quotes',
    {
      // The first thing refused under overload: a rider retries a quote; a ride is not lost.
      // Surge and the pickup ETA read the supply replica and surge demand, both fed through Redis:
      // without it they go stale and a binding price would be made from stale data.
      config: { priority: 'sheddable', needs: ['postgres', 'redis'] },
      onRequest: authorize(tokens, 'rider'),
      schema: {
        summary: 'Price a trip upfront; the quote is single-use and expires',
        tags: ['riders'],
        security: [{ bearer: [] }],
        body: QuoteRequest,
        response: { 201: QuoteResponse, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const quote = await flows.quotes.requestQuote(
        actorOf(request).id,
        request.body.pickup,
        request.body.dropoff,
      );
      return reply.code(201).send(quoteJson(quote));
    },
  );
};
