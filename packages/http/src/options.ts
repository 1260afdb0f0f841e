import { ConfigInvalid, type TicketCookieOptions, clearTicketCookie } from '@cloakroom/core';

/** Options every Cloakroom framework adapter takes (the adapters pass them through). */
export interface CloakroomHttpOptions {
  /**
   * Ticket cookie attributes, used to set, read and clear it. Keep the
   * defaults in production; `{ name: 'cloakroom-dev', secure: false }` only
   * for local development over plain http.
   * @default {} (`__Host-cloakroom`, Secure, HttpOnly, SameSite=Lax, Path=/)
   */
  readonly cookie?: TicketCookieOptions;
  /**
   * The app's own origin(s), e.g. `'https://app.example.com'`. An unsafe
   * request whose `Origin` is one of them passes the CSRF check. Set it
   * behind a proxy that terminates TLS or rewrites `Host`.
   * @default the origin the request itself was addressed to (scheme and `Host`)
   */
  readonly origin?: string | readonly string[];
  /**
   * Other origins trusted to send unsafe requests with the user's cookie
   * (e.g. a sibling front end). A request from one of them passes even when
   * `Sec-Fetch-Site` says `same-site` or `cross-site`.
   * @default []
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Key of the CSRF token fallback (HMAC of the session id), at least 32
   * bytes. Every instance of a fleet must share it; with the default each
   * process has its own, so a token works only on the instance that made it.
   * @default 32 random bytes per process
   */
  readonly csrfSecret?: Uint8Array;
  /**
   * Accept a ticket in `Authorization: Bearer cr1_…` for non-browser clients.
   * A request that carries both a bearer ticket and the cookie is refused
   * (400), never silently resolved with one of them.
   * @default false
   */
  readonly bearer?: boolean;
  /** Seconds sent in `Retry-After` with a 503 when the store is down. @default 5 */
  readonly retryAfterSeconds?: number;
}

/**
 * {@link CloakroomHttpOptions} checked, with defaults filled in. The CSRF
 * secret is checked but left out, so that logging the options (e.g.
 * `kit.options`) never prints a key; the kit hands it to the token maker.
 */
export interface ResolvedHttpOptions {
  readonly cookie: TicketCookieOptions;
  /** Normalized origins (`scheme://host[:port]`), or undefined to use the request's own. */
  readonly origins: readonly string[] | undefined;
  readonly allowedOrigins: readonly string[];
  readonly bearer: boolean;
  readonly retryAfterSeconds: number;
}

/**
 * Check the options and fill in defaults.
 * @throws ConfigInvalid for an origin that is not a bare http(s) origin, a
 *   CSRF secret shorter than 32 bytes, unsafe cookie attributes, or a
 *   `retryAfterSeconds` that is not a non-negative integer.
 * @example
 * ```ts
 * import { resolveHttpOptions } from '@cloakroom/http';
 *
 * resolveHttpOptions({ origin: 'https://App.example.com/' }).origins; // ['https://app.example.com']
 * ```
 */
export function resolveHttpOptions(options: CloakroomHttpOptions = {}): ResolvedHttpOptions {
  const cookie = options.cookie ?? {};
  clearTicketCookie(cookie); // throws ConfigInvalid now, not on the first request
  const { origin, allowedOrigins = [], csrfSecret, bearer = false } = options;
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new ConfigInvalid('retryAfterSeconds must be a non-negative integer');
  }
  if (csrfSecret !== undefined && !(csrfSecret instanceof Uint8Array && csrfSecret.length >= 32)) {
    throw new ConfigInvalid('csrfSecret must be a Uint8Array of at least 32 bytes');
  }
  if (typeof bearer !== 'boolean') throw new ConfigInvalid('bearer must be a boolean');
  const origins =
    origin === undefined
      ? undefined
      : (typeof origin === 'string' ? [origin] : origin).map((o) => configuredOrigin(o, 'origin'));
  if (origins?.length === 0) throw new ConfigInvalid('origin must name at least one origin');
  return {
    cookie,
    origins,
    allowedOrigins: allowedOrigins.map((o) => configuredOrigin(o, 'allowedOrigins')),
    bearer,
    retryAfterSeconds,
  };
}

/** `scheme://host[:port]` of a configured origin; anything with a path, query or credentials is refused. */
function configuredOrigin(value: unknown, what: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new ConfigInvalid(
      `${what} entries must be bare origins such as 'https://app.example.com'`,
    );
  }
  return url.origin;
}
