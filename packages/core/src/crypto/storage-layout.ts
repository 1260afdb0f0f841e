// Layer 1 of the record format (crypto/format.ts): the default cipher's
// sealed bytes, `version ‖ algorithm ‖ key id length ‖ key id ‖ nonce ‖
// ciphertext ‖ tag`, read in place and written into a caller's buffer, with
// the per-key seal budget (SEC-11). Internal: aes-gcm-cipher.ts builds the
// Cipher on it; the ticket-bound record reads its operator copy's key id.
import { sealAesGcmInto } from './aes-gcm';
import { NONCE_BYTES, STORAGE_ALG_AES_256_GCM, STORAGE_FORMAT_VERSION, TAG_BYTES } from './format';
import { fillPublicRandom } from './random-pool';
import type { StorageKey } from '../contracts/keys';
import { DecryptionFailed, KeyExhausted } from '../errors';

const MAX_KEY_ID_BYTES = 64;

// Seals made by this process per storage key id (SEC-11 nonce budget). It
// is module-wide, not per cipher, because every cipher in the process that
// seals under a key draws on that key's one nonce budget; a key ring that is
// rebuilt (e.g. reloaded by a rotating provider) keeps its count.
const sealCounts = new Map<string, number>();

export interface Header {
  readonly keyId: string;
  /** Length of version, algorithm, key id and nonce: the authenticated header. */
  readonly length: number;
}

// Per byte value: whether it may appear in a key id ([A-Za-z0-9_-]).
const KEY_ID_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') {
  KEY_ID_BYTE[c.charCodeAt(0)] = 1;
}

// The key id of a layer-1 header starting at `at`, or undefined when the
// header is malformed or too short to hold a tag after it. Read byte by
// byte (no view, no regex): it runs on every resolve.
function keyIdAt(sealed: Uint8Array, at: number): string | undefined {
  if (sealed.byteLength < at + 3) return undefined;
  if (sealed[at] !== STORAGE_FORMAT_VERSION || sealed[at + 1] !== STORAGE_ALG_AES_256_GCM)
    return undefined;
  const idLength = sealed[at + 2] as number;
  if (idLength < 1 || idLength > MAX_KEY_ID_BYTES) return undefined;
  if (sealed.byteLength < at + 3 + idLength + NONCE_BYTES + TAG_BYTES) return undefined;
  let keyId = '';
  for (let i = at + 3; i < at + 3 + idLength; i++) {
    const b = sealed[i] as number;
    if (KEY_ID_BYTE[b] !== 1) return undefined;
    keyId += String.fromCharCode(b);
  }
  return keyId;
}

// Bounds-checked header parse. Returns undefined for anything malformed so
// every caller maps it to one DecryptionFailed, never a RangeError.
export function parseHeader(sealed: Uint8Array): Header | undefined {
  if (!(sealed instanceof Uint8Array)) return undefined;
  const keyId = keyIdAt(sealed, 0);
  if (keyId === undefined) return undefined;
  return { keyId, length: 3 + keyId.length + NONCE_BYTES };
}

/**
 * The storage key id named by the layer-1 header that starts at `at` in
 * `sealed` (a ticket-bound record's operator copy starts at its body's
 * end). Internal: the resolve path reads it in place.
 * @throws DecryptionFailed when the header there is malformed.
 */
export function storageKeyIdAt(sealed: Uint8Array, at: number): string {
  const keyId = keyIdAt(sealed, at);
  if (keyId === undefined) throw new DecryptionFailed('sealed payload is malformed');
  return keyId;
}

/** Bytes of a layer-1 seal of `n` bytes under key id `keyId`. */
export function sealedLengthUnder(keyId: string, n: number): number {
  return 3 + keyId.length + NONCE_BYTES + n + TAG_BYTES;
}

/**
 * The layer-1 seal of `plaintext` under `key`, written into `out` from `at`
 * to its end; counts one seal against the key's budget first.
 */
export function sealUnder(
  key: StorageKey,
  maxSeals: number,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  if (out.byteLength - at !== sealedLengthUnder(key.id, plaintext.byteLength)) {
    throw new RangeError('seal: output size does not fit the plaintext');
  }
  const used = sealCounts.get(key.id) ?? 0;
  if (used >= maxSeals) {
    throw new KeyExhausted(`storage key "${key.id}" reached its seal budget; rotate it`);
  }
  sealCounts.set(key.id, used + 1);
  const idLength = key.id.length;
  const headerLength = 3 + idLength + NONCE_BYTES;
  const sealed = at === 0 ? out : out.subarray(at);
  sealed[0] = STORAGE_FORMAT_VERSION;
  sealed[1] = STORAGE_ALG_AES_256_GCM;
  sealed[2] = idLength;
  for (let i = 0; i < idLength; i++) sealed[3 + i] = key.id.charCodeAt(i);
  const nonce = fillPublicRandom(sealed.subarray(3 + idLength, headerLength));
  // The whole header, nonce included, is authenticated.
  sealAesGcmInto(
    key.key,
    nonce,
    sealed.subarray(0, headerLength),
    aad,
    plaintext,
    sealed,
    headerLength,
  );
}
