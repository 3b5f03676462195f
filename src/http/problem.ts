import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, isDomainError } from '../domain/errors.js';

/** The one place where an error code becomes an HTTP status. */
export const statusOf: Record<ErrorCode, number> = {
  'REQUEST.INVALID': 400,
  'REQUEST.MALFORMED_JSON': 400,
  'REQUEST.UNSUPPORTED_MEDIA_TYPE': 415,
  'REQUEST.TOO_LARGE': 413,
  'ROUTE.NOT_FOUND': 404,
  'AUTH.MISSING_TOKEN': 401,
  'AUTH.INVALID_TOKEN': 401,
  'AUTH.FORBIDDEN_ROLE': 403,
  'AUTH.DEV_TOKENS_DISABLED': 404,
  'IDEMPOTENCY.KEY_REQUIRED': 400,
  'IDEMPOTENCY.KEY_REUSED': 422,
  'QUOTE.NOT_FOUND': 404,
  'QUOTE.EXPIRED': 410,
  'QUOTE.ALREADY_USED': 409,
  'QUOTE.OUTSIDE_SERVICE_AREA': 422,
  'ZONE.OUTSIDE_SERVICE_AREA': 422,
  'RIDE.NOT_FOUND': 404,
  'RIDE.INVALID_TRANSITION': 409,
  'RIDE.RIDER_HAS_ACTIVE_RIDE': 409,
  'OFFER.NOT_FOUND': 404,
  'OFFER.ALREADY_TAKEN': 409,
  'OFFER.ALREADY_DECLINED': 409,
  'OFFER.EXPIRED': 409,
  'OFFER.WITHDRAWN': 409,
  'DRIVER.OFFLINE': 409,
  'DRIVER.ON_RIDE': 409,
  'DRIVER.HAS_ACTIVE_RIDE': 409,
  // Sent on a WebSocket, never as an HTTP answer; 429 is the status it would have.
  'REALTIME.TOO_MANY_SUBSCRIPTIONS': 429,
  'SERVICE.STARTING': 503,
  'SERVICE.UNAVAILABLE': 503,
  // Load shedding: the route's priority class is refused while the event loop is saturated.
  'SERVICE.OVERLOADED': 503,
  INTERNAL: 500,
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: ErrorCode;
  status: number;
  detail: string;
  instance?: string;
  errors?: Array<{ path: string; message: string }>;
}

export const problemOf = (error: DomainError, instance?: string): Problem => ({
  type: `urn:peakride:problem:${error.code}`,
  title: error.code,
  status: statusOf[error.code],
  detail: error.message,
  ...(instance ? { instance } : {}),
});

export const sendProblem = (reply: FastifyReply, problem: Problem, retryAfterSeconds?: number) => {
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
};

/** Fastify's own client-error codes, translated into ours. */
const frameworkErrors: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'REQUEST.MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REQUEST.MALFORMED_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST.INVALID',
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST.TOO_LARGE',
};

const validationProblem = (error: FastifyError, instance: string): Problem => {
  if (error.validationContext === 'headers') {
    return problemOf(
      new DomainError(
        'IDEMPOTENCY.KEY_REQUIRED',
        'Send an Idempotency-Key header (1 to 255 visible characters).',
      ),
      instance,
    );
  }
  const errors = (error.validation ?? []).map((issue) => {
    const missing = (issue.params as { missingProperty?: string } | undefined)?.missingProperty;
    const extra = (issue.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    const path = `${error.validationContext ?? 'body'}${issue.instancePath}${missing ? `/${missing}` : ''}${extra ? `/${extra}` : ''}`;
    const message = extra ? 'is not an accepted property' : (issue.message ?? 'is invalid');
    return { path, message };
  });
  const detail = errors.map((issue) => `${issue.path} ${issue.message}`).join('; ') || error.message;
  return { ...problemOf(new DomainError('REQUEST.INVALID', detail), instance), errors };
};

/** Turns anything thrown into problem+json; a 5xx never reveals internals. */
export const handleError = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
  const instance = request.url;
  if (isDomainError(error)) {
    return sendProblem(reply, problemOf(error, instance), statusOf[error.code] === 503 ? 1 : undefined);
  }
  if (error.validation) return sendProblem(reply, validationProblem(error, instance));
  const code = error.code ? frameworkErrors[error.code] : undefined;
  if (code) return sendProblem(reply, problemOf(new DomainError(code, error.message), instance));
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return sendProblem(reply, problemOf(new DomainError('REQUEST.INVALID', error.message), instance));
  }
  request.log.error({ err: error }, 'request failed');
  return sendProblem(
    reply,
    problemOf(
      new DomainError('INTERNAL', `Something went wrong on our side (request ${request.id}).`),
      instance,
    ),
  );
};

export const handleNotFound = (request: FastifyRequest, reply: FastifyReply) =>
  sendProblem(
    reply,
    problemOf(
      new DomainError('ROUTE.NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`),
      request.url,
    ),
  );
