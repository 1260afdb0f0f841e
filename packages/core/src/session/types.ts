// What the session operations take and return: the public result types of
// `createCloakroom`'s methods. Types only, so operations and the manager both
// depend on this file and never on each other.

/** What `create` returns: the ticket to hand the client, and when it dies unless used. */
export interface CreatedSession {
  /** The opaque ticket. Give it to the client (e.g. `serializeTicketCookie`); never log it. */
  readonly ticket: string;
  /** The session id (SHA-256 of the ticket): safe to log and to match audit events. */
  readonly sessionId: string;
  /** Idle deadline (epoch ms); activity moves it, never past `absoluteExpiresAt`. */
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
}

/** Options of `create`. */
export interface CreateOptions {
  /** A short public label for the device or client (shown by `listSessions`), ≤ 200 characters. */
  readonly label?: string;
}

/** A resolved session, for the server's eyes only. */
export interface ResolvedSession {
  readonly sessionId: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /**
   * A signed JWT to forward to resource servers: ours (renewed while a third
   * of its lifetime remains), or for a deposited session the provider's access token.
   */
  readonly token: string;
  readonly tokenExpiresAt: number;
  /**
   * Deposited sessions only, and only when true: the provider's access token
   * has expired. Such a session resolves only when a refresh token was
   * deposited with it (otherwise `resolve` answers `null`, reason
   * `token-expired`): refresh with your provider and call `replaceTokens`
   * before forwarding `token` upstream (SEC-31).
   */
  readonly tokenExpired?: true;
  /** Deposited sessions: the trusted issuer's name. */
  readonly issuer?: string;
  /** Deposited sessions: the provider's refresh token, if one was deposited. */
  readonly refreshToken?: string;
  /** Deposited sessions: the provider's ID token, if one was deposited. */
  readonly idToken?: string;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly createdAt: number;
  readonly label?: string;
}

/** Public metadata of a session, as `listSessions` shows it: no claims, no token. */
export interface SessionInfo {
  readonly sessionId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly label?: string;
}
