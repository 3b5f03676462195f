/**
 * Every failure a caller can cause has a dotted code. The domain and the flows throw these;
 * the HTTP layer maps each code to a status in one place (http/problem.ts).
 */
export const errorCodes = [
  'REQUEST.INVALID',
  'REQUEST.MALFORMED_JSON',
  'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  'REQUEST.TOO_LARGE',
  'ROUTE.NOT_FOUND',
  'AUTH.MISSING_TOKEN',
  'AUTH.INVALID_TOKEN',
  'AUTH.FORBIDDEN_ROLE',
  'AUTH.DEV_TOKENS_DISABLED',
  'IDEMPOTENCY.KEY_REQUIRED',
  'IDEMPOTENCY.KEY_REUSED',
  'QUOTE.NOT_FOUND',
  'QUOTE.EXPIRED',
  'QUOTE.ALREADY_USED',
  'QUOTE.OUTSIDE_SERVICE_AREA',
  'ZONE.OUTSIDE_SERVICE_AREA',
  'RIDE.NOT_FOUND',
  'RIDE.INVALID_TRANSITION',
  'RIDE.RIDER_HAS_ACTIVE_RIDE',
  'OFFER.NOT_FOUND',
  'OFFER.ALREADY_TAKEN',
  'OFFER.ALREADY_DECLINED',
  'OFFER.EXPIRED',
  'OFFER.WITHDRAWN',
  'DRIVER.OFFLINE',
  'DRIVER.ON_RIDE',
  'DRIVER.HAS_ACTIVE_RIDE',
  'REALTIME.TOO_MANY_SUBSCRIPTIONS',
  'SERVICE.STARTING',
  'SERVICE.UNAVAILABLE',
  'SERVICE.OVERLOADED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export class DomainError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, detail: string) {
    super(detail);
    this.name = 'DomainError';
    this.code = code;
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
