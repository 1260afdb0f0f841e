import { Buffer } from 'node:buffer';

/*
 * Payloads are kept as one-byte ("latin1") strings rather than Uint8Arrays.
 * Each byte maps to one character and back, losslessly, and V8 stores such a
 * string as a 16-byte header plus the bytes on its heap. A Uint8Array costs
 * roughly 170 more bytes per record (view, ArrayBuffer, off-heap backing
 * store), which for a typical 1 KiB sealed session is the difference between
 * ~1.3x and ~1.5x the payload size. Encoding copies, so the caller's array
 * can never alias the store.
 *
 * A read copies the bytes back out through `Buffer.from` (Node's 8 KiB
 * allocation pool: ~0.7 µs for 1.3 KiB) and hands back a plain Uint8Array
 * view of them. A fresh `new Uint8Array(n)` would cost ~3-4 µs: every one
 * allocates and registers its own off-heap backing store, a quarter of the
 * floor's whole `resolve`.
 */

/** Copy `bytes` into an immutable one-byte string. */
export function encodePayload(bytes: Uint8Array): string {
  if (bytes.byteLength === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** A fresh, caller-owned plain `Uint8Array` holding the bytes of `stored`. */
export function decodePayload(stored: string): Uint8Array {
  const copy = Buffer.from(stored, 'latin1');
  return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
}
