// The oidc package's own failures. Messages name what failed, never a token,
// code, state or cookie value.

/** Why a sign-in callback was refused. */
export type SignInFailure =
  | 'transaction' // the transaction cookie is missing, tampered with or expired
  | 'state' // the callback's state is not the one this browser started with
  | 'issuer' // the callback's `iss` parameter names another issuer (RFC 9207)
  | 'provider' // the provider answered the authorization request with an error
  | 'token-endpoint' // the code exchange failed
  | 'id-token' // the ID token did not verify (signature, iss, aud, nonce, exp, auth_time)
  | 'session-limit'; // the user is at the manager's sessionLimit (evict: 'refuse'); the new provider tokens were revoked

/**
 * A sign-in callback that must not produce a session. `reason` is stable;
 * `providerError` carries the provider's OAuth error code when it sent one.
 *
 * @example
 * ```ts
 * try { await vault.completeSignIn(req.url, cookie); }
 * catch (e) { if (e instanceof SignInFailed) res.status(400).send('sign-in failed: ' + e.reason); }
 * ```
 */
export class SignInFailed extends Error {
  readonly code = 'ERR_OIDC_SIGN_IN';
  constructor(
    readonly reason: SignInFailure,
    message: string,
    readonly providerError?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SignInFailed';
  }
}

/**
 * The provider could not renew an expired access token (down, timed out):
 * the session is kept; answer 503 with Retry-After, not 401.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof UpstreamUnavailable) res.status(503).set('Retry-After', '5').end(); }
 * ```
 */
export class UpstreamUnavailable extends Error {
  readonly code = 'ERR_OIDC_UPSTREAM_UNAVAILABLE';
  constructor(message = 'the identity provider could not renew the access token') {
    super(message);
    this.name = 'UpstreamUnavailable';
  }
}
