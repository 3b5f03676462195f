import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config.js';
import { traceFields } from '../spans.js';

/**
 * Fields that may hold a credential, wherever a log call puts them: masked in the JSON line.
 * `err.command.args` is ioredis's: a failed command carries its arguments, and those of AUTH are
 * the Redis password (and those of a snapshot SET a few megabytes).
 */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
  'redisUrl',
  '*.redisUrl',
  'err.command.args',
  '*.err.command.args',
];

export interface LoggerOptions {
  level: LogLevel;
  role: string;
  /** Adds `trace_id` and `span_id` of the active span to each line (only while tracing is on). */
  traceIds: boolean;
  /** Unset: standard output. */
  destination?: DestinationStream;
}

/**
 * The process's one logger: JSON lines (pino) with `role` and `pid`, credentials masked. Request
 * lines carry `reqId` (Fastify's child logger; the `x-request-id` header when the caller sent one),
 * flow lines about a ride carry `rideId`.
 */
export const createLogger = ({ level, role, traceIds, destination }: LoggerOptions): Logger =>
  pino(
    {
      level,
      base: { role, pid: process.pid },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      ...(traceIds ? { mixin: traceFields } : {}),
    },
    destination,
  );
