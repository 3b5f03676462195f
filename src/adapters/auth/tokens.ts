import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import type { AuthConfig } from '../../config.js';
import { DomainError } from '../../domain/errors.js';

export const roles = ['rider', 'driver', 'ops'] as const;
export type Role = (typeof roles)[number];

export interface Principal {
  role: Role;
  /** The rider's or driver's id (`sub`). */
  subject: string;
}

/** Subjects become database keys and log fields: keep them short and printable. */
export const SUBJECT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$';
const subjectPattern = new RegExp(SUBJECT_PATTERN);

/**
 * Verifying a signature costs about 90 µs here, more than the rest of a location update; a
 * driver sends the same token every few seconds. Verified tokens are remembered until they
 * expire, up to this many (oldest forgotten first).
 */
const VERIFIED_CACHE_SIZE = 50_000;

const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const DEV_TOKEN_TTL_SECONDS = 24 * 3600;

const invalid = (why: string) => new DomainError('AUTH.INVALID_TOKEN', why);

const explain = (error: unknown): DomainError => {
  if (error instanceof DomainError) return error;
  if (error instanceof errors.JWTExpired) return invalid('The token has expired.');
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalid('The token signature does not verify.');
  if (error instanceof errors.JOSEAlgNotAllowed)
    return invalid('The token is signed with an algorithm not accepted here.');
  if (error instanceof errors.JWTClaimValidationFailed)
    return invalid(`The token's "${error.claim}" claim is not valid.`);
  if (error instanceof errors.JOSEError) return invalid('The token is malformed or not verifiable.');
  throw error;
};

/**
 * Verifies bearer tokens: HS256 with a shared secret, or RS/ES/EdDSA keys published at a JWKS
 * URL. Unsigned (`alg: none`) tokens never verify: only the algorithms listed here are accepted.
 */
export const createTokenService = (auth: AuthConfig) => {
  const secret = auth.secret ? new TextEncoder().encode(auth.secret) : undefined;
  const jwks = auth.mode === 'jwt' && auth.jwksUrl ? createRemoteJWKSet(new URL(auth.jwksUrl)) : undefined;
  const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? asymmetricAlgorithms : [])];

  const keyFor: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (jwks) return jwks(header, token);
    throw invalid('The token is signed with an algorithm not accepted here.');
  };

  const verified = new Map<string, { principal: Principal; expiresAtMs: number }>();
  const remember = (token: string, principal: Principal, expiresAtMs: number) => {
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(token, { principal, expiresAtMs });
  };

  return {
    async verify(token: string): Promise<Principal> {
      const known = verified.get(token);
      if (known) {
        if (known.expiresAtMs > Date.now()) return known.principal;
        verified.delete(token);
      }
      try {
        const { payload } = await jwtVerify(token, keyFor, {
          algorithms,
          requiredClaims: ['sub', 'exp'],
          ...(auth.mode === 'jwt' && auth.issuer ? { issuer: auth.issuer } : {}),
          ...(auth.mode === 'jwt' && auth.audience ? { audience: auth.audience } : {}),
        });
        const role = payload.role;
        if (typeof role !== 'string' || !(roles as readonly string[]).includes(role)) {
          throw invalid(`The token's "role" claim must be one of ${roles.join(', ')}.`);
        }
        if (!payload.sub || !subjectPattern.test(payload.sub))
          throw invalid(`The token's "sub" claim is not a valid id.`);
        const principal: Principal = { role: role as Role, subject: payload.sub };
        // `exp` is required above, so every remembered token has an end.
        remember(token, principal, (payload.exp as number) * 1000);
        return principal;
      } catch (error) {
        throw explain(error);
      }
    },

    /** Only in dev mode: a token for any role and subject, for local use. */
    async issueDevToken(principal: Principal): Promise<{ token: string; expiresAt: Date }> {
      if (auth.mode !== 'dev' || !secret) {
        throw new DomainError(
          'AUTH.DEV_TOKENS_DISABLED',
          'Development tokens are only issued when AUTH_MODE=dev.',
        );
      }
      const expiresAt = new Date(Date.now() + DEV_TOKEN_TTL_SECONDS * 1000);
      const token = await new SignJWT({ role: principal.role })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(principal.subject)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(secret);
      return { token, expiresAt };
    },
  };
};

export type TokenService = ReturnType<typeof createTokenService>;
