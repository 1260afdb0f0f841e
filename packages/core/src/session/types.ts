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

/** Application claims: a JSON object. The default claims type of a manager. */
export type Claims = Record<string, unknown>;

/**
 * The default type of deposited sessions' claims for a manager whose own
 * claims are `C`: `Claims` for an untyped manager; `never` (no deposited
 * sessions) once `C` is a specific type, so `session.claims.role` is typed
 * without narrowing. Declare the second type parameter to use `deposit`.
 */
export type DefaultDepositedClaims<C extends object> = Claims extends C ? Claims : never;

/** What every resolved session carries, whoever vouched for it. */
interface SessionBase {
  readonly sessionId: string;
  readonly subject: string;
  /**
   * A signed JWT to forward to resource servers: ours (renewed while a third
   * of its lifetime remains), or for a deposited session the provider's access token.
   */
  readonly token: string;
  readonly tokenExpiresAt: number;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly createdAt: number;
  readonly label?: string;
}

/** A session the app created (`create`): its claims are the app's, of type `C`. */
export interface OwnSession<C extends object = Claims> extends SessionBase {
  readonly claims: Readonly<C>;
  /** Absent: the app itself vouches for the subject. */
  readonly issuer?: undefined;
  /** Deposited sessions only. */
  readonly tokenExpired?: undefined;
  /** Deposited sessions only. */
  readonly refreshToken?: undefined;
  /** Deposited sessions only. */
  readonly idToken?: undefined;
}

/** A session of a provider's tokens (`deposit`): its claims are the access token's payload, of type `D`. */
export interface DepositedSession<D extends object = Claims> extends SessionBase {
  readonly claims: Readonly<D>;
  /** The trusted issuer's name. */
  readonly issuer: string;
  /**
   * Only when true: the provider's access token has expired. Such a session
   * resolves only when a refresh token was deposited with it (otherwise
   * `resolve` answers `null`, reason `token-expired`): refresh with your
   * provider and call `replaceTokens` before forwarding `token` upstream (SEC-31).
   */
  readonly tokenExpired?: true;
  /** The provider's refresh token, if one was deposited. */
  readonly refreshToken?: string;
  /** The provider's ID token, if one was deposited. */
  readonly idToken?: string;
}

/**
 * A resolved session, for the server's eyes only: the app's own (`issuer`
 * absent, claims `C`) or deposited (`issuer` set, claims `D`). Checking
 * `session.issuer === undefined` narrows it.
 *
 * @example
 * ```ts
 * const session: ResolvedSession<{ role: string }> | null = await cloakroom.resolve(ticket);
 * if (session?.issuer === undefined) console.log(session?.claims.role);
 * ```
 */
export type ResolvedSession<C extends object = Claims, D extends object = C> =
  | OwnSession<C>
  | DepositedSession<D>;

/**
 * Public metadata of a session, as `listSessions` shows it: what a user needs
 * to recognise a device and end it (`revokeSession`). No claims, no token.
 */
export interface SessionInfo {
  /** The session id: pass it to `revokeSession`. Safe to show and to log. */
  readonly sessionId: string;
  /** When the user signed in on this device (epoch ms); kept across `refresh`. */
  readonly createdAt: number;
  /** Last activity seen (epoch ms), to within the touch interval (`touchIntervalMs`). */
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  /** The coarse client description the app gave at `create` / `deposit` (`label`), e.g. "Firefox on macOS". */
  readonly label?: string;
  /** For a deposited session: the trusted issuer that vouched for it (absent for the app's own). */
  readonly issuer?: string;
}
