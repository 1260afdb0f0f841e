import { type KeyObject, createSecretKey } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { fromBase64Url, fromUtf8, isCanonicalBase64Url, isPlainObject } from '../lib/encoding';
import { ConfigInvalid, InvalidArgument, TokenRejected } from '../errors';
import { import256BitKey } from '../keys/key-import';

/** Longest `enc` claim accepted, in characters, checked before any parsing (SEC-24). */
export const MAX_PROTECTED_CLAIMS_LENGTH = 64 * 1024;

/** Options of {@link openProtectedClaims}. */
export interface OpenProtectedClaimsOptions {
  /** The claim-encryption key the issuer was configured with: 32 bytes or their base64url text. */
  readonly encryptionKey: Uint8Array | string;
  /** The only key management algorithm accepted; must match the issuer's. @default 'dir' */
  readonly alg?: 'dir' | 'A256KW';
}

/** Why protected claims were rejected: on `TokenRejected#reason`, safe to log (no token data). */
export type ClaimRejectReason =
  /** Longer than {@link MAX_PROTECTED_CLAIMS_LENGTH}; nothing was parsed. */
  | 'too-long'
  /** Not a string of five canonical base64url segments of the right sizes, or a header that is not a JSON object; not decrypted. */
  | 'malformed'
  /** Header `alg` is not the pinned one (PBES2, RSA1_5, RSA-OAEP, ECDH-ES, ...); not decrypted. */
  | 'alg-not-allowed'
  /** Header `enc` is not `A256GCM`; not decrypted. */
  | 'enc-not-allowed'
  /** Header has `zip`, `crit` or any member other than `alg enc cty kid`; not decrypted. */
  | 'unsupported-header'
  /** Authentication failed: wrong key, or tampered header, IV, ciphertext or tag. */
  | 'decryption'
  /** Decrypted, but not a JSON object of claims that fit the payload. */
  | 'claims';

const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_HEADER_CHARS = 1024;
const ALLOWED_HEADER = new Set(['alg', 'enc', 'cty', 'kid']);
const RESTORE_FORBIDDEN = new Set(['iss', 'aud', 'sub', 'exp', 'iat', 'nbf', 'jti', 'enc']);
// A256KW output is the 32-byte key plus the 8-byte integrity block; GCM uses a 96-bit IV and 128-bit tag.
const WRAPPED_KEY_BYTES = 40;
const IV_BYTES = 12;
const TAG_BYTES = 16;

function reject(reason: ClaimRejectReason, cause?: unknown): TokenRejected {
  const err = new TokenRejected(
    `protected claims rejected (${reason})`,
    cause === undefined ? undefined : { cause },
  );
  Object.defineProperty(err, 'reason', { value: reason, enumerable: true });
  return err;
}

function byteLength(segment: string): number {
  return Math.floor((segment.length * 3) / 4);
}

function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(fromUtf8(bytes));
}

// Everything jose would otherwise decide is decided here first, so only a
// JWE of exactly our form ever reaches it (SEC-23, SEC-24).
function checkCompact(enc: unknown, alg: 'dir' | 'A256KW'): string {
  if (typeof enc !== 'string') throw reject('malformed');
  if (enc.length > MAX_PROTECTED_CLAIMS_LENGTH) throw reject('too-long');
  // A 3-part JWS, the JSON serialization and stray characters all fail here.
  if (!SHAPE.test(enc)) throw reject('malformed');
  const segments = enc.split('.') as [string, string, string, string, string];
  if (!segments.every(isCanonicalBase64Url)) throw reject('malformed');
  const [head, wrapped, iv, , tag] = segments;
  if (head.length > MAX_HEADER_CHARS) throw reject('malformed');

  const bytes = fromBase64Url(head);
  if (bytes === undefined) throw reject('malformed');
  let header: unknown;
  try {
    header = parseJson(bytes);
  } catch {
    // No cause: a JSON syntax error quotes the text it choked on.
    throw reject('malformed');
  }
  if (!isPlainObject(header)) throw reject('malformed');
  if (header.alg !== alg) throw reject('alg-not-allowed');
  if (header.enc !== 'A256GCM') throw reject('enc-not-allowed');
  for (const member of Object.keys(header)) {
    if (!ALLOWED_HEADER.has(member)) throw reject('unsupported-header');
  }
  if (header.cty !== undefined && header.cty !== 'json') throw reject('unsupported-header');
  if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid.length > 256)) {
    throw reject('unsupported-header');
  }
  // Sizes come after the header so a foreign algorithm is reported as such.
  const expectedWrapped = alg === 'dir' ? 0 : WRAPPED_KEY_BYTES;
  if (byteLength(wrapped) !== expectedWrapped) throw reject('malformed');
  if (byteLength(iv) !== IV_BYTES || byteLength(tag) !== TAG_BYTES) throw reject('malformed');
  return enc;
}

