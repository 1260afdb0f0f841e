// ID token verification (OpenID Connect Core 1.0 §3.1.3.7) and the
// authentication facts the session keeps from it.
import { type JWTPayload, type createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { timingSafeEqual } from '@cloakroom/core';

/** Asymmetric algorithms only: no `none`, no HS* (a client secret is no signing key here). */
export const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;

/** How and when the user authenticated, from the ID token. */
export interface AuthenticationInfo {
  /** `auth_time`, epoch seconds, when the provider sent it. */
  readonly authTime?: number;
  /** Authentication context class reference (`acr`). */
  readonly acr?: string;
  /** Authentication methods (`amr`). */
  readonly amr?: readonly string[];
  /** The provider's session id (`sid`), for back-channel logout. */
  readonly sid?: string;
}

export type Jwks = ReturnType<typeof createRemoteJWKSet>;

export interface IdTokenCheck {
  readonly jwks: Jwks;
  readonly issuer: string;
  readonly clientId: string;
  readonly clockToleranceSec: number;
  /** Required at sign-in; absent on refresh (the provider does not repeat it). */
  readonly nonce?: string;
  /** At refresh: the subject must stay the same. */
  readonly subject?: string;
  /** `max_age` requested: `auth_time` must be present and recent enough. */
  readonly maxAge?: number;
}

/** Verify an ID token; throws on any failure (message names the check, not the token). */
export async function verifyIdToken(token: string, check: IdTokenCheck): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, check.jwks, {
    issuer: check.issuer,
    audience: check.clientId,
    algorithms: [...ALGORITHMS],
    clockTolerance: check.clockToleranceSec,
    requiredClaims: ['sub', 'exp', 'iat'],
  });
  // Several audiences: azp must be us (Core §3.1.3.7 items 4-5).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== check.clientId) {
    throw new Error('azp is not this client');
  }
  if (payload.azp !== undefined && payload.azp !== check.clientId) {
    throw new Error('azp is not this client');
  }
  if (check.nonce !== undefined) {
    const nonce = payload.nonce;
    if (typeof nonce !== 'string' || !timingSafeEqual(nonce, check.nonce)) {
      throw new Error('nonce mismatch');
    }
  }
  if (check.subject !== undefined && payload.sub !== check.subject) {
    throw new Error('the ID token is for another subject');
  }
  if (check.maxAge !== undefined) {
    const authTime = payload.auth_time;
    const now = Math.floor(Date.now() / 1000);
    if (typeof authTime !== 'number' || authTime + check.maxAge + check.clockToleranceSec < now) {
      throw new Error('auth_time is missing or older than max_age');
    }
  }
  return payload;
}

/** The authentication facts of an ID token this vault verified before it kept it. */
export function authenticationOf(idToken: string | undefined): AuthenticationInfo {
  if (idToken === undefined) return {};
  let p: JWTPayload;
  try {
    p = decodeJwt(idToken);
  } catch {
    return {};
  }
  const amr = Array.isArray(p.amr)
    ? p.amr.filter((m): m is string => typeof m === 'string')
    : undefined;
  return {
    ...(typeof p.auth_time === 'number' ? { authTime: p.auth_time } : {}),
    ...(typeof p.acr === 'string' ? { acr: p.acr } : {}),
    ...(amr === undefined ? {} : { amr }),
    ...(typeof p.sid === 'string' ? { sid: p.sid } : {}),
  };
}
