// The one AES-256-GCM seal and open of the core, shared by the storage
// cipher (aes-gcm-cipher.ts) and the ticket layer (ticket-seal.ts); their
// byte layouts are specified in format.ts. Internal: not re-exported.
import { type KeyObject, createCipheriv, createDecipheriv } from 'node:crypto';
import { TAG_BYTES } from './format';

type Key = Uint8Array | KeyObject;

/**
 * Encrypts `plaintext` into `out`, whose first `bodyOffset` bytes the caller
 * has already written (its header, nonce included): the ciphertext goes at
 * `bodyOffset` and the 16-byte tag at the very end. The GCM AAD is
 * `aadHead ‖ aad`, fed in two calls so neither is copied.
 *
 * Edge behaviour: `out.byteLength` must be exactly `bodyOffset +
 * plaintext.byteLength + 16` (a caller bug otherwise: RangeError). The nonce
 * must be fresh for the key; this function does not draw it (SEC-11 is the
 * callers' job, with `fillPublicRandom`).
 *
 * @example
 * ```ts
 * const out = new Uint8Array(13 + plaintext.byteLength + 16);
 * out[0] = 2;
 * const nonce = fillPublicRandom(out.subarray(1, 13));
 * sealAesGcmInto(key, nonce, out.subarray(0, 1), aad, plaintext, out, 13);
 * ```
 */
export function sealAesGcmInto(
  key: Key,
  nonce: Uint8Array,
  aadHead: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  bodyOffset: number,
): void {
  if (out.byteLength !== bodyOffset + plaintext.byteLength + TAG_BYTES) {
    throw new RangeError('sealAesGcmInto: output size does not fit the plaintext');
  }
  const gcm = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  // An empty part adds nothing to the AAD: skip its call (the ticket-bound body has none).
  if (aadHead.byteLength !== 0) gcm.setAAD(aadHead);
  gcm.setAAD(aad);
  const body = gcm.update(plaintext);
  const tail = gcm.final();
  out.set(body, bodyOffset);
  out.set(tail, bodyOffset + body.byteLength);
  out.set(gcm.getAuthTag(), out.byteLength - TAG_BYTES);
}

/**
 * Decrypts `sealed[bodyOffset .. length - 16)` with the tag in its last 16
 * bytes and AAD `aadHead ‖ aad`. The tag is verified (`final()`) before
 * anything is returned: unauthenticated bytes never leave this function.
 *
 * Edge behaviour: throws node:crypto's error for a wrong key, nonce, AAD or
 * tag, and for input shorter than `bodyOffset + 16`; callers map any throw
 * to their own `DecryptionFailed` (keeping it as `cause`). The result may
 * share memory with Node's buffer pool; it is the caller's to keep.
 *
 * @example
 * ```ts
 * const plain = openAesGcm(key, sealed.subarray(1, 13), sealed.subarray(0, 1), aad, sealed, 13);
 * ```
 */
export function openAesGcm(
  key: Key,
  nonce: Uint8Array,
  aadHead: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
  bodyOffset: number,
): Uint8Array {
  const bytes = openAesGcmBuffer(key, nonce, aadHead, aad, sealed, bodyOffset);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * {@link openAesGcm} returning node:crypto's `Buffer` as is (no view made
 * over it), for internal callers that decode it at once. Same checks, same
 * errors.
 */
export function openAesGcmBuffer(
  key: Key,
  nonce: Uint8Array,
  aadHead: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
  bodyOffset: number,
): Buffer {
  const tagStart = sealed.byteLength - TAG_BYTES;
  if (tagStart < bodyOffset) throw new RangeError('openAesGcm: sealed input is too short');
  const gcm = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  if (aadHead.byteLength !== 0) gcm.setAAD(aadHead);
  gcm.setAAD(aad);
  gcm.setAuthTag(sealed.subarray(tagStart));
  const plain = gcm.update(sealed.subarray(bodyOffset, tagStart));
  const tail = gcm.final();
  return tail.byteLength === 0 ? plain : Buffer.concat([plain, tail]);
}