function checkOptions(options: OpenProtectedClaimsOptions): {
  key: KeyObject;
  alg: 'dir' | 'A256KW';
} {
  if (!isPlainObject(options)) {
    throw new InvalidArgument('openProtectedClaims: options are required');
  }
  const alg = options.alg ?? 'dir';
  if (alg !== 'dir' && alg !== 'A256KW') {
    throw new ConfigInvalid('openProtectedClaims: alg must be "dir" or "A256KW"');
  }
  const bytes = import256BitKey(options.encryptionKey, 'openProtectedClaims: encryptionKey');
  return { key: createSecretKey(bytes), alg };
}

/**
 * Restore the sensitive claims of a payload made with
 * `claimProtection(...).protect`: decrypt its `enc` claim and return a new
 * object with `enc` removed and the encrypted claims put back. Hashed
 * claims stay hashed (a hash cannot be reversed; compare with
 * `hashValue`). For resource servers holding the claim-encryption key; call
 * it only on a payload whose signature was already verified.
 *
 * Strict (SEC-23, SEC-24): before any parsing, `enc` must be at most
 * {@link MAX_PROTECTED_CLAIMS_LENGTH} characters of five canonical
 * base64url segments with a 12-byte IV, a 16-byte tag and an encrypted key
 * of the right size (empty for `dir`); the header may hold only `alg`
 * (exactly `options.alg`), `enc` (exactly `A256GCM`), `cty` (`json`) and
 * `kid`, so `zip`, `crit`, PBES2, RSA1_5, RSA-OAEP, ECDH-ES and every other
 * `enc` are refused, and a JWS is refused. Only then is jose called, pinned
 * to the same algorithms. Every failure, wrong key included, throws
 * {@link TokenRejected} with a `reason` ({@link ClaimRejectReason}); no
 * plaintext is ever returned or put in an error. A payload without `enc`
 * is returned as a copy. Invalid options throw {@link InvalidArgument} or
 * {@link ConfigInvalid}.
 *
 * @default options.alg `'dir'`
 * @example
 * ```ts
 * const { payload } = await verifyToken(token, { keys, issuer, audience, typ: 'at+jwt' });
 * const claims = await openProtectedClaims(payload, { encryptionKey: process.env.CLAIM_ENCRYPTION_KEY! });
 * claims.email; // restored
 * ```
 */
export async function openProtectedClaims(
  payload: Record<string, unknown>,
  options: OpenProtectedClaimsOptions,
): Promise<Record<string, unknown>> {
  const { key, alg } = checkOptions(options);
  if (!isPlainObject(payload)) {
    throw new InvalidArgument('openProtectedClaims: payload must be a plain object');
  }
  if (!Object.hasOwn(payload, 'enc')) return { ...payload };
  const enc = checkCompact(payload.enc, alg);

  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(enc, key, {
      keyManagementAlgorithms: [alg],
      contentEncryptionAlgorithms: ['A256GCM'],
    }));
  } catch (cause) {
    throw reject('decryption', cause);
  }
  let restored: unknown;
  try {
    restored = parseJson(plaintext);
  } catch {
    // No cause: a JSON syntax error quotes the text it choked on.
    throw reject('claims');
  }
  if (!isPlainObject(restored)) throw reject('claims');
  const { enc: _, ...rest } = payload;
  for (const name of Object.keys(restored)) {
    // A restored claim never overrides one the signer put in plain sight.
    if (RESTORE_FORBIDDEN.has(name) || name === '__proto__' || Object.hasOwn(rest, name)) {
      throw reject('claims');
    }
  }
  return { ...rest, ...restored };
}
