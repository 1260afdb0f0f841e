// Small byte helpers shared by the core. Internal: not re-exported.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encode. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decode (throws TypeError on invalid input). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url decode: returns undefined for any character outside the alphabet or a bad length. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (!B64URL.test(text) || text.length % 4 === 1) return undefined;
  const buf = Buffer.from(text, 'base64url');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether an unpadded base64url segment, already known to hold only
 * alphabet characters, is the one canonical spelling of its bytes: a length
 * that is not 1 mod 4, and zero in the unused low bits of the last
 * character. Without this, `…A` and `…B` could decode to the same bytes and
 * a signature or ciphertext would have several accepted spellings. Does not
 * check the alphabet itself.
 *
 * @example
 * ```ts
 * isCanonicalBase64Url('AA'); // true
 * isCanonicalBase64Url('AB'); // false: decodes like 'AA'
 * ```
 */
export function isCanonicalBase64Url(segment: string): boolean {
  const rem = segment.length % 4;
  if (rem === 0) return true;
  if (rem === 1) return false;
  const value = ALPHABET.indexOf(segment[segment.length - 1] as string);
  return (value & (rem === 2 ? 0x0f : 0x03)) === 0;
}

/**
 * A plain JSON object: not null, not an array, and its prototype is
 * `Object.prototype` or null (so no class instance, Map or Date).
 *
 * @example
 * ```ts
 * isPlainObject({ a: 1 }); // true
 * isPlainObject([]); // false
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Concatenate byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
