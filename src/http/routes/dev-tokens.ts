import type { App, AppDeps } from '../app-types.js';
import { DevTokenRequest, DevTokenResponse, Problem } from '../schemas.js';

export const registerDevTokenRoutes = (app: App, { tokens, devTokens }: AppDeps) => {
  // Not registered at all outside dev mode: the route then answers 404 like any unknown path.
  if (!devTokens) return;
  app.post(
    '/v1/dev/tokens',
    {
      // A client that cannot sign in cannot book; in production (AUTH_MODE=jwt) the route does not exist.
      // Signing a token touches no backend.
      config: { priority: 'critical', needs: [] },
      schema: {
        summary: 'Issue a token for local use (only when AUTH_MODE=dev)',
        tags: ['dev'],
        body: DevTokenRequest,
        response: { 201: DevTokenResponse, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const { token, expiresAt } = await tokens.issueDevToken(request.body);
      return reply.code(201).send({ token, expiresAt: expiresAt.toISOString() });
    },
  );
};
