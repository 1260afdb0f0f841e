import { isCloakroomError } from '@cloakroom/core';

/** A framework-neutral HTTP answer; each adapter writes it with its own response API. */
export interface HttpAnswer {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Serialized as JSON. */
  readonly body: { readonly error: HttpErrorCode };
}

/**
 * The `error` field of an adapter's own answers:
 * - `unauthorized` (401): no session, or the ticket does not resolve;
 * - `cross_site_request` (403): refused by the CSRF check (SEC-33);
 * - `forbidden` (403): the access policy said no (`AccessDenied`);
 * - `ambiguous_credentials` (400): both a bearer ticket and the cookie;
 * - `unavailable` (503, with `Retry-After`): the store is down or full, or the manager was closed during shutdown.
 */
export type HttpErrorCode =
  | 'unauthorized'
  | 'cross_site_request'
  | 'forbidden'
  | 'ambiguous_credentials'
  | 'unavailable';

const STATUS: Readonly<Record<HttpErrorCode, number>> = {
  unauthorized: 401,
  cross_site_request: 403,
  forbidden: 403,
  ambiguous_credentials: 400,
  unavailable: 503,
};

/**
 * The answer for one of the adapters' error codes. Answers about a session
 * are per user, so no shared cache may keep them (`no-store`).
 *
 * @param retryAfterSeconds - sent as `Retry-After` with `unavailable`. @default 5
 * @example
 * ```ts
 * import { httpAnswer } from '@cloakroom/http';
 *
 * httpAnswer('unavailable').headers['retry-after']; // '5'
 * ```
 */
export function httpAnswer(code: HttpErrorCode, retryAfterSeconds = 5): HttpAnswer {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'content-type': 'application/json; charset=utf-8',
  };
  if (code === 'unavailable') headers['retry-after'] = String(retryAfterSeconds);
  return { status: STATUS[code], headers, body: { error: code } };
}

/**
 * The answer for an error a handler threw, or `undefined` when it is not
 * one an adapter answers itself. `StoreUnavailable`, `StoreFull` and
 * `Closed` (the manager was closed during shutdown) answer 503 with
 * `Retry-After` and never 401 or 500: the session may be perfectly valid, and
 * a 401 would sign the user out for an outage. `AccessDenied` answers 403.
 *
 * @example
 * ```ts
 * import { StoreUnavailable } from '@cloakroom/core';
 * import { answerForError } from '@cloakroom/http';
 *
 * answerForError(new StoreUnavailable('redis is down'))?.status; // 503
 * answerForError(new Error('bug')); // undefined: let the framework answer 500
 * ```
 */
export function answerForError(error: unknown, retryAfterSeconds = 5): HttpAnswer | undefined {
  if (!isCloakroomError(error)) return undefined;
  switch (error.code) {
    case 'ERR_STORE_UNAVAILABLE':
    case 'ERR_STORE_FULL':
    // A manager closed while the process shuts down: requests still in flight retry on another instance.
    case 'ERR_CLOSED':
      return httpAnswer('unavailable', retryAfterSeconds);
    case 'ERR_ACCESS_DENIED':
      return httpAnswer('forbidden');
    default:
      return undefined;
  }
}
