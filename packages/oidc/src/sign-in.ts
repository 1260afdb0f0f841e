// Authorization code + PKCE (S256) + state + nonce, into a deposited session.
import { isCloakroomError, timingSafeEqual } from '@cloakroom/core';
import type { VaultConfig } from './config';
import { randomToken, sha256b64url } from './encoding';
import { SignInFailed } from './errors';
import { type AuthenticationInfo, authenticationOf, verifyIdToken } from './id-token';
import { revokeUpstream } from './revocation';
import { linkSession } from './sid-links';
import { openTransaction, sealTransaction } from './transaction';

/** Options of `beginSignIn`. */
export interface BeginSignInOptions {
  /** Where to send the user afterwards; returned by `completeSignIn` (check it is yours before redirecting). */
  readonly returnTo?: string;
  /**
   * `login` forces a fresh authentication (step-up); `none`, `consent`,
   * `select_account` as the provider supports. Default: `consent` when the
   * scope asks for `offline_access` (OpenID Connect Core §11: providers may
   * otherwise ignore it and issue no refresh token); none otherwise.
   */
  readonly prompt?: string;
  /** `max_age` in seconds: the ID token's `auth_time` must be this recent. */
  readonly maxAge?: number;
  /** `acr_values` to request, space-separated. */
  readonly acrValues?: string;
  readonly loginHint?: string;
}

/** What `beginSignIn` returns: send the browser to `url` with `setCookie` on the response. */
export interface SignInStart {
  /** The provider's authorization URL. */
  readonly url: string;
  /** A `Set-Cookie` header value carrying the sealed transaction (HttpOnly, SameSite=Lax, short-lived). */
  readonly setCookie: string;
  /** The sealed transaction itself, for apps that keep it elsewhere. */
  readonly transaction: string;
}

/** What `completeSignIn` returns. */
export interface SignInResult {
  /** The Cloakroom ticket: put it in the session cookie. Never log it. */
  readonly ticket: string;
  readonly sessionId: string;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly returnTo?: string;
  readonly auth: AuthenticationInfo;
  /** A `Set-Cookie` value that clears the transaction cookie. */
  readonly clearCookie: string;
}

const AUTH_CLAIMS = JSON.stringify({
  id_token: { auth_time: { essential: true }, acr: null, amr: null },
});

function cookie(c: VaultConfig, value: string, maxAge: number): string {
  return [
    `${c.cookieName}=${value}`,
    'Path=/',
    'HttpOnly',
    // Lax: the provider's redirect back is a top-level GET navigation.
    'SameSite=Lax',
    `Max-Age=${maxAge}`,
    ...(c.secureCookies ? ['Secure'] : []),
  ].join('; ');
}

export async function beginSignIn(
  c: VaultConfig,
  options: BeginSignInOptions = {},
): Promise<SignInStart> {
  const meta = await c.metadata();
  const state = randomToken();
  const nonce = randomToken();
  const verifier = randomToken(48);
  const ttl = c.o.transactionTtlSec ?? 600;
  const transaction = await sealTransaction(
    c.txKey,
    {
      state,
      nonce,
      verifier,
      ...(options.returnTo === undefined ? {} : { returnTo: options.returnTo }),
      ...(options.maxAge === undefined ? {} : { maxAge: options.maxAge }),
    },
    ttl,
  );
  const url = new URL(meta.authorization_endpoint);
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: c.o.clientId,
    redirect_uri: c.o.redirectUri,
    scope: c.scope,
    state,
    nonce,
    code_challenge: sha256b64url(verifier),
    code_challenge_method: 'S256',
    resource: c.o.resource,
    prompt:
      options.prompt ?? (c.scope.split(' ').includes('offline_access') ? 'consent' : undefined),
    max_age: options.maxAge === undefined ? undefined : String(options.maxAge),
    acr_values: options.acrValues,
    login_hint: options.loginHint,
    // How the user authenticated, asked for where the provider takes the
    // claims parameter (Core §5.5); elsewhere the provider decides.
    claims: meta.claims_parameter_supported === true ? AUTH_CLAIMS : undefined,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return { url: url.href, transaction, setCookie: cookie(c, transaction, ttl) };
}

function paramsOf(callback: string | URL | URLSearchParams): URLSearchParams {
  if (callback instanceof URLSearchParams) return callback;
  if (callback instanceof URL) return callback.searchParams;
  // A path with a query (`req.url`) or a full URL.
  return new URL(callback, 'http://callback.invalid').searchParams;
}

