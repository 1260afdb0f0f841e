import { jwtVerify } from 'jose';
import { ConfigInvalid } from '../errors';
import { checkJwksUri } from './jwks-fetch';
import { checkVerifiedClaims } from '../jwt/claim-checks';
import { MAX_KID_LENGTH, joseReason, preparseCompactJws, tokenRejected } from '../jwt/jws-preparse';
import type { ExternalTokenRejectReason } from '../jwt/reject-reason';
import { type ExternalAlgorithm, type RemoteKey, remoteJwks } from './remote-jwks';

export type { ExternalAlgorithm } from './remote-jwks';
export type { ExternalTokenRejectReason } from '../jwt/reject-reason';

/** Options of {@link trustedIssuer}. */
export interface TrustedIssuerOptions {
  /** Required `iss`, compared exactly. */
  readonly issuer: string;
  /** The provider's JWKS URL; the only place keys come from (SEC-17). `https:` only. */
  readonly jwksUri: string;
  /** Accepted audience(s); the token's `aud` must contain one of them. */
  readonly audience: string | readonly string[];
  /**
   * Algorithms accepted. HS* and `none` are never accepted (SEC-16).
   * @default ['RS256', 'ES256', 'EdDSA', 'PS256']
   */
  readonly algorithms?: readonly ExternalAlgorithm[];
  /** Required `typ` header, compared as a media type (`at+jwt` matches `application/at+jwt`). Unchecked when absent. */
  readonly typ?: string;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. @default 5 */
  readonly clockToleranceSec?: number;
  /** How long a fetched JWKS is used before it is fetched again, in ms. @default 600_000 */
  readonly cacheMaxAgeMs?: number;
  /** Least time between two requests to the provider (unknown `kid`, or after a failure), in ms. @default 30_000 */
  readonly cooldownMs?: number;
  /** Deadline for one JWKS request (connect, headers and body), in ms. @default 5_000 */
  readonly timeoutMs?: number;
  /** Largest JWKS response accepted, in bytes. @default 262_144 */
  readonly maxResponseBytes?: number;
  /** Longest token accepted, in characters, checked before any parsing (SEC-24). @default 16_384 */
  readonly maxTokenLength?: number;
  /**
   * Extra CA certificates (PEM) trusted for the JWKS endpoint, on top of
   * Node's bundled roots: an identity provider behind an internal CA.
   * Certificate checks are never turned off.
   */
  readonly caCertificates?: readonly string[];
  /**
   * Key ids (`kid`) of this provider to stop honouring at once: the
   * operator's kill switch for a provider key that leaked. Sessions
   * deposited with a token signed by one of them end at their next
   * `resolve` or `refresh` (SEC-31), and new tokens signed by them are
   * refused. A key the provider itself withdrew from its JWKS has the same
   * effect once the cached JWKS is refetched. @default none
   */
  readonly disabledKeys?: readonly string[];
  /** Allow `http:` to 127.0.0.1, localhost or [::1] (tests, local development). @default false */
  readonly allowInsecureLoopback?: boolean;
  /** Clock in milliseconds since the epoch; drives token times and the JWKS cache. @default Date.now */
  readonly now?: () => number;
}

/** A token that passed {@link TrustedIssuer.verify}: its claims and protected header. */
export interface VerifiedExternalToken {
  readonly payload: {
    readonly iss: string;
    readonly sub: string;
    readonly aud: string | string[];
    readonly exp: number;
    readonly [claim: string]: unknown;
  };
  readonly header: {
    readonly alg: ExternalAlgorithm;
    readonly kid?: string;
    readonly typ?: string;
    readonly [parameter: string]: unknown;
  };
}

/** An external identity provider whose tokens the application accepts. */
export interface TrustedIssuer {
  readonly name: 'trusted-issuer';
  /** The configured `iss`. */
  readonly issuer: string;
  /**
   * Verify a compact JWS from this issuer. Throws `TokenRejected` with a
   * {@link ExternalTokenRejectReason} `reason`; `'jwks-unavailable'` (with
   * the fetch failure as `cause`) when the provider's keys could not be had.
   */
  verify(token: unknown): Promise<VerifiedExternalToken>;
  /**
   * The kill switch (SEC-31), answered from memory: `false` for a key id in
   * `disabledKeys`, or one the provider's last fetched JWKS no longer holds
   * (a stale JWKS is refetched in the background).
   */
  keyUsable(kid: string): boolean;
}

