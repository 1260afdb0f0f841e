import { ConfigInvalid } from '../errors';

/** Options of {@link jwksHeaders}; a rotating provider's `schedule` fits as is. */
export interface JwksHeadersOptions {
  /** How long (ms) a new signing key is published before it signs: the provider's `signing.publishAhead`. */
  readonly publishAhead: number;
  /** How stale (ms) an instance's key set may be: the provider's `refreshEvery`. @default 0 */
  readonly refreshEvery?: number;
  /**
   * `Cache-Control` max-age in whole seconds. Must leave a resource server's
   * cached JWKS younger than the pre-publish window, or it could meet a token
   * signed with a key it has never fetched.
   * @default half of the window (publishAhead − refreshEvery), in seconds, rounded down
   */
  readonly maxAge?: number;
}

/** Response headers for a JWKS endpoint. */
export interface JwksHeaders {
  readonly 'Content-Type': 'application/jwk-set+json';
  readonly 'Cache-Control': string;
}

/**
 * HTTP headers for serving `jwks()` (e.g. at `/.well-known/jwks.json`):
 * `Content-Type: application/jwk-set+json` and `Cache-Control: public,
 * max-age=N`, with N below the pre-publish window so every cache refetches
 * before a newly published key starts signing.
 *
 * The window is `publishAhead − refreshEvery`: an instance may learn of a
 * new key up to `refreshEvery` late, and a resource server must fetch the
 * JWKS after that and before the key signs.
 *
 * @throws ConfigInvalid when `maxAge` is not a non-negative integer or does
 *   not fit strictly inside the window, or the window is under one second.
 * @example
 * ```ts
 * const keys = rotatingKeys({ store, masterKey, signing: { publishAhead: 3_600_000 } });
 * app.get('/.well-known/jwks.json', async (_req, res) => {
 *   res.set(jwksHeaders(keys.schedule)).send(JSON.stringify(await keys.jwks()));
 * });
 * ```
 */
export function jwksHeaders(options: JwksHeadersOptions): JwksHeaders {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigInvalid('jwksHeaders needs { publishAhead, refreshEvery?, maxAge? }');
  }
  const { publishAhead, refreshEvery = 0, maxAge } = options;
  if (!Number.isSafeInteger(publishAhead) || publishAhead <= 0) {
    throw new ConfigInvalid('jwksHeaders: publishAhead must be a positive integer (ms)');
  }
  if (!Number.isSafeInteger(refreshEvery) || refreshEvery < 0) {
    throw new ConfigInvalid('jwksHeaders: refreshEvery must be a non-negative integer (ms)');
  }
  const windowSec = Math.floor((publishAhead - refreshEvery) / 1000);
  if (windowSec < 1) {
    throw new ConfigInvalid(
      'jwksHeaders: publishAhead leaves no room for a JWKS cache beyond refreshEvery',
    );
  }
  const age = maxAge ?? Math.floor(windowSec / 2);
  if (!Number.isSafeInteger(age) || age < 0) {
    throw new ConfigInvalid('jwksHeaders: maxAge must be a non-negative integer (seconds)');
  }
  if (age >= windowSec) {
    throw new ConfigInvalid(
      `jwksHeaders: max-age ${age}s must be below the pre-publish window (${windowSec}s = publishAhead − refreshEvery)`,
    );
  }
  return { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': `public, max-age=${age}` };
}