export async function completeSignIn(
  c: VaultConfig,
  callback: string | URL | URLSearchParams,
  transaction: string | undefined,
  options: { readonly label?: string } = {},
): Promise<SignInResult> {
  try {
    return await complete(c, callback, transaction, options);
  } catch (error) {
    if (error instanceof SignInFailed) {
      c.emit({
        type: 'oidc.sign_in_failed',
        reason: error.reason,
        ...(error.providerError === undefined ? {} : { providerError: error.providerError }),
      });
    }
    throw error;
  }
}

async function complete(
  c: VaultConfig,
  callback: string | URL | URLSearchParams,
  transaction: string | undefined,
  options: { readonly label?: string },
): Promise<SignInResult> {
  const tx = await openTransaction(c.txKey, transaction);
  const params = paramsOf(callback);
  const state = params.get('state');
  if (state === null || !timingSafeEqual(state, tx.state)) {
    throw new SignInFailed('state', 'the callback state does not match this sign-in');
  }
  const iss = params.get('iss');
  if (iss !== null && iss !== c.o.issuer) {
    throw new SignInFailed('issuer', 'the callback comes from another issuer (RFC 9207)');
  }
  const error = params.get('error');
  if (error !== null) {
    // Only the short OAuth error code, bounded: never the free-text description.
    const code = error.replace(/[^a-z_]/g, '').slice(0, 64);
    throw new SignInFailed('provider', `the provider refused the sign-in: ${code}`, code);
  }
  const code = params.get('code');
  if (code === null || code.length === 0)
    throw new SignInFailed('provider', 'the callback has no code');
  const meta = await c.metadata();
  let answer: Awaited<ReturnType<VaultConfig['post']>>;
  try {
    answer = await c.post(meta.token_endpoint, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: c.o.redirectUri,
      code_verifier: tx.verifier,
      ...(c.o.resource === undefined ? {} : { resource: c.o.resource }),
    });
  } catch (cause) {
    throw new SignInFailed('token-endpoint', 'the token endpoint did not answer', undefined, {
      cause,
    });
  }
  const body = answer.body;
  if (answer.status !== 200 || body === undefined) {
    const err = typeof body?.error === 'string' ? body.error.slice(0, 64) : undefined;
    throw new SignInFailed('token-endpoint', `the code exchange failed (${answer.status})`, err);
  }
  const { access_token: accessToken, refresh_token: refreshToken, id_token: idToken } = body;
  if (typeof accessToken !== 'string' || typeof idToken !== 'string') {
    throw new SignInFailed('token-endpoint', 'the token response lacks access_token or id_token');
  }
  try {
    await verifyIdToken(idToken, {
      jwks: await c.jwks(),
      issuer: c.o.issuer,
      clientId: c.o.clientId,
      clockToleranceSec: c.tolerance,
      nonce: tx.nonce,
      ...(tx.maxAge === undefined ? {} : { maxAge: tx.maxAge }),
    });
  } catch (cause) {
    throw new SignInFailed('id-token', 'the ID token did not verify', undefined, { cause });
  }
  let created: Awaited<ReturnType<VaultConfig['cloakroom']['deposit']>>;
  try {
    created = await c.cloakroom.deposit(
      {
        accessToken,
        idToken,
        ...(typeof refreshToken === 'string' ? { refreshToken } : {}),
      },
      { issuer: c.o.issuer, ...(options.label === undefined ? {} : { label: options.label }) },
    );
  } catch (cause) {
    // No session holds these tokens (refused by the limit, or the store
    // failed): they must not stay alive at the provider.
    await revokeUpstream(c, {
      ...(typeof refreshToken === 'string' ? { refreshToken } : {}),
      accessToken,
    });
    if (!(isCloakroomError(cause) && cause.code === 'ERR_SESSION_LIMIT')) throw cause;
    throw new SignInFailed(
      'session-limit',
      'the user already has as many sessions as sessionLimit allows; the new tokens were revoked',
      undefined,
      { cause },
    );
  }
  const auth = authenticationOf(idToken);
  if (auth.sid !== undefined) {
    // So that a back-channel logout by this sid revokes the session at once.
    // The session's subject is the access token's, as the manager verified it.
    const s = await c.cloakroom.resolve(created.ticket);
    if (s !== null) {
      await linkSession(c, auth.sid, {
        sessionId: created.sessionId,
        subject: s.subject,
        expiresAt: created.absoluteExpiresAt,
      });
    }
  }
  c.emit({ type: 'oidc.signed_in', sessionId: created.sessionId });
  return {
    ...created,
    ...(tx.returnTo === undefined ? {} : { returnTo: tx.returnTo }),
    auth,
    clearCookie: cookie(c, '', 0),
  };
}

/** The transaction cookie's value from a `Cookie` request header, if present. */
export function readCookie(header: string | undefined | null, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