const ALL_ALGORITHMS: readonly ExternalAlgorithm[] = ['RS256', 'ES256', 'EdDSA', 'PS256'];
const REQUIRED_CLAIMS = ['iss', 'aud', 'exp', 'sub'];

function positiveInt(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigInvalid(`trustedIssuer: ${name} must be an integer ≥ ${min}`);
  }
  return value;
}

function checkAudience(aud: unknown): string | string[] {
  if (typeof aud === 'string' && aud.length > 0) return aud;
  if (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string' && a !== '')) {
    return [...(aud as string[])];
  }
  throw new ConfigInvalid('trustedIssuer: audience must be a non-empty string or list of them');
}

function checkAlgorithms(value: unknown): ReadonlySet<ExternalAlgorithm> {
  if (value === undefined) return new Set(ALL_ALGORITHMS);
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigInvalid('trustedIssuer: algorithms must be a non-empty list');
  }
  for (const alg of value) {
    if (!ALL_ALGORITHMS.includes(alg)) {
      // Named without echoing the value: it is config, but keep messages fixed.
      throw new ConfigInvalid(
        'trustedIssuer: algorithms may contain only RS256, PS256, ES256 and EdDSA (never HS* or none)',
      );
    }
  }
  return new Set(value as ExternalAlgorithm[]);
}

/**
 * An external identity provider (Auth0, Keycloak, Entra ID, Cognito…)
 * whose JWTs a backend-for-frontend verifies on intake, before depositing
 * them.
 *
 * Checks, in order: type, length, shape and canonical base64url before any
 * parsing (SEC-24; a JWE never matches, SEC-23); a strictly decoded header
 * with `crit`, `b64`, `enc` and `zip` refused (SEC-22); `alg` within
 * `algorithms` (`none` and HS* never, SEC-16); the key chosen by `kid` from
 * the configured JWKS only — `jku`, `x5u`, `jwk` and `x5c` are never read
 * (SEC-17); `alg` must also fit that key's JWK `alg`, `kty` and `crv`; then
 * the signature, `iss`, `aud`, `exp` (and `nbf`, `iat` when present) with
 * `clockToleranceSec`, and a non-empty string `sub` (SEC-18; the same
 * post-signature checks as `verifyToken`, minus the `iat` and `jti` it requires). A token without `kid` is
 * accepted only when exactly one key in the set fits its `alg`.
 *
 * The JWKS is fetched lazily, cached for `cacheMaxAgeMs`, refetched for an
 * unknown `kid` at most once per `cooldownMs`. A cached set keeps working
 * while the provider is down, until it expires; then, or for an unknown
 * `kid` the provider cannot be asked about, verification fails with reason
 * `'jwks-unavailable'` within `timeoutMs`. Keys with `use` other than `sig`,
 * private or symmetric keys and RSA under 2048 bits are ignored.
 *
 * @throws ConfigInvalid for invalid options, including a non-`https:` URI
 *   (unless loopback with `allowInsecureLoopback`).
 * @example
 * ```ts
 * const auth0 = trustedIssuer({
 *   issuer: 'https://tenant.eu.auth0.com/',
 *   jwksUri: 'https://tenant.eu.auth0.com/.well-known/jwks.json',
 *   audience: 'https://api.example',
 * });
 * const { payload } = await auth0.verify(accessToken);
 * ```
 */
