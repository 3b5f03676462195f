import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { roles } from '../../adapters/auth/tokens.js';
import { errorCodes } from '../../domain/errors.js';
import { Id, LatLng, Money, RideEventJson, Ride as RideJson } from '../schemas.js';

/**
 * The `GET /v1/realtime` protocol, `peakride.v1`: one JSON object per text frame, both ways.
 * These schemas validate what clients send, type what the server sends, and are published in
 * the OpenAPI document (components) and described in docs/realtime.md.
 */

export const PROTOCOL = 'peakride.v1';
/** A client frame larger than this closes the connection with 1009. */
export const MAX_MESSAGE_BYTES = 4096;

/** Close codes the server uses (RFC 6455 §7.4). */
export const CloseCode = {
  /** A binary frame: the protocol is JSON text. */
  unsupportedData: 1003,
  /** A text frame that is not JSON (or not UTF-8). */
  invalidPayload: 1007,
  /** JSON that is not a known message, or a message with a missing, extra or mistyped field. */
  policyViolation: 1008,
  /** A frame over MAX_MESSAGE_BYTES. */
  messageTooBig: 1009,
  internalError: 1011,
  /** The server is restarting: reconnect (to another instance) and resume with `since`. */
  serviceRestart: 1012,
  /** The client reads too slowly: the server will not buffer without bound. Reconnect and resume. */
  tryAgainLater: 1013,
} as const;

const strict = { additionalProperties: false } as const;
const Seq = (description: string) => Type.Integer({ minimum: 0, maximum: 2_147_483_647, description });

export const SubscribeMessage = Type.Object(
  {
    type: Type.Literal('subscribe'),
    rideId: Id,
    since: Type.Optional(Seq('The last seq this client saw: every later event is sent first, from the log')),
  },
  { ...strict, description: 'Follow a ride: your own (rider), one assigned to you (driver), any (ops)' },
);
export const UnsubscribeMessage = Type.Object(
  { type: Type.Literal('unsubscribe'), rideId: Id },
  { ...strict, description: 'Stop following a ride' },
);
export const PingMessage = Type.Object(
  { type: Type.Literal('ping'), id: Type.Optional(Type.String({ maxLength: 64 })) },
  { ...strict, description: 'Application-level ping, answered by a pong with the same id' },
);
export const ClientMessage = Type.Union([SubscribeMessage, UnsubscribeMessage, PingMessage], {
  description: 'What a client may send on GET /v1/realtime',
});
export type ClientMessage = Static<typeof ClientMessage>;

export const HelloMessage = Type.Object(
  {
    type: Type.Literal('hello'),
    protocol: Type.Literal(PROTOCOL),
    role: Type.Enum(roles),
    subject: Type.String(),
    heartbeatSeconds: Type.Number({ description: 'The server pings this often; answer or be dropped' }),
  },
  { description: 'First message of every connection: who you are to the server' },
);
export const SubscribedMessage = Type.Object(
  {
    type: Type.Literal('subscribed'),
    rideId: Id,
    seq: Seq("The ride's current seq (its version)"),
  },
  { description: 'A subscribe was accepted; missed events (after `since`) follow, then live ones' },
);
export const UnsubscribedMessage = Type.Object(
  {
    type: Type.Literal('unsubscribed'),
    rideId: Id,
    reason: Type.Enum(['requested', 'finished', 'access_lost'], {
      description:
        'requested: you asked; finished: the ride completed, was cancelled or expired (its last event was sent); access_lost: the ride is no longer yours (a driver who dropped it)',
    }),
  },
  { description: 'The subscription ended' },
);
export const RideEventMessage = Type.Object(
  {
    type: Type.Literal('ride.event'),
    rideId: Id,
    seq: Seq('Per ride, 1, 2, 3 … without gap or repeat on one subscription'),
    event: RideEventJson,
    // The ride after this event, when the server has it (always for live events).
    ride: Type.Optional(RideJson),
  },
  { description: "A change of a followed ride, from the ride's event log" },
);
export const OfferMessage = Type.Object(
  {
    type: Type.Literal('offer'),
    offerId: Id,
    rideId: Id,
    status: Type.Enum(['pending', 'accepted', 'declined', 'expired', 'withdrawn']),
    expiresAt: Type.String({ format: 'date-time' }),
    pickup: LatLng,
    dropoff: LatLng,
    fare: Money,
    seq: Seq("The ride's seq when the offer changed"),
  },
  {
    description:
      'To drivers, unasked: an offer made to you (pending) and what became of it; on connect, the live one',
  },
);
export const PongMessage = Type.Object(
  { type: Type.Literal('pong'), id: Type.Optional(Type.String()) },
  { description: 'Answer to ping' },
);
export const ErrorMessage = Type.Object(
  {
    type: Type.Literal('error'),
    code: Type.Enum(errorCodes),
    detail: Type.String(),
    rideId: Type.Optional(Id),
  },
  { description: 'A refused subscribe; the connection stays open' },
);
export const ReconnectMessage = Type.Object(
  { type: Type.Literal('reconnect'), reason: Type.String() },
  { description: 'The server is going away: reconnect and resubscribe with `since`; close 1012 follows' },
);
export const ServerMessage = Type.Union(
  [
    HelloMessage,
    SubscribedMessage,
    UnsubscribedMessage,
    RideEventMessage,
    OfferMessage,
    PongMessage,
    ErrorMessage,
    ReconnectMessage,
  ],
  { description: 'What the server sends on GET /v1/realtime' },
);
export type ServerMessage = Static<typeof ServerMessage>;

/** For the OpenAPI document's components. */
export const realtimeSchemas: Record<string, TSchema> = {
  RealtimeClientMessage: ClientMessage,
  RealtimeServerMessage: ServerMessage,
};

const validators = {
  subscribe: Compile(SubscribeMessage),
  unsubscribe: Compile(UnsubscribeMessage),
  ping: Compile(PingMessage),
};

/** Reasons travel in close frames, which hold at most 123 bytes. */
const closeReason = (text: string) => (Buffer.byteLength(text) <= 123 ? text : `${text.slice(0, 119)}…`);

/** The message, or why it is refused (the close reason). */
export const readClientMessage = (value: unknown): { message: ClientMessage } | { refused: string } => {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(validators, type)) {
    return { refused: closeReason(`unknown message type ${JSON.stringify(type ?? null)}`) };
  }
  const validator = validators[type as keyof typeof validators];
  if (validator.Check(value)) return { message: value as ClientMessage };
  const [first] = validator.Errors(value).filter((error) => error.keyword !== 'boolean');
  const where = first?.instancePath || '/';
  return { refused: closeReason(`${type}: ${where} ${first?.message ?? 'is invalid'}`) };
};
