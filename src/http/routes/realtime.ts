import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { DomainError } from '../../domain/errors.js';
import type { App, AppDeps } from '../app-types.js';
import { CloseCode, MAX_MESSAGE_BYTES, PROTOCOL } from '../realtime/protocol.js';
import { Problem } from '../schemas.js';

const BEARER_PROTOCOL_PREFIX = 'bearer.';

const RealtimeQuery = Type.Object(
  {
    access_token: Type.Optional(
      Type.String({ description: 'The token, for clients that can set neither header nor subprotocol' }),
    ),
  },
  { additionalProperties: false },
);

/**
 * Browsers cannot set headers on a WebSocket, so the token may also come as a subprotocol
 * (`peakride.v1, bearer.<token>`: only `peakride.v1` is echoed back) or in the query string
 * (last resort: query strings end up in proxy logs).
 */
const tokenOf = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const [scheme, token, ...rest] = header.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0) {
      throw new DomainError('AUTH.INVALID_TOKEN', 'The Authorization header must be "Bearer <token>".');
    }
    return token;
  }
  const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const carried = offered.find((protocol) => protocol.startsWith(BEARER_PROTOCOL_PREFIX));
  if (carried !== undefined) {
    // The server must echo one offered subprotocol, and it will not echo the token.
    if (!offered.includes(PROTOCOL)) {
      throw new DomainError('REQUEST.INVALID', `Offer the "${PROTOCOL}" subprotocol along with the token.`);
    }
    return carried.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  const query = request.query as { access_token?: unknown } | undefined;
  return typeof query?.access_token === 'string' ? query.access_token : undefined;
};

export const registerRealtimeRoutes = async (app: App, { tokens, realtime }: AppDeps) => {
  if (!realtime) return;
  await app.register(websocket, {
    options: {
      // ws closes with 1009 on a larger frame, before anything is buffered or parsed.
      maxPayload: MAX_MESSAGE_BYTES,
      handleProtocols: (offered: Set<string>) => (offered.has(PROTOCOL) ? PROTOCOL : false),
    },
    // Protocol errors (oversized frame, bad UTF-8) are already being closed by ws with their code.
    errorHandler: (error, socket) => {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('WS_ERR_')) return;
      app.log.warn({ err: error }, 'realtime: socket error');
      socket.close(CloseCode.internalError, 'internal error');
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/realtime',
    // Never shed: a rider cut off from live updates would poll ride reads instead, which costs more.
    // Live updates arrive through the Redis bus (the backlog is read from PostgreSQL): without Redis
    // a new socket would hear nothing, so it is refused and the client reads rides meanwhile.
    config: { priority: 'critical', needs: ['postgres', 'redis'] },
    // Authentication before the upgrade: a bad or missing token is a 401 problem+json, not a close.
    onRequest: async (request) => {
      const token = tokenOf(request);
      if (!token) {
        throw new DomainError(
          'AUTH.MISSING_TOKEN',
          `Send "Authorization: Bearer <token>", the subprotocols "${PROTOCOL}, bearer.<token>", or ?access_token=<token>.`,
        );
      }
      request.principal = await tokens.verify(token);
    },
    schema: {
      summary: 'Live updates over WebSocket (protocol peakride.v1, see docs/realtime.md)',
      description:
        'Upgrade to a WebSocket. Riders and ops follow rides (subscribe), drivers receive their offers and follow rides assigned to them. Messages: components RealtimeClientMessage and RealtimeServerMessage.',
      tags: ['riders', 'drivers', 'ops'],
      security: [{ bearer: [] }],
      querystring: RealtimeQuery,
      response: { '4xx': Problem },
    },
    handler: async () => {
      throw new DomainError('REQUEST.INVALID', 'GET /v1/realtime is a WebSocket: send "Upgrade: websocket".');
    },
    wsHandler: (socket, request) => {
      if (request.principal) realtime.accept(socket, request.principal);
      else socket.close(CloseCode.internalError, 'not authenticated');
    },
  });
};
