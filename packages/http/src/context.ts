import {
  type Actor,
  type Claims,
  type Cloakroom,
  type CreateArgs,
  type CreateOptions,
  type DefaultDepositedClaims,
  clearTicketCookie,
  identityOf,
  serializeTicketCookie,
} from '@cloakroom/core';
import type { TicketSource } from './credentials';
import type { CsrfTokens } from './csrf-token';
import type { ResolvedHttpOptions } from './options';
import type { Session } from './session';

/** What {@link CloakroomContext.signIn} returns: never the ticket, which went into the cookie. */
export interface SignedIn {
  readonly sessionId: string;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  /** The CSRF token of the new session, for pages rendered right after sign-in. */
  readonly csrfToken: string;
}

/** What {@link CloakroomContext.refresh} returns. */
export interface Refreshed {
  readonly sessionId: string;
  readonly expiresAt: number;
  /**
   * The new ticket, only when the request came with a bearer ticket (a
   * non-browser client must be told its new ticket; a browser gets the cookie).
   */
  readonly ticket?: string;
}

/**
 * The per-request Cloakroom handle every adapter hands its handlers (as
 * `req.cloakroom`, `c.get('cloakroom')`, …). Methods that change the session
 * set or clear the ticket cookie on the response; a method that throws
 * (`StoreUnavailable`: answer 503) leaves the cookie untouched.
 */
export interface CloakroomContext<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  /** The signed-in session, or `null` (no ticket, or one that does not resolve). */
  readonly session: Session<C, D> | null;
  /** Where the ticket came from; `undefined` without one. */
  readonly via: TicketSource | undefined;
  /** The actor for the access policy and audit events: the client address, and the session's identity. */
  readonly actor: Actor;
  /**
   * Create a session for `subject` and set the ticket cookie (`Max-Age` = the
   * absolute deadline). A session the browser already had stays alive until
   * it expires; `signOut()` first to replace it.
   */
  signIn(subject: string, claims?: C, options?: CreateOptions): Promise<SignedIn>;
  /**
   * Rotate the ticket (do it at every privilege change, SEC-06), optionally
   * with new claims; the old ticket stops working and the new cookie is set.
   * @returns `null` when there is no session, or it no longer resolves.
   */
  refresh(options?: { readonly claims?: C }): Promise<Refreshed | null>;
  /** Revoke this session and clear the cookie. @returns whether a session was removed. */
  signOut(): Promise<boolean>;
  /**
   * Revoke every session of this session's user (in its issuer's namespace,
   * SEC-29) and clear the cookie. @returns how many were removed; 0 without a session.
   */
  signOutEverywhere(): Promise<number>;
  /** The CSRF token of this session (for the header-less fallback), or `undefined` without one. */
  csrfToken(): string | undefined;
}

/** The request state a context starts from. */
export interface ContextStart<C extends object, D extends object> {
  readonly ticket: string | undefined;
  readonly via: TicketSource | undefined;
  readonly session: Session<C, D> | null;
  readonly actor: Actor;
  readonly setCookie: (header: string) => void;
}

/** Build the per-request handle; see {@link CloakroomContext}. */
export function createContext<C extends object, D extends object>(
  cloakroom: Cloakroom<C, D>,
  options: ResolvedHttpOptions,
  tokens: CsrfTokens,
  start: ContextStart<C, D>,
): CloakroomContext<C, D> {
  return new RequestContext(cloakroom, options, tokens, start);
}

// A class, not an object literal with getters and closures: one such literal
// per request made V8 promote it (and what it holds) to the old generation,
// so the Express adapter paid ~150 µs per request in GC and slower code over
// calling resolve by hand; with the state in fields and the methods on the
// prototype it costs what the hand-written route does (measured in HTTP A/B
// runs, see docs/performance-http.md).
class RequestContext<C extends object, D extends object> implements CloakroomContext<C, D> {
  readonly via: TicketSource | undefined;
  #ticket: string | undefined;
  #session: Session<C, D> | null;
  readonly #cloakroom: Cloakroom<C, D>;
  readonly #options: ResolvedHttpOptions;
  readonly #tokens: CsrfTokens;
  readonly #baseActor: Actor;
  readonly #setCookie: (header: string) => void;

