import type { KeyObject } from 'node:crypto';

/** JWS algorithms Cloakroom signs and verifies with. EdDSA is the default. */
export type SigningAlgorithm = 'EdDSA' | 'ES256' | 'PS256' | 'RS256' | 'HS256';

/**
 * Lifecycle of a key: `pending` (published, can verify/open, not yet used to
 * sign/seal) → `primary` (signs/seals) → `retired` (verify/open only, during
 * its grace) → `disabled` (rejected everywhere; compromised keys go straight
 * here) → destroyed (gone).
 */
export type KeyState = 'pending' | 'primary' | 'retired' | 'disabled';

/**
 * A JSON Web Key (RFC 7517) as plain JSON, e.g. `JSON.parse(process.env.SIGNING_JWK!)`.
 * Declared here rather than taken from `node:crypto` so the published types
 * mean the same with every supported `@types/node` (its `JsonWebKey` export
 * was removed in version 25).
 *
 * @example
 * ```ts
 * const jwk: Jwk = { kty: 'OKP', crv: 'Ed25519', x: '…', d: '…' };
 * ```
 */
export interface Jwk {
  readonly kty?: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly d?: string;
  readonly n?: string;
  readonly e?: string;
  readonly p?: string;
  readonly q?: string;
  readonly dp?: string;
  readonly dq?: string;
  readonly qi?: string;
  readonly k?: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: string;
  readonly [member: string]: unknown;
}

/** A public JWK as published in a JWKS: never holds private members. */
export interface PublicJwk {
  readonly kty: 'OKP' | 'EC' | 'RSA';
  readonly kid: string;
  readonly alg: Exclude<SigningAlgorithm, 'HS256'>;
  readonly use: 'sig';
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

/** The current primary signing key. */
export interface SigningKey {
  /** RFC 7638 JWK thumbprint (base64url SHA-256) of the public key (or of the HS secret's JWK). */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Private key, or the HS256 secret as a secret KeyObject. */
  readonly key: KeyObject;
}

/** A key usable for verification. */
export interface VerifyKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Public key, or the HS256 secret. */
  readonly key: KeyObject;
  readonly state: KeyState;
}

/** A 256-bit storage (encryption-at-rest) key. */
export interface StorageKey {
  /** Short printable id, `[A-Za-z0-9_-]{1,64}`, written in every sealed header. */
  readonly id: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
  readonly state: KeyState;
}

/** The storage keys in force: one primary for sealing, others for opening. */
export interface StorageKeyRing {
  /** Seals new payloads. */
  readonly primary: StorageKey;
  /** Look up a key by id for opening; `undefined` when unknown, disabled or destroyed. */
  get(id: string): StorageKey | undefined;
  /** Every key still able to open (primary, pending, retired). */
  readonly keys: readonly StorageKey[];
}

/**
 * What a {@link KeyProvider} holds in memory at one moment
 * (`KeyProvider.snapshot`): its answers without an await.
 */
export interface KeySnapshot {
  /** What `signingKey()` resolves to now. */
  readonly signing: SigningKey;
  /** What `storageKeys()` resolves to now. */
  readonly storage: StorageKeyRing;
  /**
   * The key `verificationKey(kid)` resolves to, when this snapshot knows
   * the kid as usable. `undefined` means "ask `verificationKey`" (it decides
   * unknown and disabled kids, and may refresh), never "rejected".
   */
  verificationKey(kid: string): VerifyKey | undefined;
}

/**
 * Source of every key the manager uses. {@link staticKeys} reads them from
 * configuration; `rotatingKeys` shares a rotating set through a
 * {@link KeySetStore}. Each purpose has its own key (SEC-12).
 *
 * Contract: `verificationKey` returns `undefined` (never throws) for an
 * unknown, disabled or destroyed kid, whatever its text (`__proto__`,
 * `../x`, 10 KB strings are harmless). `jwks` returns public keys only.
 */
export interface KeyProvider {
  /** The current primary signing key. */
  signingKey(): Promise<SigningKey>;
  /** A key that may verify tokens with this kid: primary, pending, or retired within grace. */
  verificationKey(kid: string): Promise<VerifyKey | undefined>;
  /** The storage key ring. */
  storageKeys(): Promise<StorageKeyRing>;
  /**
   * Optional, for the hot path: the keys the provider holds in memory, as
   * `signingKey()`, `storageKeys()` and `verificationKey()` would answer now;
   * `undefined` when it cannot answer without I/O (not loaded yet, no
   * primary key), and the caller then awaits the methods above. A snapshot
   * never answers differently from them (same keys, same refresh rules): it
   * only saves the await. A provider without it is awaited every time.
   */
  snapshot?(): KeySnapshot | undefined;
  /** The 256-bit key for subject-index HMACs; stable for the life of the data. */
  indexKey(): Promise<Uint8Array>;
  /** The public signing keys as a JWKS (primary, pending and retired ones; never HS secrets). */
  jwks(): Promise<{ keys: PublicJwk[] }>;
}
