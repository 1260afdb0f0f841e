import type { KeyObject } from 'node:crypto';
import type { Jwk } from '../contracts/keys';
import { ConfigInvalid } from '../errors';
import { jwkThumbprint } from './jwk-thumbprint';
import type {
  KeyProvider,
  KeySnapshot,
  PublicJwk,
  SigningKey,
  StorageKey,
  StorageKeyRing,
  VerifyKey,
} from '../contracts/keys';
import {
  type ImportedSigningKey,
  import256BitKey,
  importSigningKey,
  sameBytes,
} from './key-import';
import { toBase64Url } from '../lib/encoding';

/**
 * One configured signing key. Asymmetric keys take the private key as a
 * `KeyObject`, a private JWK object or a PKCS#8 PEM string; HS256 takes a
 * secret of at least 32 bytes (raw or base64url).
 */
export type SigningKeyInput =
  | {
      readonly alg: 'EdDSA' | 'ES256' | 'PS256' | 'RS256';
      readonly privateKey: KeyObject | Jwk | string;
    }
  | { readonly alg: 'HS256'; readonly secret: Uint8Array | string };

/** One configured storage key: 32 bytes (raw or base64url) and an optional id. */
export interface StorageKeyInput {
  /** `[A-Za-z0-9_-]{1,64}`. @default `sk_` + the first 22 characters of the key's RFC 7638 thumbprint */
  readonly id?: string;
  readonly key: Uint8Array | string;
}

/** Options of {@link staticKeys}. */
export interface StaticKeysOptions {
  /** Signing keys; the first is primary, the rest are retired (verify only). */
  readonly signing: readonly SigningKeyInput[];
  /** Storage keys; the first is primary, the rest are retired (open only). */
  readonly storage: readonly StorageKeyInput[];
  /** The 32-byte subject-index key (raw or base64url); must differ from every other key. */
  readonly index: Uint8Array | string;
}

const STORAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** What {@link staticKeys} returns: a {@link KeyProvider} whose snapshot is always there. */
export interface StaticKeyProvider extends KeyProvider {
  readonly name: 'static';
  /** The configured keys, always the same frozen object (see `KeyProvider.snapshot`). */
  snapshot(): KeySnapshot;
}

/**
 * A {@link KeyProvider} over keys from configuration (env, a secrets file).
 * Everything is validated once here; afterwards every method answers from
 * precomputed data with no parsing or crypto, because it runs on the hot path.
 *
 * The first signing key signs and the others only verify (state `retired`);
 * likewise for storage keys. A signing key's `kid` is the RFC 7638
 * thumbprint of its public key (of its `oct` JWK for HS256).
 *
 * Throws {@link ConfigInvalid} (the message names the key by position, never
 * its material) when: a list is empty; a storage or index key is not exactly
 * 32 bytes; an HS256 secret is under 32 bytes; an RSA modulus is under 2048
 * bits; a key's type does not fit its `alg`; a public key is given where a
 * private one is needed; HS256 is mixed with asymmetric algorithms; the same
 * bytes serve two purposes; a signing key, storage id or storage key repeats;
 * a key is obviously weak (one repeated byte).
 *
 * `verificationKey(kid)` is a `Map` lookup: any text (`__proto__`, `../x`,
 * 10 KB strings) returns `undefined`, never throws. `jwks()` holds only the
 * public members of the asymmetric keys; HS256 keys are never published.
 * `snapshot()` is always the same frozen object: the hot path reads it
 * instead of awaiting.
 *
 * @example
 * ```ts
 * const keys = staticKeys({
 *   signing: [{ alg: 'EdDSA', privateKey: process.env.SIGNING_KEY_PEM! }],
 *   storage: [{ id: 'storage-2026', key: process.env.STORAGE_KEY! }],
 *   index: process.env.INDEX_KEY!,
 * });
 * ```
 */
