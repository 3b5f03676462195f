/**
 * The only module that reads the environment. Every variable is declared here once, with its
 * parser and default; a bad value stops start-up with a message naming the variable.
 */

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export type AuthConfig =
  | { mode: 'dev'; secret: string }
  | { mode: 'jwt'; secret?: string; jwksUrl?: string; issuer?: string; audience?: string };

export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  redisUrl?: string;
  /** Prepended to every Redis key and channel, so deployments (and test runs) sharing a Redis never meet. */
  redisPrefix: string;
  auth: AuthConfig;
  logLevel: LogLevel;
  dispatch: {
    offerTimeoutMs: number;
    searchWindowMs: number;
    quoteTtlMs: number;
    matchRadiusMeters: number;
    driverStaleAfterMs: number;
    sweepIntervalMs: number;
    batchWindowMs: number;
    /** A dispatcher's lease on a city lives this long unless renewed (fail-over time). */
    leaseTtlMs: number;
  };
  /** An OSRM server for pickup ETAs; unset, ETAs are estimated from each city's road model. */
  osrmUrl?: string;
  realtime: {
    /** WebSocket ping interval; a connection silent for two of them is dropped. */
    heartbeatMs: number;
    /** How often the outbox relay looks for messages once the outbox is empty. */
    outboxPollMs: number;
  };
  /** Load shedding (docs/load-shedding.md): past either threshold, the sheddable class gets 503. */
  shedding: {
    /** Mean event-loop delay over a sample, in ms, above which to shed; 0 turns this signal off. */
    maxEventLoopDelayMs: number;
    /** Event-loop utilisation over a sample (0-1) above which to shed; 0 turns this signal off. */
    maxEventLoopUtilization: number;
    sampleIntervalMs: number;
    /** The `Retry-After` of a shed answer. */
    retryAfterSeconds: number;
  };
  /**
   * Client connections (HTTP and WebSocket) accepted at once; more are closed on arrival. Unset:
   * the open-file limit less a reserve (ops/open-files.ts).
   */
  maxConnections?: number;
  lifecycle: {
    /** After SIGTERM, how long the process keeps serving, unready, while load balancers drop it. */
    drainDelayMs: number;
    /** SIGTERM to exit at most: past it, what is still open is cut and the process exits 1. */
    shutdownGraceMs: number;
  };
  /** OpenTelemetry tracing, exported by OTLP/HTTP; unset (no endpoint), tracing is off. */
  tracing?: TracingConfig;
}

export const samplerNames = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export interface TracingConfig {
  /** Where spans are POSTed (the full URL, `/v1/traces` included). */
  tracesUrl: string;
  /** Unset: `peakride-<role>`. */
  serviceName?: string;
  sampler: (typeof samplerNames)[number];
  /** The ratio of the `traceidratio` samplers, 0 to 1. */
  samplerRatio: number;
}

/** One row per variable: the README's configuration table is checked against this list. */
export const configVariables = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'PEAKRIDE_DATA_DIR',
  'REDIS_URL',
  'PEAKRIDE_REDIS_PREFIX',
  'AUTH_MODE',
  'JWT_SECRET',
  'JWT_JWKS_URL',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'LOG_LEVEL',
  'PEAKRIDE_OFFER_TIMEOUT_SECONDS',
  'PEAKRIDE_SEARCH_WINDOW_SECONDS',
  'PEAKRIDE_QUOTE_TTL_SECONDS',
  'PEAKRIDE_MATCH_RADIUS_METERS',
  'PEAKRIDE_DRIVER_STALE_SECONDS',
  'PEAKRIDE_SWEEP_INTERVAL_MS',
  'PEAKRIDE_BATCH_WINDOW_MS',
  'PEAKRIDE_DISPATCH_LEASE_SECONDS',
  'OSRM_URL',
  'PEAKRIDE_WS_HEARTBEAT_SECONDS',
  'PEAKRIDE_OUTBOX_POLL_MS',
  'PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS',
  'PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION',
  'PEAKRIDE_SHED_SAMPLE_INTERVAL_MS',
  'PEAKRIDE_SHED_RETRY_AFTER_SECONDS',
  'PEAKRIDE_MAX_CONNECTIONS',
  'PEAKRIDE_DRAIN_DELAY_SECONDS',
  'PEAKRIDE_SHUTDOWN_GRACE_SECONDS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_SERVICE_NAME',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
] as const;

