// OpenID Connect Back-Channel Logout 1.0: verify the logout token (§2.6) and
// end the sessions it names, across the fleet (SEC-34).
//
// - `sub` without `sid`: every session of that user at this issuer goes at
//   once (`revokeSubject` in the issuer's namespace).
// - `sid` (with or without `sub`): the Cloakroom sessions that provider
//   session opened go at once (sign-in linked them to the sid, sid-links.ts),
//   and the sid is marked ended in the shared store: the vault's `session()`
//   still ends, at its next use, a session whose ID token carries that `sid`
//   but that the links missed (rotated by `cloakroom.refresh` since sign-in,
//   or signed in before links existed). A session's `sid` is sealed under its
//   ticket, so without a link it cannot be searched for.
// - `jti` replay: claimed once in the shared store until `iat` + max age
//   (a token older than that is refused anyway), so a replayed token is
//   refused on every instance.
import { errors, jwtVerify } from 'jose';
import type { VaultConfig } from './config';
import { ALGORITHMS } from './id-token';
import { revokeLinked, sidMarker } from './sid-links';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** The HTTP answer to give the provider (§2.8): 200, or 400 with an OAuth error body. */
export interface BackchannelLogoutResponse {
  readonly status: 200 | 400 | 503;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Why a token was refused (also in the `oidc.backchannel_logout` event). */
  readonly reason?: string;
}

const answer = (status: 200 | 400 | 503, reason?: string): BackchannelLogoutResponse => ({
  status,
  headers: { 'cache-control': 'no-store', 'content-type': 'application/json' },
  body:
    status === 200
      ? ''
      : JSON.stringify({ error: status === 400 ? 'invalid_request' : 'temporarily_unavailable' }),
  ...(reason === undefined ? {} : { reason }),
});

function logoutTokenOf(body: unknown): string | undefined {
  const params =
    body instanceof URLSearchParams
      ? body
      : typeof body === 'string'
        ? new URLSearchParams(body)
        : typeof body === 'object' && body !== null
          ? new URLSearchParams(
              Object.entries(body as Record<string, unknown>).filter(
                (e): e is [string, string] => typeof e[1] === 'string',
              ),
            )
          : undefined;
  const token = params?.get('logout_token');
  return token === null || token === undefined || token.length > 16_384 ? undefined : token;
}

export async function handleBackchannelLogout(
  c: VaultConfig,
  body: unknown,
): Promise<BackchannelLogoutResponse> {
  const refuse = (reason: string) => {
    c.emit({ type: 'oidc.backchannel_logout', outcome: 'rejected', reason });
    return answer(400, reason);
  };
  const token = logoutTokenOf(body);
  if (token === undefined) return refuse('no logout_token');
  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, await c.jwks(), {
      issuer: c.o.issuer,
      audience: c.o.clientId,
      algorithms: [...ALGORITHMS],
      clockTolerance: c.tolerance,
      maxTokenAge: c.o.logoutTokenMaxAgeSec ?? 300,
      requiredClaims: ['iat', 'jti'],
    });
    // Explicit typing is recommended (§2.4): accept it or none, never another typ (an ID token's JWT).
    const typ = verified.protectedHeader.typ?.toLowerCase();
    if (typ !== undefined && typ !== 'logout+jwt' && typ !== 'application/logout+jwt') {
      return refuse('typ');
    }
    payload = verified.payload as Record<string, unknown>;
  } catch (error) {
    if (error instanceof errors.JWKSTimeout) return answer(503, 'jwks');
    if (error instanceof errors.JOSEError) return refuse(error.code);
    return answer(503, 'jwks'); // the provider's keys could not be fetched
  }
  const events = payload.events;
  if (
    typeof events !== 'object' ||
    events === null ||
    typeof (events as Record<string, unknown>)[EVENT] !== 'object' ||
    (events as Record<string, unknown>)[EVENT] === null
  ) {
    return refuse('events');
  }
  // A nonce would make it usable as an ID token (§2.6 step 5).
  if ('nonce' in payload) return refuse('nonce');
  const sub = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : undefined;
  const sid = typeof payload.sid === 'string' && payload.sid.length > 0 ? payload.sid : undefined;
  if (sub === undefined && sid === undefined) return refuse('neither sub nor sid');
  const jti = payload.jti as string;
  const iat = payload.iat as number;
  const maxAgeMs = ((c.o.logoutTokenMaxAgeSec ?? 300) + c.tolerance) * 1000;
  const jtiKey = `jti\u0000${c.o.issuer}\u0000${jti}`;
  // Attempted, not confirmed: a claim whose write landed but whose reply was
  // lost (a timeout) must be released too, or the retry is refused as a replay.
  let ours = true; // until the store answers that the jti was claimed before
  try {
    if (!(await c.markers.claim(jtiKey, iat * 1000 + maxAgeMs))) {
      ours = false;
      c.emit({ type: 'oidc.backchannel_logout', outcome: 'replayed', reason: 'jti' });
      return answer(400, 'jti replayed');
    }
    if (sid !== undefined) {
      // The marker first: should revoking fail midway, sessions still end at their next use.
      await c.markers.claim(
        sidMarker(c.o.issuer, sid),
        Date.now() + (c.o.sidMemoryMs ?? 30 * 86_400_000),
      );
      const count = await revokeLinked(c, sid);
      c.emit({ type: 'oidc.backchannel_logout', outcome: 'revoked', by: 'sid', count });
      return answer(200);
    }
    const identity = { subject: sub as string, issuer: c.o.issuer };
    // The provider speaks for this user here: act as them (the default policy's rule).
    const count = await c.cloakroom.revokeSubject(identity, identity);
    c.emit({ type: 'oidc.backchannel_logout', outcome: 'revoked', by: 'sub', count });
    return answer(200);
  } catch {
    // The store is down: the provider retries on a non-200 (§2.8). The jti
    // is released (best effort) so that the retry does the work rather than
    // being refused as a replay of a logout that never happened.
    if (ours) await c.markers.release?.(jtiKey).catch(() => undefined);
    return answer(503, 'store');
  }
}
