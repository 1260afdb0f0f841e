// The token vault: one object with the BFF's handlers, over a Cloakroom manager.
import type { DepositedSession, UpstreamResult } from '@cloakroom/core';
import { type BackchannelLogoutResponse, handleBackchannelLogout } from './backchannel';
import { type OidcVaultOptions, resolveConfig } from './config';
import { UpstreamUnavailable } from './errors';
import { type AuthenticationInfo, authenticationOf } from './id-token';
import { providerRefresher } from './refresher';
import { type RevocationReport, revokeUpstream } from './revocation';
import { linkSession, sidMarker } from './sid-links';
import {
  type BeginSignInOptions,
  type SignInResult,
  type SignInStart,
  beginSignIn,
  completeSignIn,
  readCookie,
} from './sign-in';

/** A signed-in user's session, with a provider access token that is valid now. */
export interface VaultSession {
  /** The deposited session as `resolve` returns it (its `token` may be older than `accessToken`). */
  readonly session: DepositedSession;
  /** The provider's access token to forward to APIs, renewed when near expiry. */
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  /** When and how the user authenticated (`auth_time`, `acr`, `amr`, `sid`). */
  readonly auth: AuthenticationInfo;
  /** What the upstream refresh did on this call (`fresh` when none was due). */
  readonly upstream: 'fresh' | 'refreshed' | 'joined' | 'unavailable';
}

/** What `signOut` and `signOutEverywhere` did. */
export interface SignOutResult {
  /** Sessions removed here (0 when the ticket was not signed in). */
  readonly sessions: number;
  /** RFC 7009 revocation of this session's provider tokens. */
  readonly upstream: RevocationReport;
}

/** The BFF's OpenID Connect handlers. See {@link createOidcVault}. */
export interface OidcVault {
  /** Start a sign-in: redirect the browser to `url`, with `setCookie` on the response. */
  beginSignIn(options?: BeginSignInOptions): Promise<SignInStart>;
  /**
   * Finish a sign-in at the redirect URI: checks state and the transaction,
   * exchanges the code (PKCE), verifies the ID token (signature, iss, aud,
   * nonce, exp, auth_time against max_age) and deposits the tokens.
   * @throws SignInFailed (answer 400 and offer to sign in again)
   */
  completeSignIn(
    callback: string | URL | URLSearchParams,
    transaction: string | undefined,
    options?: { readonly label?: string },
  ): Promise<SignInResult>;
  /**
   * The session behind a ticket with a usable provider access token,
   * refreshed upstream once across the fleet when near expiry; `null` when
   * signed out (missing, expired, revoked, provider session ended, refresh token refused).
   * @throws UpstreamUnavailable when the token expired and the provider cannot renew it (answer 503).
   */
  session(
    ticket: unknown,
    options?: { readonly forceRefresh?: boolean },
  ): Promise<VaultSession | null>;
  /**
   * Rotate the ticket of a signed-in session (`cloakroom.refresh`: after a
   * privilege change, or on your own schedule) and keep its back-channel
   * logout link: a logout of its provider session (`sid`) then revokes the
   * new ticket at once on every instance, like the one issued at sign-in.
   * Rotating with `cloakroom.refresh` directly also works, but such a session
   * only ends at its next {@link OidcVault.session} after that logout.
   * @returns the new ticket (set it as the cookie), or `null` when the ticket is not a signed-in session of this provider.
   */
  rotate(ticket: unknown): Promise<{
    readonly ticket: string;
    readonly sessionId: string;
    readonly expiresAt: number;
  } | null>;
  /** Sign out this session: remove it, then revoke its provider tokens (RFC 7009). */
  signOut(ticket: unknown): Promise<SignOutResult>;
  /** Sign out every session of this user at this provider, and revoke this session's provider tokens. */
  signOutEverywhere(ticket: unknown): Promise<SignOutResult>;
  /** RFC 7009 revocation of provider tokens you hold (e.g. from a resolved session before `revokeSubject`). */
  revokeUpstream(tokens: {
    readonly refreshToken?: string | undefined;
    readonly accessToken?: string | undefined;
  }): Promise<RevocationReport>;
  /**
   * The back-channel logout endpoint (form body `logout_token=...`): verify
   * the logout token and revoke the sessions it names, at once on every
   * instance (by `sub`: all of the user's; by `sid`: those that provider
   * session signed in).
   */
  handleBackchannelLogout(body: unknown): Promise<BackchannelLogoutResponse>;
  /** The sealed transaction from a `Cookie` request header, for `completeSignIn`. */
  readTransactionCookie(cookieHeader: string | null | undefined): string | undefined;
}

/**
 * The token vault of a backend-for-frontend over a Cloakroom manager.
 *
 * @example
 * ```ts
 * const vault = createOidcVault({
 *   cloakroom, store, issuer: 'https://idp.example.com', clientId: 'bff',
 *   clientSecret: process.env.OIDC_CLIENT_SECRET, redirectUri: 'https://app.example.com/callback',
 *   secret: vaultSecret, // 32 random bytes, the same on every instance
 * });
 * const start = await vault.beginSignIn({ returnTo: '/' });
 * ```
 */