export function staticKeys(options: StaticKeysOptions): StaticKeyProvider {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigInvalid('staticKeys needs an options object');
  }
  const signing = importSigningKeys(options.signing);
  const index = import256BitKey(options.index, 'index key');
  const storage = importStorageKeys(options.storage, index);
  for (const [i, key] of signing.entries()) {
    if (key.secret === undefined) continue;
    if (sameBytes(key.secret, index)) {
      throw new ConfigInvalid(`signing key #${i + 1}: the HS256 secret is also the index key`);
    }
    for (const [j, s] of storage.entries()) {
      if (sameBytes(key.secret, s.key)) {
        throw new ConfigInvalid(
          `signing key #${i + 1}: the HS256 secret is also storage key #${j + 1}`,
        );
      }
    }
  }

  const primarySigning: SigningKey = Object.freeze({
    kid: signing[0]!.kid,
    alg: signing[0]!.alg,
    key: signing[0]!.signKey,
  });
  const verifyByKid = new Map<string, VerifyKey>();
  for (const [i, key] of signing.entries()) {
    verifyByKid.set(
      key.kid,
      Object.freeze({
        kid: key.kid,
        alg: key.alg,
        key: key.verifyKey,
        state: i === 0 ? 'primary' : 'retired',
      }),
    );
  }
  const publicJwks: readonly PublicJwk[] = signing.flatMap((k) =>
    k.publicJwk === undefined ? [] : [Object.freeze({ ...k.publicJwk })],
  );
  const byId = new Map(storage.map((k) => [k.id, k] as const));
  const ring: StorageKeyRing = Object.freeze({
    primary: storage[0]!,
    keys: Object.freeze([...storage]),
    get: (id: string) => (typeof id === 'string' ? byId.get(id) : undefined),
  });

  const snapshot: KeySnapshot = Object.freeze({
    signing: primarySigning,
    storage: ring,
    verificationKey: (kid: string) => (typeof kid === 'string' ? verifyByKid.get(kid) : undefined),
  });

  return Object.freeze({
    name: 'static' as const,
    signingKey: () => Promise.resolve(primarySigning),
    verificationKey: (kid: string) =>
      Promise.resolve(typeof kid === 'string' ? verifyByKid.get(kid) : undefined),
    storageKeys: () => Promise.resolve(ring),
    snapshot: () => snapshot,
    indexKey: () => Promise.resolve(index),
    // A fresh array each call so a caller that edits the result cannot alter later answers.
    jwks: () => Promise.resolve({ keys: [...publicJwks] }),
  });
}

function importSigningKeys(inputs: unknown): ImportedSigningKey[] {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new ConfigInvalid('at least one signing key is required');
  }
  const keys = inputs.map((input, i) => importSigningKey(input, `signing key #${i + 1}`));
  const symmetric = keys.some((k) => k.alg === 'HS256');
  if (symmetric && keys.some((k) => k.alg !== 'HS256')) {
    // RFC 8725 §3.2: one verifier must never accept both, or a public key
    // could be replayed as an HMAC secret.
    throw new ConfigInvalid('HS256 signing keys cannot be mixed with asymmetric ones');
  }
  const seen = new Map<string, number>();
  for (const [i, key] of keys.entries()) {
    const first = seen.get(key.kid);
    if (first !== undefined) {
      throw new ConfigInvalid(`signing keys #${first + 1} and #${i + 1} are the same key`);
    }
    seen.set(key.kid, i);
  }
  return keys;
}

function importStorageKeys(inputs: unknown, index: Uint8Array): StorageKey[] {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new ConfigInvalid('at least one storage key is required');
  }
  const keys: StorageKey[] = [];
  for (const [i, input] of (inputs as unknown[]).entries()) {
    const label = `storage key #${i + 1}`;
    if (typeof input !== 'object' || input === null) {
      throw new ConfigInvalid(`${label} must be an object { id?, key }`);
    }
    const entry = input as { id?: unknown; key?: unknown };
    const key = import256BitKey(entry.key, label);
    if (sameBytes(key, index)) throw new ConfigInvalid(`${label} is also the index key`);
    let id: string;
    if (entry.id === undefined) {
      id = `sk_${jwkThumbprint({ kty: 'oct', k: toBase64Url(key) }).slice(0, 22)}`;
    } else if (typeof entry.id === 'string' && STORAGE_ID.test(entry.id)) {
      id = entry.id;
    } else {
      throw new ConfigInvalid(`${label}: id must match [A-Za-z0-9_-]{1,64}`);
    }
    for (const [j, other] of keys.entries()) {
      if (other.id === id) {
        throw new ConfigInvalid(`storage keys #${j + 1} and #${i + 1} have the same id`);
      }
      if (sameBytes(other.key, key)) {
        throw new ConfigInvalid(`storage keys #${j + 1} and #${i + 1} are the same key`);
      }
    }
    keys.push(Object.freeze({ id, key, state: i === 0 ? 'primary' : 'retired' }));
  }
  return keys;
}
