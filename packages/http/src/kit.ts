import type { Actor, Claims, Cloakroom, DefaultDepositedClaims } from '@cloakroom/core';
import { type HttpAnswer, answerForError, httpAnswer } from './answers';
import { type CloakroomContext, createContext } from './context';
import { readCredentials } from './credentials';
import { csrfDecision, isSafeMethod, normalizeOrigin } from './csrf';
import { type CsrfTokens, createCsrfTokens } from './csrf-token';
import { type CloakroomHttpOptions, type ResolvedHttpOptions, resolveHttpOptions } from './options';
import type { Session } from './session';

/** What an adapter tells the kit about a request, in its framework's terms. */
export interface HttpRequestView {
  /** The HTTP method, e.g. `POST`. */
  readonly method: string;
  /** A request header by lower-case name, or `undefined` when absent. */
  header(name: string): string | undefined;
  /**
   * The origin the request was addressed to (`https://host[:port]`), if the
   * adapter knows it; the app's own origin unless `origin` is configured.
   * A function is called only when the CSRF check needs it (an unsafe method
   * with no configured `origin`), so a GET never pays for building it.
   */
  readonly origin: string | undefined | (() => string | undefined);
  /** The client address for the access policy and audit events, if known. */
  readonly ip: string | undefined;
  /** The `_csrf` field of a form body, if the request has one (read only for the CSRF fallback). */
  csrfField?(): unknown;
  /** Append a `Set-Cookie` header to the response. */
  setCookie(header: string): void;
}

/** Per-route options. */
export interface RouteOptions {
  /**
   * `false` turns the CSRF check off for this route (SEC-33 opt-out): for a
   * webhook or any endpoint that must accept cross-site posts. Such a route
   * must not act on the session cookie alone.
   * @default true
   */
  readonly csrf?: boolean;
}

/** The outcome of {@link CloakroomHttp.begin}: go on to the handler, or send this answer. */
export type Begin<C extends object = Claims, D extends object = DefaultDepositedClaims<C>> =
  | { readonly kind: 'continue'; readonly context: CloakroomContext<C, D> }
  | { readonly kind: 'answer'; readonly answer: HttpAnswer };

/** The framework-independent part of every adapter; see {@link createCloakroomHttp}. */
export interface CloakroomHttp<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  readonly options: ResolvedHttpOptions;
  /** Session-bound CSRF tokens under the configured (or per-process) secret. */
  readonly csrfTokens: CsrfTokens;
  /**
   * Run the checks every request goes through, in order: refuse a bearer
   * ticket sent with the cookie (400); refuse an unsafe cross-site request
   * (403, SEC-33) before any store call; resolve the ticket (503 with
   * `Retry-After` when the store is down, never 401); for a browser that sent
   * neither `Sec-Fetch-Site` nor `Origin`, require the session's CSRF token
   * (header `X-CSRF-Token` or form field `_csrf`). Never answers 401 itself:
   * a missing session is `context.session === null`.
   */
  begin(request: HttpRequestView, route?: RouteOptions): Promise<Begin<C, D>>;
  /** The answer for an error a handler threw (503, 403), or `undefined` to let the framework answer. */
  answerForError(error: unknown): HttpAnswer | undefined;
  /** The 401 answer for a route that needs a session. */
  unauthorized(): HttpAnswer;
}

/**
 * The framework-independent core of the Cloakroom adapters: reads the ticket
 * (cookie, or an opt-in bearer ticket), applies the CSRF checks, resolves the
 * session, maps store outages to 503, and builds the per-request
 * {@link CloakroomContext} (sign-in, refresh, sign-out, sign-out everywhere).
 * Framework adapters translate requests and answers; use this directly to
 * write one for another framework.
 *
 * @throws ConfigInvalid for bad options (see {@link CloakroomHttpOptions}).
 * @example
 * ```ts
 * import type { Cloakroom } from '@cloakroom/core';
 * import { createCloakroomHttp } from '@cloakroom/http';
 *
 * declare const cloakroom: Cloakroom;
 * const kit = createCloakroomHttp(cloakroom, { origin: 'https://app.example.com' }); // claims types from the manager
 * const begun = await kit.begin({
 *   method: 'GET',
 *   header: () => undefined,
 *   origin: 'https://app.example.com',
 *   ip: '203.0.113.7',
 *   setCookie: () => {},
 * });
 * if (begun.kind === 'continue') console.log(begun.context.session); // null: no cookie
 * ```
 */
export function createCloakroomHttp<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
>(cloakroom: Cloakroom<C, D>, options?: CloakroomHttpOptions): CloakroomHttp<C, D> {
  const resolved = resolveHttpOptions(options);
  // Straight from the caller (checked above): the resolved options, which are public, hold no key.
  const csrfTokens = createCsrfTokens(options?.csrfSecret);
  const { retryAfterSeconds } = resolved;
  const answer = (a: HttpAnswer): Begin<C, D> => ({ kind: 'answer', answer: a });

  return {
    options: resolved,
    csrfTokens,
    answerForError: (error) => answerForError(error, retryAfterSeconds),
    unauthorized: () => httpAnswer('unauthorized'),
    async begin(request, route) {
      const credentials = readCredentials(
        { cookie: request.header('cookie'), authorization: request.header('authorization') },
        resolved.cookie,
        resolved.bearer,
      );
      if (credentials.kind === 'ambiguous') return answer(httpAnswer('ambiguous_credentials'));
      const ticket = credentials.kind === 'ticket' ? credentials.ticket : undefined;
      const via = credentials.kind === 'ticket' ? credentials.via : undefined;

      // A browser never adds an Authorization header to a cross-site request by itself.
      let needToken = false;
      // Safe methods change no state and always pass (csrfDecision says so too): skip the origin work.
      if (route?.csrf !== false && via !== 'bearer' && !isSafeMethod(request.method)) {
        const addressed = request.origin;
        const ownOrigins =
          resolved.origins ??
          addressedOrigin(typeof addressed === 'function' ? addressed() : addressed);
        const verdict = csrfDecision(
          {
            method: request.method,
            secFetchSite: request.header('sec-fetch-site'),
            origin: request.header('origin'),
          },
          { ownOrigins, allowedOrigins: resolved.allowedOrigins },
        );
        if (verdict.verdict === 'deny') return answer(httpAnswer('cross_site_request'));
        needToken = verdict.verdict === 'token';
      }

      const actor: Actor = request.ip === undefined ? {} : { ip: request.ip };
      let session: Session<C, D> | null = null;
      if (ticket !== undefined) {
        try {
          session = await cloakroom.resolve(ticket, actor);
        } catch (error) {
          const mapped = answerForError(error, retryAfterSeconds);
          if (mapped === undefined) throw error;
          return answer(mapped);
        }
      }

      if (needToken) {
        // Nothing to bind a token to: refuse rather than pass on silence.
        if (session === null) return answer(httpAnswer('cross_site_request'));
        const presented = request.header('x-csrf-token') ?? (await request.csrfField?.());
        if (!csrfTokens.verify(session.sessionId, presented)) {
          return answer(httpAnswer('cross_site_request'));
        }
      }

      const context = createContext<C, D>(cloakroom, resolved, csrfTokens, {
        ticket: session === null ? undefined : ticket,
        via: session === null ? undefined : via,
        session,
        actor,
        setCookie: (header) => request.setCookie(header),
      });
      return { kind: 'continue', context };
    },
  };
}

/** The normalized origin a request was addressed to, as a list of zero or one. */
function addressedOrigin(origin: string | undefined): string[] {
  const normalized = normalizeOrigin(origin);
  return normalized === undefined ? [] : [normalized];
}