export function createOidcVault(options: OidcVaultOptions): OidcVault {
  const c = resolveConfig(options);
  const refreshOptions = {
    earlyMs: options.refresh?.earlyMs ?? 30_000,
    ...(options.refresh?.leaseMs === undefined ? {} : { leaseMs: options.refresh.leaseMs }),
    ...(options.refresh?.timeoutMs === undefined ? {} : { timeoutMs: options.refresh.timeoutMs }),
  };
  const ours = (s: Awaited<ReturnType<typeof c.cloakroom.resolve>>): s is DepositedSession =>
    s !== null && s.issuer === options.issuer;

  const endSession = async (ticket: unknown, everywhere: boolean): Promise<SignOutResult> => {
    const s = await c.cloakroom.resolve(ticket);
    if (!ours(s)) {
      return { sessions: 0, upstream: { refreshToken: 'none', accessToken: 'none' } };
    }
    // Local first: the user is out even when the provider is down.
    const identity = { subject: s.subject, issuer: s.issuer };
    const sessions = everywhere
      ? await c.cloakroom.revokeSubject(identity, identity)
      : Number(await c.cloakroom.revoke(ticket));
    const upstream = await revokeUpstream(
      c,
      { refreshToken: s.refreshToken, accessToken: s.token },
      s.sessionId,
    );
    return { sessions, upstream };
  };

  return {
    beginSignIn: (opts) => beginSignIn(c, opts),
    completeSignIn: (callback, transaction, opts) => completeSignIn(c, callback, transaction, opts),
    async session(ticket, opts) {
      const s = await c.cloakroom.resolve(ticket);
      if (!ours(s)) return null;
      let auth = authenticationOf(s.idToken);
      // A back-channel logout by sid that could not revoke this session at
      // once (rotated since sign-in) ends it here, on whichever instance sees it next.
      if (auth.sid !== undefined && (await c.markers.has(sidMarker(options.issuer, auth.sid)))) {
        await c.cloakroom.revoke(ticket);
        c.emit({ type: 'oidc.sid_ended', sessionId: s.sessionId });
        return null;
      }
      const force = opts?.forceRefresh === true;
      const due = force || s.tokenExpiresAt - Date.now() <= refreshOptions.earlyMs;
      if (!due || s.refreshToken === undefined) {
        return {
          session: s,
          accessToken: s.token,
          accessTokenExpiresAt: s.tokenExpiresAt,
          auth,
          upstream: 'fresh',
        };
      }
      const r: UpstreamResult = await c.cloakroom.refreshUpstream(
        ticket,
        providerRefresher(c, s.subject),
        { ...refreshOptions, force },
      );
      if (!('token' in r)) {
        if (r.status === 'rejected') {
          c.emit({ type: 'oidc.refresh', sessionId: s.sessionId, outcome: 'rejected' });
        }
        return null;
      }
      if (r.status === 'refreshed' || r.status === 'unavailable') {
        c.emit({ type: 'oidc.refresh', sessionId: s.sessionId, outcome: r.status });
      }
      if (r.status === 'unavailable' && r.tokenExpired === true) throw new UpstreamUnavailable();
      if (r.idToken !== undefined) auth = authenticationOf(r.idToken);
      return {
        session: s,
        accessToken: r.token,
        accessTokenExpiresAt: r.tokenExpiresAt,
        auth,
        upstream: r.status,
      };
    },
    signOut: (ticket) => endSession(ticket, false),
    signOutEverywhere: (ticket) => endSession(ticket, true),
    async rotate(ticket) {
      const s = await c.cloakroom.resolve(ticket);
      if (!ours(s)) return null;
      const { sid } = authenticationOf(s.idToken);
      const ended = async () =>
        sid !== undefined && (await c.markers.has(sidMarker(options.issuer, sid)));
      // Its provider session already logged out: end it, as session() would.
      if (await ended()) {
        await c.cloakroom.revoke(ticket);
        c.emit({ type: 'oidc.sid_ended', sessionId: s.sessionId });
        return null;
      }
      const next = await c.cloakroom.refresh(ticket);
      if (next === null) return null;
      if (sid !== undefined) {
        await linkSession(c, sid, {
          sessionId: next.sessionId,
          subject: s.subject,
          expiresAt: s.absoluteExpiresAt, // a refresh never moves the absolute deadline
        });
        // A logout that arrived between the refresh and the link revoked
        // only the old id; it marked the sid before doing so, so look again.
        if (await ended()) {
          await c.cloakroom.revoke(next.ticket);
          c.emit({ type: 'oidc.sid_ended', sessionId: next.sessionId });
          return null;
        }
      }
      return { ticket: next.ticket, sessionId: next.sessionId, expiresAt: next.expiresAt };
    },
    revokeUpstream: (tokens) => revokeUpstream(c, tokens),
    handleBackchannelLogout: (body) => handleBackchannelLogout(c, body),
    readTransactionCookie: (header) => readCookie(header, c.cookieName),
  };
}
