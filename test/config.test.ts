import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const goodSecret = 'a-test-secret-that-is-long-enough-for-hs256';

/** Runs loadConfig and returns what it threw, failing if it did not throw. */
const errorOf = (env: Record<string, string>): Error => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
};

describe('configuration from the environment', () => {
  it('When nothing is set, then the documented defaults apply', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './.peakride',
      logLevel: 'info',
      auth: { mode: 'dev' },
      dispatch: {
        offerTimeoutMs: 15_000,
        searchWindowMs: 120_000,
        quoteTtlMs: 120_000,
        matchRadiusMeters: 5000,
        driverStaleAfterMs: 30_000,
      },
      lifecycle: { drainDelayMs: 5000, shutdownGraceMs: 30_000 },
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it('When loadConfig is given an environment, then it reads only that environment', () => {
    const before = process.env.PORT;
    process.env.PORT = 'abc';
    try {
      expect(loadConfig({}).port).toBe(8080);
    } finally {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
    }
  });

  it('When variables are set to valid values, then they are used, times converted to milliseconds', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://user@db.example:5432/peakride',
      PEAKRIDE_DATA_DIR: '/var/lib/peakride',
      REDIS_URL: 'redis://cache:6379',
      LOG_LEVEL: 'warn',
      PEAKRIDE_OFFER_TIMEOUT_SECONDS: '0.5',
      PEAKRIDE_SEARCH_WINDOW_SECONDS: '3',
      PEAKRIDE_QUOTE_TTL_SECONDS: '60',
      PEAKRIDE_MATCH_RADIUS_METERS: '2500',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://user@db.example:5432/peakride',
      dataDir: '/var/lib/peakride',
      redisUrl: 'redis://cache:6379',
      logLevel: 'warn',
      dispatch: { offerTimeoutMs: 500, searchWindowMs: 3000, quoteTtlMs: 60_000, matchRadiusMeters: 2500 },
    });
  });

  it('When a variable is blank, then its default applies', () => {
    expect(loadConfig({ PORT: '  ', AUTH_MODE: '' })).toMatchObject({ port: 8080, auth: { mode: 'dev' } });
  });

  it('When AUTH_MODE=jwt has a long enough secret or a JWKS URL, then it is accepted with that key source', () => {
    expect(loadConfig({ AUTH_MODE: 'jwt', JWT_SECRET: goodSecret }).auth).toEqual({
      mode: 'jwt',
      secret: goodSecret,
    });
    expect(
      loadConfig({
        AUTH_MODE: 'jwt',
        JWT_JWKS_URL: 'https://id.example/.well-known/jwks.json',
        JWT_ISSUER: 'https://id.example/',
        JWT_AUDIENCE: 'peakride',
      }).auth,
    ).toEqual({
      mode: 'jwt',
      jwksUrl: 'https://id.example/.well-known/jwks.json',
      issuer: 'https://id.example/',
      audience: 'peakride',
    });
  });

  const bad: Array<[string, Record<string, string>, string]> = [
    ['PORT is not a number', { PORT: 'abc' }, 'PORT'],
    ['PORT is above 65535', { PORT: '70000' }, 'PORT'],
    ['PORT is not an integer', { PORT: '80.5' }, 'PORT'],
    ['PORT is negative', { PORT: '-1' }, 'PORT'],
    ['AUTH_MODE is unknown', { AUTH_MODE: 'magic' }, 'AUTH_MODE'],
    ['DATABASE_URL is not a URL', { DATABASE_URL: 'not-a-url' }, 'DATABASE_URL'],
    ['DATABASE_URL is a MySQL URL', { DATABASE_URL: 'mysql://root@localhost/peakride' }, 'DATABASE_URL'],
    ['REDIS_URL is an HTTP URL', { REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    ['LOG_LEVEL is unknown', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['JWT_SECRET is shorter than 32 bytes', { AUTH_MODE: 'jwt', JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    ['JWT_SECRET is too short even in dev mode', { JWT_SECRET: 'x'.repeat(31) }, 'JWT_SECRET'],
    ['AUTH_MODE=jwt has neither secret nor JWKS URL', { AUTH_MODE: 'jwt' }, 'JWT_SECRET'],
    ['JWT_JWKS_URL is not a URL', { AUTH_MODE: 'jwt', JWT_JWKS_URL: 'keys.json' }, 'JWT_JWKS_URL'],
    [
      'the offer timeout is negative',
      { PEAKRIDE_OFFER_TIMEOUT_SECONDS: '-1' },
      'PEAKRIDE_OFFER_TIMEOUT_SECONDS',
    ],
    ['the offer timeout is zero', { PEAKRIDE_OFFER_TIMEOUT_SECONDS: '0' }, 'PEAKRIDE_OFFER_TIMEOUT_SECONDS'],
    [
      'the search window is not a number',
      { PEAKRIDE_SEARCH_WINDOW_SECONDS: 'soon' },
      'PEAKRIDE_SEARCH_WINDOW_SECONDS',
    ],
    ['the quote TTL is infinite', { PEAKRIDE_QUOTE_TTL_SECONDS: 'Infinity' }, 'PEAKRIDE_QUOTE_TTL_SECONDS'],
    ['the match radius is too small', { PEAKRIDE_MATCH_RADIUS_METERS: '10' }, 'PEAKRIDE_MATCH_RADIUS_METERS'],
    ['the sweep interval is fractional', { PEAKRIDE_SWEEP_INTERVAL_MS: '2.5' }, 'PEAKRIDE_SWEEP_INTERVAL_MS'],
    ['the drain delay is negative', { PEAKRIDE_DRAIN_DELAY_SECONDS: '-1' }, 'PEAKRIDE_DRAIN_DELAY_SECONDS'],
    [
      'the grace period leaves no time after the drain delay',
      { PEAKRIDE_DRAIN_DELAY_SECONDS: '10', PEAKRIDE_SHUTDOWN_GRACE_SECONDS: '10.5' },
      'PEAKRIDE_SHUTDOWN_GRACE_SECONDS',
    ],
  ];

  it.each(bad)(
    'When %s, then loadConfig throws a ConfigError naming the variable',
    (_case, env, variable) => {
      const error = errorOf(env);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(new RegExp(`^${variable}\\b`));
      // The message also says what is wrong, not just where.
      expect(error.message.length).toBeGreaterThan(variable.length + 10);
    },
  );

  it('When AUTH_MODE=jwt has no key source, then the error names both ways to give one', () => {
    expect(errorOf({ AUTH_MODE: 'jwt' }).message).toMatch(/JWT_SECRET[\s\S]*JWT_JWKS_URL/);
  });

  it('When a secret is rejected, then the error does not echo the secret', () => {
    const secret = 'short-secret-value';
    expect(errorOf({ AUTH_MODE: 'jwt', JWT_SECRET: secret }).message).not.toContain(secret);
  });
});