  constructor(
    cloakroom: Cloakroom<C, D>,
    options: ResolvedHttpOptions,
    tokens: CsrfTokens,
    start: ContextStart<C, D>,
  ) {
    this.via = start.via;
    this.#ticket = start.ticket;
    this.#session = start.session;
    this.#cloakroom = cloakroom;
    this.#options = options;
    this.#tokens = tokens;
    this.#baseActor = start.actor;
    this.#setCookie = start.setCookie;
  }

  get session(): Session<C, D> | null {
    return this.#session;
  }

  get actor(): Actor {
    return this.#actorFor(this.#session);
  }

  // Whose request this is, for own-sessions-only policies (SEC-29: subject and issuer together).
  #actorFor(s: Session<C, D> | null): Actor {
    return s === null ? this.#baseActor : { ...this.#baseActor, ...identityOf(s) };
  }

  async signIn(subject: string, claims?: C, createOptions?: CreateOptions): Promise<SignedIn> {
    // signIn's own signature already made claims optional only when C allows it.
    const args = [claims, createOptions, this.#baseActor] as unknown as CreateArgs<C>;
    const created = await this.#cloakroom.create(subject, ...args);
    // The cookie lives as long as the session could; the server enforces the idle timeout.
    this.#setCookie(
      serializeTicketCookie(created.ticket, {
        ...this.#options.cookie,
        expiresAt: created.absoluteExpiresAt,
      }),
    );
    return {
      sessionId: created.sessionId,
      expiresAt: created.expiresAt,
      absoluteExpiresAt: created.absoluteExpiresAt,
      csrfToken: this.#tokens.tokenFor(created.sessionId),
    };
  }

  async refresh(refreshOptions?: { readonly claims?: C }): Promise<Refreshed | null> {
    const ticket = this.#ticket;
    const session = this.#session;
    if (ticket === undefined || session === null) return null;
    const claims = refreshOptions?.claims;
    const next = await this.#cloakroom.refresh(
      ticket,
      claims === undefined ? {} : { claims },
      this.#actorFor(session),
    );
    if (next === null) return null;
    this.#ticket = next.ticket;
    // Core refuses new claims for a deposited session, so only an own session gets here with them.
    const renewed = {
      ...session,
      sessionId: next.sessionId,
      expiresAt: next.expiresAt,
      ...(claims === undefined ? {} : { claims }),
    } as Session<C, D>;
    this.#session = renewed;
    if (this.via === 'bearer') {
      return { sessionId: next.sessionId, expiresAt: next.expiresAt, ticket: next.ticket };
    }
    this.#setCookie(
      serializeTicketCookie(next.ticket, {
        ...this.#options.cookie,
        expiresAt: renewed.absoluteExpiresAt,
      }),
    );
    return { sessionId: next.sessionId, expiresAt: next.expiresAt };
  }

  async signOut(): Promise<boolean> {
    const ticket = this.#ticket;
    const removed =
      ticket === undefined
        ? false
        : await this.#cloakroom.revoke(ticket, this.#actorFor(this.#session));
    this.#ticket = undefined;
    this.#session = null;
    this.#setCookie(clearTicketCookie(this.#options.cookie));
    return removed;
  }

  async signOutEverywhere(): Promise<number> {
    const session = this.#session;
    if (session === null) return 0;
    const removed = await this.#cloakroom.revokeSubject(
      identityOf(session),
      this.#actorFor(session),
    );
    this.#ticket = undefined;
    this.#session = null;
    this.#setCookie(clearTicketCookie(this.#options.cookie));
    return removed;
  }

  csrfToken(): string | undefined {
    const session = this.#session;
    return session === null ? undefined : this.#tokens.tokenFor(session.sessionId);
  }
}
