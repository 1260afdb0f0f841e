// SEC-33: the header checks that need no session. Browsers send
// `Sec-Fetch-Site` (Fetch Metadata) and `Origin` with every unsafe request,
// and page scripts on another site cannot forge either; only when both are
// missing (browsers from before 2020) does the session-bound token decide.

/** What the CSRF check needs from a request. */
export interface CsrfRequest {
  readonly method: string;
  /** The `Sec-Fetch-Site` header, if sent. */
  readonly secFetchSite: string | undefined;
  /** The `Origin` header, if sent. */
  readonly origin: string | undefined;
}

/** Where an unsafe request may come from. */
export interface CsrfPolicy {
  /** The app's own origins, normalized (`scheme://host[:port]`). */
  readonly ownOrigins: readonly string[];
  /** Other trusted origins, normalized. */
  readonly allowedOrigins: readonly string[];
}

/**
 * The verdict of {@link csrfDecision}: `allow`, `deny`, or `token` when the
 * request carries neither header and only a CSRF token can show it came
 * from the app's own pages.
 */
export type CsrfVerdict =
  | { readonly verdict: 'allow'; readonly by: 'safe-method' | 'fetch-metadata' | 'origin' }
  | { readonly verdict: 'deny'; readonly reason: 'cross-site' | 'origin-not-allowed' }
  | { readonly verdict: 'token' };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Decide whether a request may change state on behalf of the cookie it
 * carries (SEC-33). GET, HEAD and OPTIONS always pass: they must not change
 * state. Any other method passes when `Sec-Fetch-Site` is `same-origin` or
 * `none` (typed by the user), or when the request comes from one of
 * `allowedOrigins`. Without `Sec-Fetch-Site`, an `Origin` that is one of
 * the app's own or allowed origins passes, any other (including `null`)
 * is denied. With neither header the answer is `token`: never pass on
 * silence.
 *
 * A request authenticated by an `Authorization` bearer ticket instead of
 * the cookie needs no check: a browser never attaches that header to a
 * cross-site request on its own.
 *
 * @example
 * ```ts
 * import { csrfDecision } from '@cloakroom/http';
 *
 * const verdict = csrfDecision(
 *   { method: 'POST', secFetchSite: 'cross-site', origin: 'https://evil.example' },
 *   { ownOrigins: ['https://app.example.com'], allowedOrigins: [] },
 * );
 * // { verdict: 'deny', reason: 'cross-site' }
 * ```
 */
export function csrfDecision(request: CsrfRequest, policy: CsrfPolicy): CsrfVerdict {
  if (isSafeMethod(request.method)) {
    return { verdict: 'allow', by: 'safe-method' };
  }
  const origin = normalizeOrigin(request.origin);
  const site = request.secFetchSite?.trim().toLowerCase();
  if (site !== undefined && site !== '') {
    if (site === 'same-origin' || site === 'none')
      return { verdict: 'allow', by: 'fetch-metadata' };
    // A sibling subdomain is `same-site` and still another origin: only an explicit allowlist admits it.
    if (origin !== undefined && policy.allowedOrigins.includes(origin)) {
      return { verdict: 'allow', by: 'origin' };
    }
    return { verdict: 'deny', reason: 'cross-site' };
  }
  if (request.origin !== undefined) {
    if (
      origin !== undefined &&
      (policy.ownOrigins.includes(origin) || policy.allowedOrigins.includes(origin))
    ) {
      return { verdict: 'allow', by: 'origin' };
    }
    // `Origin: null` (sandboxed frames, some redirects) names no one we could trust.
    return { verdict: 'deny', reason: 'origin-not-allowed' };
  }
  return { verdict: 'token' };
}

/** Internal: GET, HEAD or OPTIONS, in any case: the methods that must not change state. */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method) || SAFE_METHODS.has(method.toUpperCase());
}

/**
 * The normalized origin (`scheme://host[:port]`, lower-case, default port
 * dropped) of an `Origin` header or of the origin a request was addressed to.
 * The one normaliser both sides of an origin comparison go through.
 *
 * @returns `undefined` for `undefined`, `null` (sandboxed frames, some
 *   redirects, opaque schemes) and anything that does not parse as a URL.
 * @example
 * ```ts
 * import { normalizeOrigin } from '@cloakroom/http';
 *
 * normalizeOrigin('HTTPS://App.Example.com:443'); // 'https://app.example.com'
 * normalizeOrigin('null'); // undefined
 * ```
 */
export function normalizeOrigin(value: string | undefined): string | undefined {
  if (value === undefined || value === 'null') return undefined;
  try {
    const url = new URL(value);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}
