// Turns configured key material into validated node:crypto KeyObjects.
// Internal: not re-exported. Every message names the key by position and
// purpose only; key bytes, PEM text and JWK members never reach a message.

import {
  KeyObject,
  constants,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign,
  verify,
} from 'node:crypto';
import { fromBase64Url, toBase64Url } from '../lib/encoding';
import { ConfigInvalid } from '../errors';
import { jwkThumbprint } from './jwk-thumbprint';
import type { Jwk, PublicJwk, SigningAlgorithm } from '../contracts/keys';

/** Asymmetric JWS algorithms Cloakroom supports. */
export type AsymmetricAlgorithm = Exclude<SigningAlgorithm, 'HS256'>;

const ASYMMETRIC: ReadonlySet<string> = new Set<AsymmetricAlgorithm>([
  'EdDSA',
  'ES256',
  'PS256',
  'RS256',
]);

/** True for the asymmetric algorithms Cloakroom signs with. */
export function isAsymmetricAlgorithm(value: unknown): value is AsymmetricAlgorithm {
  return typeof value === 'string' && ASYMMETRIC.has(value);
}

/** Minimum RSA modulus (RFC 7518 §3.3, SEC-20). */
export const MIN_RSA_BITS = 2048;
/** Minimum HS256 secret length in bytes (RFC 7518 §3.2, SEC-20). */
export const MIN_HMAC_SECRET_BYTES = 32;

/** A signing key after validation, with everything the hot path needs precomputed. */
export interface ImportedSigningKey {
  readonly alg: SigningAlgorithm;
  readonly kid: string;
  /** Private key, or the HS256 secret. */
  readonly signKey: KeyObject;
  /** Public key, or the HS256 secret. */
  readonly verifyKey: KeyObject;
  /** Public JWK for the JWKS; absent for HS256. */
  readonly publicJwk?: PublicJwk;
  /** HS256 secret bytes, kept only to detect reuse across purposes. */
  readonly secret?: Uint8Array;
}

function fail(message: string, cause?: unknown): never {
  throw new ConfigInvalid(message, cause === undefined ? undefined : { cause });
}

/**
 * Decode key bytes given as a Uint8Array or a base64url string. Returns a
 * private copy so later changes to the caller's array cannot alter the key.
 */
export function decodeKeyBytes(value: unknown, label: string): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === 'string') {
    const bytes = fromBase64Url(value);
    if (bytes === undefined) fail(`${label} is not valid base64url`);
    return new Uint8Array(bytes);
  }
  return fail(`${label} must be a Uint8Array or a base64url string`);
}

/**
 * Reject obviously weak secrets: one repeated byte (all zeros included) or
 * fewer than 8 distinct byte values, which 32 CSPRNG bytes essentially
 * never show (probability below 2^-150).
 */
export function assertNotWeak(bytes: Uint8Array, label: string): void {
  const seen = new Set<number>();
  for (const b of bytes) seen.add(b);
  if (seen.size < 8) fail(`${label} is too weak (repeated bytes); generate it from a CSPRNG`);
}

/** Decode and validate a 256-bit key (storage or index). */
export function import256BitKey(value: unknown, label: string): Uint8Array {
  const bytes = decodeKeyBytes(value, label);
  if (bytes.byteLength !== 32) fail(`${label} must be exactly 32 bytes, got ${bytes.byteLength}`);
  assertNotWeak(bytes, label);
  return bytes;
}

/** Byte equality for configuration checks (not secret-timing sensitive: runs once at startup). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** The public JWK of an asymmetric key: only public members, plus kid, alg and use. */
export function publicJwkOf(publicKey: KeyObject, alg: AsymmetricAlgorithm): PublicJwk {
  const raw = publicKey.export({ format: 'jwk' });
  const kid = jwkThumbprint(raw);
  if (raw.kty === 'OKP')
    return { kty: 'OKP', crv: str(raw.crv), x: str(raw.x), kid, alg, use: 'sig' };
  if (raw.kty === 'EC') {
    return { kty: 'EC', crv: str(raw.crv), x: str(raw.x), y: str(raw.y), kid, alg, use: 'sig' };
  }
  if (raw.kty === 'RSA') return { kty: 'RSA', n: str(raw.n), e: str(raw.e), kid, alg, use: 'sig' };
  return fail('unsupported public key type');
}

function str(value: unknown): string {
  if (typeof value !== 'string') return fail('public key export is missing a member');
  return value;
}