export function trustedIssuer(options: TrustedIssuerOptions): TrustedIssuer {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigInvalid('trustedIssuer: options are required');
  }
  const { issuer, typ, now = Date.now } = options;
  if (typeof issuer !== 'string' || issuer.length === 0) {
    throw new ConfigInvalid('trustedIssuer: issuer must be a non-empty string');
  }
  if (typ !== undefined && (typeof typ !== 'string' || typ.length === 0)) {
    throw new ConfigInvalid('trustedIssuer: typ must be a non-empty string when given');
  }
  if (typeof now !== 'function') throw new ConfigInvalid('trustedIssuer: now must be a function');
  const allowInsecure = options.allowInsecureLoopback ?? false;
  if (typeof allowInsecure !== 'boolean') {
    throw new ConfigInvalid('trustedIssuer: allowInsecureLoopback must be a boolean');
  }
  const url = checkJwksUri(options.jwksUri, allowInsecure);
  const audience = checkAudience(options.audience);
  const algorithms = checkAlgorithms(options.algorithms);
  const tol = options.clockToleranceSec ?? 5;
  if (typeof tol !== 'number' || !Number.isFinite(tol) || tol < 0) {
    throw new ConfigInvalid('trustedIssuer: clockToleranceSec must be a finite number ≥ 0');
  }
  const ca = options.caCertificates;
  if (
    ca !== undefined &&
    !(
      Array.isArray(ca) &&
      ca.every((c) => typeof c === 'string' && c.includes('-----BEGIN CERTIFICATE-----'))
    )
  ) {
    throw new ConfigInvalid('trustedIssuer: caCertificates must be a list of PEM certificates');
  }
  const maxTokenLength = positiveInt(options.maxTokenLength, 'maxTokenLength', 16_384);
  const disabled = options.disabledKeys ?? [];
  if (!Array.isArray(disabled) || !disabled.every((k) => typeof k === 'string' && k !== '')) {
    throw new ConfigInvalid('trustedIssuer: disabledKeys must be a list of non-empty key ids');
  }
  const disabledKeys: ReadonlySet<string> = new Set(disabled);
  const jwks = remoteJwks({
    url,
    cacheMaxAgeMs: positiveInt(options.cacheMaxAgeMs, 'cacheMaxAgeMs', 600_000),
    cooldownMs: positiveInt(options.cooldownMs, 'cooldownMs', 30_000, 0),
    timeoutMs: positiveInt(options.timeoutMs, 'timeoutMs', 5_000),
    maxResponseBytes: positiveInt(options.maxResponseBytes, 'maxResponseBytes', 262_144),
    ...(ca === undefined ? {} : { caCertificates: [...ca] }),
    now,
  });

  async function verify(token: unknown): Promise<VerifiedExternalToken> {
    const header = preparseCompactJws(token, maxTokenLength);
    // No JWS extension is understood, and JWE members mean the wrong kind of object.
    for (const name of ['crit', 'b64', 'enc', 'zip']) {
      if (Object.hasOwn(header, name)) throw tokenRejected('unsupported-header');
    }
    const { alg, kid } = header;
    if (typeof alg !== 'string') throw tokenRejected('malformed');
    // A Set lookup is exact, so `none`, `None`, `HS256`, `hs256` all miss.
    if (!algorithms.has(alg as ExternalAlgorithm)) throw tokenRejected('alg-not-allowed');
    if (
      kid !== undefined &&
      (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH)
    ) {
      throw tokenRejected('unknown-kid');
    }

    if (kid !== undefined && disabledKeys.has(kid)) throw tokenRejected('unknown-kid');
    const found = await jwks.lookup(kid);
    if (found.status === 'unavailable') throw tokenRejected('jwks-unavailable', found.cause);
    if (found.status === 'unknown') throw tokenRejected('unknown-kid');
    const fitting = found.keys.filter((k) => k.algs.has(alg as ExternalAlgorithm));
    if (fitting.length === 0) {
      throw tokenRejected(kid === undefined ? 'unknown-kid' : 'alg-not-allowed');
    }
    // Without a kid only an unambiguous key is used; with one, the first key
    // of that kid fitting the algorithm (duplicate kids are a provider bug).
    if (kid === undefined && fitting.length > 1) throw tokenRejected('unknown-kid');
    const key: RemoteKey = fitting[0]!;

    const nowMs = now();
    if (!Number.isFinite(nowMs))
      throw new ConfigInvalid('trustedIssuer: now() must return milliseconds');
    let result: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      result = await jwtVerify(token as string, key.key, {
        algorithms: [alg],
        issuer,
        audience,
        ...(typ === undefined ? {} : { typ }),
        clockTolerance: tol,
        currentDate: new Date(nowMs),
        requiredClaims: REQUIRED_CLAIMS,
      });
    } catch (cause) {
      throw tokenRejected(joseReason(cause), cause);
    }
    const p = result.payload;
    // Providers need not send `iat` or `jti`; when `iat` is there it is checked.
    checkVerifiedClaims(p, { nowMs, toleranceSec: tol });
    return {
      payload: p as VerifiedExternalToken['payload'],
      header: result.protectedHeader as VerifiedExternalToken['header'],
    };
  }

  // SEC-31: asked on every resolve of a deposited session, so answered from
  // memory. A token without a kid was verified by the one key the set had:
  // nothing names it to disable. Before the first fetch (a fresh process
  // resolving sessions deposited by another) nothing is known: usable.
  const keyUsable = (kid: string): boolean =>
    kid === '' || (!disabledKeys.has(kid) && jwks.holds(kid) !== false);

  return { name: 'trusted-issuer', issuer, verify, keyUsable };
}
