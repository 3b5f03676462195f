import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Principal, Role, TokenService } from '../adapters/auth/tokens.js';
import { DomainError } from '../domain/errors.js';
import type { Actor } from '../domain/ride.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * A route-level onRequest hook: authentication and role are settled before the body is even
 * parsed, so a caller without the right to call a route learns nothing about its input rules.
 */
export const authorize =
  (tokens: TokenService, ...allowed: Role[]): onRequestHookHandler =>
  async (request) => {
    const header = request.headers.authorization;
    if (!header) throw new DomainError('AUTH.MISSING_TOKEN', 'Send "Authorization: Bearer <token>".');
    const [scheme, token, ...rest] = header.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0) {
      throw new DomainError('AUTH.INVALID_TOKEN', 'The Authorization header must be "Bearer <token>".');
    }
    const principal = await tokens.verify(token);
    if (!allowed.includes(principal.role)) {
      throw new DomainError(
        'AUTH.FORBIDDEN_ROLE',
        `This route is for ${allowed.join(' or ')}, not ${principal.role}.`,
      );
    }
    request.principal = principal;
  };

/** The authenticated caller; routes run only after `authorize`, so it is always there. */
export const actorOf = (request: FastifyRequest): Actor => {
  const principal = request.principal;
  if (!principal) throw new DomainError('AUTH.MISSING_TOKEN', 'Send "Authorization: Bearer <token>".');
  return { role: principal.role, id: principal.subject };
};
