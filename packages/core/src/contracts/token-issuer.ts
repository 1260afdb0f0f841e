// The extension contract for external identity providers: what `deposit`
// needs from a verifier (`trustedIssuer(...)` is one), and the tokens it keeps.
// Types only; the session operations consume them.

/**
 * A verifier for one external issuer's tokens, such as `trustedIssuer(...)`
 * (which checks them against the issuer's JWKS). Configure the ones you
 * accept in `createCloakroom({ trustedIssuers })`.
 */
export interface TokenIssuer {
  /** The issuer's name as configured (usually its `iss` URL); `deposit` selects by it. */
  readonly issuer: string;
  /** Verify an access token; throws `TokenRejected`. */
  verify(token: unknown): Promise<{
    readonly payload: {
      readonly sub: string;
      readonly exp: number;
      readonly [claim: string]: unknown;
    };
    readonly header: { readonly kid?: string; readonly alg: string };
  }>;
  /**
   * The kill switch for deposited sessions (SEC-31): `false` when the key
   * that signed a deposited token must no longer be honoured: the issuer has
   * withdrawn it from its JWKS, or the operator disabled it. Asked on every
   * `resolve` and `refresh` of a deposited session, so answer from memory
   * (a cached JWKS), never with a network round trip on the hot path.
   * Optional: without it, only removing the issuer from `trustedIssuers`
   * stops its sessions.
   */
  keyUsable?(kid: string): boolean | Promise<boolean>;
}

/** Tokens handed over by an identity provider. */
export interface DepositTokens {
  /** Verified on intake against its issuer; resolved back for forwarding upstream. */
  readonly accessToken: string;
  /** Kept sealed for the app's own refresh with the provider; opaque to Cloakroom. */
  readonly refreshToken?: string;
  /** Kept sealed; opaque to Cloakroom (verify it yourself against your client id if you rely on it). */
  readonly idToken?: string;
}