/** Check that an asymmetric KeyObject's type and strength fit the algorithm. */
export function assertKeyFitsAlgorithm(
  key: KeyObject,
  alg: AsymmetricAlgorithm,
  label: string,
): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (alg) {
    case 'EdDSA':
      if (type !== 'ed25519')
        fail(`${label}: EdDSA needs an Ed25519 key, got ${type ?? 'unknown'}`);
      return;
    case 'ES256':
      if (type !== 'ec' || details.namedCurve !== 'prime256v1') {
        fail(`${label}: ES256 needs a P-256 EC key, got ${describe(type, details.namedCurve)}`);
      }
      return;
    case 'PS256':
    case 'RS256': {
      if (type !== 'rsa') fail(`${label}: ${alg} needs an RSA key, got ${type ?? 'unknown'}`);
      const bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) {
        fail(`${label}: RSA modulus is ${bits} bits; at least ${MIN_RSA_BITS} are required`);
      }
      return;
    }
  }
}

function describe(type: string | undefined, curve: string | undefined): string {
  return curve === undefined ? (type ?? 'unknown') : `${type ?? 'unknown'} ${curve}`;
}

function toPrivateKey(input: unknown, label: string): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type === 'public')
      fail(`${label}: a public key was given where a private key is needed`);
    if (input.type !== 'private') fail(`${label}: a secret key cannot be used with this algorithm`);
    return input;
  }
  if (typeof input === 'string') {
    try {
      return createPrivateKey({ key: input, format: 'pem' });
    } catch (cause) {
      if (isPublicKeyText(input)) {
        fail(`${label}: a public key was given where a private key is needed`);
      }
      return fail(`${label}: privateKey is not a readable PKCS#8 PEM private key`, cause);
    }
  }
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const jwk = input as Jwk;
    if (jwk.d === undefined) fail(`${label}: a public JWK was given where a private key is needed`);
    try {
      return createPrivateKey({ key: jwk, format: 'jwk' } as Parameters<
        typeof createPrivateKey
      >[0]);
    } catch (cause) {
      return fail(`${label}: privateKey is not a readable private JWK`, cause);
    }
  }
  return fail(`${label}: privateKey must be a KeyObject, a private JWK or a PKCS#8 PEM string`);
}

function isPublicKeyText(text: string): boolean {
  try {
    createPublicKey(text);
    return true;
  } catch {
    return false;
  }
}

const SELF_TEST = Buffer.from('cloakroom key self-test');

// Sign and verify once, so a private JWK whose public members do not match
// its private part is caught at startup rather than as rejected tokens later.
function selfTest(alg: AsymmetricAlgorithm, priv: KeyObject, pub: KeyObject, label: string): void {
  const hash = alg === 'EdDSA' ? null : 'sha256';
  const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  const options = alg === 'PS256' ? pss : {};
  let ok = false;
  try {
    const signature = sign(hash, SELF_TEST, { key: priv, ...options });
    ok = verify(hash, SELF_TEST, { key: pub, ...options }, signature);
  } catch (cause) {
    fail(`${label}: the key failed a sign/verify self-test`, cause);
  }
  if (!ok) fail(`${label}: the key's public part does not match its private part`);
}

/** Validate one `SigningKeyInput` entry and precompute its kid, public key and JWK. */
export function importSigningKey(input: unknown, label: string): ImportedSigningKey {
  if (typeof input !== 'object' || input === null) fail(`${label} must be an object`);
  const entry = input as { alg?: unknown; privateKey?: unknown; secret?: unknown };
  const alg = entry.alg;
  if (alg === 'HS256') {
    if (entry.privateKey !== undefined) fail(`${label}: HS256 takes a secret, not a privateKey`);
    const secret = decodeKeyBytes(entry.secret, `${label} secret`);
    if (secret.byteLength < MIN_HMAC_SECRET_BYTES) {
      fail(
        `${label}: HS256 secret is ${secret.byteLength} bytes; at least ${MIN_HMAC_SECRET_BYTES} are required`,
      );
    }
    assertNotWeak(secret, `${label} secret`);
    const key = createSecretKey(secret);
    const kid = jwkThumbprint({ kty: 'oct', k: toBase64Url(secret) });
    return { alg, kid, signKey: key, verifyKey: key, secret };
  }
  if (!isAsymmetricAlgorithm(alg)) {
    return fail(`${label}: alg must be one of EdDSA, ES256, PS256, RS256, HS256`);
  }
  if (entry.secret !== undefined) fail(`${label}: ${alg} takes a privateKey, not a secret`);
  const jwk = entry.privateKey as { alg?: unknown; use?: unknown } | undefined;
  if (typeof jwk === 'object' && jwk !== null && !(jwk instanceof KeyObject)) {
    if (jwk.alg !== undefined && jwk.alg !== alg)
      fail(`${label}: the JWK's alg does not match ${alg}`);
    if (jwk.use !== undefined && jwk.use !== 'sig') fail(`${label}: the JWK's use must be "sig"`);
  }
  const signKey = toPrivateKey(entry.privateKey, label);
  assertKeyFitsAlgorithm(signKey, alg, label);
  const verifyKey = createPublicKey(signKey);
  selfTest(alg, signKey, verifyKey, label);
  const publicJwk = publicJwkOf(verifyKey, alg);
  return { alg, kid: publicJwk.kid, signKey, verifyKey, publicJwk };
}
