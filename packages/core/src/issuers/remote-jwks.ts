// An identity provider's JWKS, fetched from the one configured URL and
// cached: fresh for `cacheMaxAgeMs`, refetched at most once per `cooldownMs`
// for an unknown `kid` or after a failure, one request in flight at a time.
// Internal: not re-exported.

import { type KeyObject, createPublicKey } from 'node:crypto';
import { type FetchLimits, JwksFetchError, fetchJson } from './jwks-fetch';
import { isPlainObject } from '../lib/encoding';
import { MAX_KID_LENGTH } from '../jwt/jws-preparse';

/** Algorithms an external issuer may sign with; never HS* or `none`. */
export type ExternalAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** One usable verification key from the provider's JWKS. */
export interface RemoteKey {
  readonly kid: string | undefined;
  /** Algorithms this key may verify: its JWK `alg` if set, else all its `kty`/`crv` allow. */
  readonly algs: ReadonlySet<ExternalAlgorithm>;
  readonly key: KeyObject;
}

// A JWKS with more keys than this is not a real provider's; the rest are ignored.
const MAX_KEYS = 64;
const MIN_RSA_BITS = 2048;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function algsForShape(jwk: Record<string, unknown>): ExternalAlgorithm[] {
  if (jwk.kty === 'RSA') return ['RS256', 'PS256'];
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return ['ES256'];
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return ['EdDSA'];
  return [];
}

// Returns undefined for any key we must not or cannot use: encryption keys,
// symmetric or private keys, weak RSA, an `alg` its type cannot have.
function toRemoteKey(jwk: unknown): RemoteKey | undefined {
  if (!isPlainObject(jwk)) return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify')) return undefined;
  }
  const { kid } = jwk;
  if (kid !== undefined && (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH)) {
    return undefined;
  }
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(jwk, m))) return undefined;
  let algs = algsForShape(jwk);
  if (jwk.alg !== undefined) {
    algs = algs.filter((a) => a === jwk.alg);
  }
  if (algs.length === 0) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' } as Parameters<typeof createPublicKey>[0]);
  } catch {
    return undefined;
  }
  if (jwk.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    return undefined;
  }
  return { kid, algs: new Set(algs), key };
}

/**
 * Validate a JWKS document: a JSON object with a `keys` array. Keys that
 * are malformed or unusable for signature verification are skipped, not
 * fatal, so one odd key at the provider cannot lock everyone out.
 */
export function parseJwks(doc: unknown): RemoteKey[] {
  if (!isPlainObject(doc) || !Array.isArray(doc.keys)) {
    throw new JwksFetchError('JWKS response is not an object with a "keys" array');
  }
  const out: RemoteKey[] = [];
  for (const jwk of doc.keys.slice(0, MAX_KEYS)) {
    const key = toRemoteKey(jwk);
    if (key !== undefined) out.push(key);
  }
  return out;
}

/** Cache settings of {@link remoteJwks}. */
export interface RemoteJwksOptions extends FetchLimits {
  readonly url: URL;
  readonly cacheMaxAgeMs: number;
  readonly cooldownMs: number;
  readonly now: () => number;
}

/** What a lookup found; `unavailable` carries the fetch failure. */
export type KeyLookup =
  | { readonly status: 'found'; readonly keys: readonly RemoteKey[] }
  | { readonly status: 'unknown' }
  | { readonly status: 'unavailable'; readonly cause: unknown };

/** The cached key set; `lookup` returns the keys carrying `kid` (or every key when it is undefined). */
export interface RemoteJwks {
  lookup(kid: string | undefined): Promise<KeyLookup>;
  /**
   * From memory, never waiting on the network: whether the last fetched set
   * holds `kid` (`undefined` before any fetch). A stale set starts a refetch
   * in the background (within the cooldown rules) and is answered meanwhile.
   */
  holds(kid: string): boolean | undefined;
}

/** Build the cache; nothing is fetched until the first lookup. */
export function remoteJwks(options: RemoteJwksOptions): RemoteJwks {
  const { url, cacheMaxAgeMs, cooldownMs, now } = options;
  let keys: readonly RemoteKey[] | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let lastFailure: unknown;
  let inflight: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      attemptedAt = now();
      try {
        const parsed = parseJwks(await fetchJson(url, options));
        keys = parsed;
        fetchedAt = now();
        lastFailure = undefined;
      } catch (cause) {
        lastFailure = cause;
        throw cause;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  const matching = (kid: string | undefined): RemoteKey[] =>
    (keys ?? []).filter((k) => kid === undefined || k.kid === kid);

  return {
    holds(kid) {
      if (keys === undefined) return undefined;
      const stale = now() - fetchedAt >= cacheMaxAgeMs;
      if (stale && inflight === undefined && now() - attemptedAt >= cooldownMs) {
        refresh().catch(() => {});
      }
      return keys.some((k) => k.kid === kid);
    },
    async lookup(kid) {
      try {
        if (keys === undefined || now() - fetchedAt >= cacheMaxAgeMs) {
          // A provider that just failed is not asked again until the cooldown
          // passes: rejections stay fast and the provider is not hammered.
          if (
            inflight === undefined &&
            lastFailure !== undefined &&
            now() - attemptedAt < cooldownMs
          ) {
            return { status: 'unavailable', cause: lastFailure };
          }
          // Past its lifetime the old set is never used, even while the
          // provider is down: a key it removed must stop verifying.
          await refresh();
        }
        let found = matching(kid);
        if (found.length === 0 && (inflight !== undefined || now() - attemptedAt >= cooldownMs)) {
          await refresh();
          found = matching(kid);
        }
        if (found.length > 0) return { status: 'found', keys: found };
        // While the provider is failing an unknown kid may be a legitimate
        // new key we cannot see: say so rather than call the token bad.
        return lastFailure === undefined
          ? { status: 'unknown' }
          : { status: 'unavailable', cause: lastFailure };
      } catch (cause) {
        return { status: 'unavailable', cause };
      }
    },
  };
}