// Dev tokens must survive a restart of the embedded mode; anyone can mint them anyway.
const DEV_SECRET = 'peakride-dev-mode-not-a-secret-do-not-use-in-production';

const read = (env: Env, name: (typeof configVariables)[number]): string | undefined => {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
};

const number = (
  env: Env,
  name: (typeof configVariables)[number],
  fallback: number,
  { min, max, integer = false }: { min: number; max: number; integer?: boolean },
): number => {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new ConfigError(
      name,
      `expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`,
    );
  }
  return value;
};

const url = (env: Env, name: (typeof configVariables)[number], protocols: string[]): string | undefined => {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got ${parsed.protocol}`);
  }
  return raw;
};

const oneOf = <T extends string>(
  env: Env,
  name: (typeof configVariables)[number],
  allowed: readonly T[],
  fallback: T,
) => {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
};

const authConfig = (env: Env): AuthConfig => {
  const mode = oneOf(env, 'AUTH_MODE', ['dev', 'jwt'] as const, 'dev');
  const secret = read(env, 'JWT_SECRET');
  // HS256 with a short secret can be brute-forced offline from any token.
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes long');
  }
  if (mode === 'dev') return { mode, secret: secret ?? DEV_SECRET };
  const jwksUrl = url(env, 'JWT_JWKS_URL', ['https:', 'http:']);
  if (!secret && !jwksUrl) {
    throw new ConfigError(
      'JWT_SECRET',
      'AUTH_MODE=jwt needs JWT_SECRET (HS256) or JWT_JWKS_URL (RS/ES keys)',
    );
  }
  return {
    mode,
    ...(secret ? { secret } : {}),
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(read(env, 'JWT_ISSUER') ? { issuer: read(env, 'JWT_ISSUER') } : {}),
    ...(read(env, 'JWT_AUDIENCE') ? { audience: read(env, 'JWT_AUDIENCE') } : {}),
  };
};

const redisPrefix = (env: Env): string => {
  const prefix = read(env, 'PEAKRIDE_REDIS_PREFIX') ?? 'peakride:';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
    throw new ConfigError('PEAKRIDE_REDIS_PREFIX', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  }
  return prefix;
};

/**
 * The standard OpenTelemetry variables: the traces endpoint is used as it is, the general one
 * gets `/v1/traces` appended (as the specification says). Neither set: tracing is off, and the
 * SDK is never loaded.
 */
const tracingConfig = (env: Env): TracingConfig | undefined => {
  const tracesEndpoint = url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']);
  const endpoint = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']);
  const sampler = oneOf(env, 'OTEL_TRACES_SAMPLER', samplerNames, 'parentbased_always_on');
  const samplerRatio = number(env, 'OTEL_TRACES_SAMPLER_ARG', 1, { min: 0, max: 1 });
  const serviceName = read(env, 'OTEL_SERVICE_NAME');
  const tracesUrl = tracesEndpoint ?? (endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!tracesUrl) return undefined;
  return { tracesUrl, ...(serviceName ? { serviceName } : {}), sampler, samplerRatio };
};

const lifecycle = (env: Env): Config['lifecycle'] => {
  const drainDelayMs = Math.round(
    number(env, 'PEAKRIDE_DRAIN_DELAY_SECONDS', 5, { min: 0, max: 300 }) * 1000,
  );
  const shutdownGraceMs = Math.round(
    number(env, 'PEAKRIDE_SHUTDOWN_GRACE_SECONDS', 30, { min: 1, max: 3600 }) * 1000,
  );
  // The drain delay is spent before in-flight requests, sockets and backends are closed.
  if (drainDelayMs + 1000 > shutdownGraceMs) {
    throw new ConfigError(
      'PEAKRIDE_SHUTDOWN_GRACE_SECONDS',
      `must exceed PEAKRIDE_DRAIN_DELAY_SECONDS by at least 1 s to leave time to close (${shutdownGraceMs / 1000} s vs ${drainDelayMs / 1000} s)`,
    );
  }
  return { drainDelayMs, shutdownGraceMs };
};

export const loadConfig = (env: Env = process.env): Config => {
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const osrmUrl = url(env, 'OSRM_URL', ['http:', 'https:']);
  const seconds = (name: (typeof configVariables)[number], fallback: number, max: number) =>
    Math.round(number(env, name, fallback, { min: 0.05, max }) * 1000);
  return {
    port: number(env, 'PORT', 8080, { min: 0, max: 65_535, integer: true }),
    host: read(env, 'HOST') ?? '127.0.0.1',
    ...(databaseUrl ? { databaseUrl } : {}),
    dataDir: read(env, 'PEAKRIDE_DATA_DIR') ?? './.peakride',
    ...(redisUrl ? { redisUrl } : {}),
    redisPrefix: redisPrefix(env),
    auth: authConfig(env),
    logLevel: oneOf(env, 'LOG_LEVEL', logLevels, 'info'),
    dispatch: {
      offerTimeoutMs: seconds('PEAKRIDE_OFFER_TIMEOUT_SECONDS', 15, 600),
      searchWindowMs: seconds('PEAKRIDE_SEARCH_WINDOW_SECONDS', 120, 3600),
      quoteTtlMs: seconds('PEAKRIDE_QUOTE_TTL_SECONDS', 120, 3600),
      matchRadiusMeters: number(env, 'PEAKRIDE_MATCH_RADIUS_METERS', 5000, { min: 100, max: 50_000 }),
      driverStaleAfterMs: seconds('PEAKRIDE_DRIVER_STALE_SECONDS', 30, 3600),
      sweepIntervalMs: number(env, 'PEAKRIDE_SWEEP_INTERVAL_MS', 500, {
        min: 10,
        max: 60_000,
        integer: true,
      }),
      batchWindowMs: number(env, 'PEAKRIDE_BATCH_WINDOW_MS', 1500, { min: 0, max: 30_000, integer: true }),
      leaseTtlMs: seconds('PEAKRIDE_DISPATCH_LEASE_SECONDS', 6, 300),
    },
    ...(osrmUrl ? { osrmUrl } : {}),
    realtime: {
      heartbeatMs: seconds('PEAKRIDE_WS_HEARTBEAT_SECONDS', 15, 600),
      outboxPollMs: number(env, 'PEAKRIDE_OUTBOX_POLL_MS', 50, { min: 5, max: 10_000, integer: true }),
    },
    shedding: {
      maxEventLoopDelayMs: number(env, 'PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS', 50, { min: 0, max: 10_000 }),
      maxEventLoopUtilization: number(env, 'PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION', 0.85, { min: 0, max: 1 }),
      sampleIntervalMs: number(env, 'PEAKRIDE_SHED_SAMPLE_INTERVAL_MS', 250, {
        min: 10,
        max: 10_000,
        integer: true,
      }),
      retryAfterSeconds: number(env, 'PEAKRIDE_SHED_RETRY_AFTER_SECONDS', 2, {
        min: 1,
        max: 600,
        integer: true,
      }),
    },
    ...(read(env, 'PEAKRIDE_MAX_CONNECTIONS') !== undefined
      ? {
          maxConnections: number(env, 'PEAKRIDE_MAX_CONNECTIONS', 0, {
            min: 1,
            max: 10_000_000,
            integer: true,
          }),
        }
      : {}),
    lifecycle: lifecycle(env),
    ...withTracing(tracingConfig(env)),
  };
};

const withTracing = (tracing: TracingConfig | undefined) => (tracing ? { tracing } : {});
