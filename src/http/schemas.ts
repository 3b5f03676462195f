import Type, { type Static } from 'typebox';
import { roles, SUBJECT_PATTERN } from '../adapters/auth/tokens.js';
import { errorCodes } from '../domain/errors.js';
import { rideStatuses } from '../domain/ride.js';

/** One schema per message: validation, serialisation, TypeScript types and OpenAPI all come from here. */

export const LatLng = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90, description: 'Latitude, WGS84 degrees' }),
    lng: Type.Number({ minimum: -180, maximum: 180, description: 'Longitude, WGS84 degrees' }),
  },
  { additionalProperties: false },
);

export const Money = Type.Object(
  {
    amount: Type.Integer({ minimum: 0, description: "In the currency's minor unit (cents, pence)" }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' }),
  },
  { additionalProperties: false },
);

// The "uuid" format alone also accepts a "urn:uuid:" prefix, which PostgreSQL refuses (a 500):
// the pattern pins the canonical 8-4-4-4-12 form.
export const Id = Type.String({
  format: 'uuid',
  pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$',
  description: 'A UUID',
});
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

const DateTime = Type.String({ format: 'date-time' });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.Enum(errorCodes),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { description: 'RFC 9457 problem details; `title` is a stable error code' },
);

export const DevTokenRequest = Type.Object(
  {
    role: Type.Enum(roles),
    subject: Type.String({ pattern: SUBJECT_PATTERN, description: "The rider's or driver's id" }),
  },
  { additionalProperties: false },
);
export const DevTokenResponse = Type.Object({ token: Type.String(), expiresAt: DateTime });

export const QuoteRequest = Type.Object({ pickup: LatLng, dropoff: LatLng }, { additionalProperties: false });
export const QuoteResponse = Type.Object({
  quoteId: Id,
  fare: Money,
  surge: Type.Number({ minimum: 1 }),
  city: Type.String(),
  distanceMeters: Type.Integer(),
  durationSeconds: Type.Integer(),
  pickupEtaSeconds: Type.Union([Type.Integer(), Type.Null()], { description: 'null when no driver is near' }),
  expiresAt: DateTime,
});

export const BookingRequest = Type.Object({ quoteId: Id }, { additionalProperties: false });
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' }),
});

export const Ride = Type.Object({
  id: Id,
  status: Type.Enum(rideStatuses),
  riderId: Type.String(),
  driverId: Type.Union([Type.String(), Type.Null()]),
  city: Type.String(),
  pickup: LatLng,
  dropoff: LatLng,
  fare: Money,
  surge: Type.Number(),
  distanceMeters: Type.Integer(),
  durationSeconds: Type.Integer(),
  quoteId: Id,
  searchDeadline: DateTime,
  cancellation: Type.Union([
    Type.Object({
      by: Type.Union([Type.Literal('rider'), Type.Literal('driver')]),
      reason: Type.Union([Type.String(), Type.Null()]),
    }),
    Type.Null(),
  ]),
  version: Type.Integer({ description: 'Increases with every change; the seq of the last ride event' }),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export type RideJson = Static<typeof Ride>;

export const RideEventJson = Type.Object({
  seq: Type.Integer({ description: "The ride's version after this change" }),
  type: Type.String({ description: 'ride.requested, ride.driver_assigned, ride.cancelled, …' }),
  status: Type.Enum(rideStatuses),
  actor: Type.Object({
    role: Type.Enum(['rider', 'driver', 'ops', 'system']),
    id: Type.Union([Type.String(), Type.Null()]),
  }),
  reason: Type.Union([Type.String(), Type.Null()]),
  at: DateTime,
});
export const RideEventList = Type.Array(RideEventJson);

export const CancelRequest = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

export const OnlineRequest = LatLng;
export const DriverStatusResponse = Type.Object({
  driverId: Type.String(),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
});

export const LocationRequest = Type.Object(
  {
    lat: LatLng.properties.lat,
    lng: LatLng.properties.lng,
    heading: Type.Optional(
      Type.Number({ minimum: 0, maximum: 360, description: 'Degrees clockwise from north' }),
    ),
    speed: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Metres per second' })),
    at: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339 date-time with offset' })),
  },
  { additionalProperties: false },
);

export const OfferJson = Type.Object({
  id: Id,
  rideId: Id,
  pickup: LatLng,
  dropoff: LatLng,
  fare: Money,
  expiresAt: DateTime,
});
export const OfferList = Type.Array(OfferJson);
export const OfferDeclined = Type.Object({ id: Id, rideId: Id, status: Type.Literal('declined') });

export const Health = Type.Object({ status: Type.String() });

export const NoContent = Type.Null({ description: 'Accepted; no body' });

// A query string is text: numbers are matched as decimals here, then range-checked by the route.
const Decimal = (description: string) =>
  Type.String({ pattern: '^-?[0-9]{1,3}(\\.[0-9]{1,15})?$', description });
export const ZonesQuery = Type.Object(
  {
    lat: Decimal('Latitude, WGS84 degrees, -90 to 90 (a decimal such as 48.8566)'),
    lng: Decimal('Longitude, WGS84 degrees, -180 to 180 (a decimal such as 2.3522)'),
  },
  { additionalProperties: false },
);
export const Zone = Type.Object({
  cell: Type.String({ description: 'H3 cell index (resolution of the city surge policy, 8 by default)' }),
  ring: Type.Integer({ minimum: 0, description: '0 for the cell of the point, 1 for its neighbours' }),
  centre: LatLng,
  demand: Type.Integer({
    minimum: 0,
    description: 'Rides requested in the surge window (5 min) in the cell and its neighbours',
  }),
  supply: Type.Integer({ minimum: 0, description: 'Available, fresh drivers around the cell' }),
  surge: Type.Number({ minimum: 1, description: 'What a quote picked up in this cell gets now' }),
});
export const ZonesResponse = Type.Array(Zone);
