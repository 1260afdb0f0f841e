// One byte layout for a stored key-set entry (version + sealed document), for
// stores that keep both in a single value (a file, a Redis string). The
// document is already sealed under the master key; the digest here catches a
// torn or truncated write, and a foreign value, before the sealed document is
// even opened, so a store can tell "corrupt" from "wrong master key".
import { createHash } from 'node:crypto';
import type { KeySetEntry } from '../contracts/store';
import { timingSafeEqual } from '../crypto/constant-time';

// "CRKS", format 1, version (float64), document length (uint32), document, SHA-256 of all before.
const MAGIC = 0x43524b53;
const HEADER = 17;
const DIGEST = 32;

/**
 * Serialise a key-set entry into the bytes a store keeps:
 * `"CRKS"`, format 1, version, length, document, SHA-256 of all before.
 *
 * @example
 * ```ts
 * await writeFile(path, encodeKeySetEntry({ version: 1, document }));
 * ```
 */
export function encodeKeySetEntry(entry: KeySetEntry): Uint8Array {
  const n = entry.document.byteLength;
  const buf = Buffer.alloc(HEADER + n + DIGEST);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt8(1, 4);
  buf.writeDoubleBE(entry.version, 5);
  buf.writeUInt32BE(n, 13);
  buf.set(entry.document, HEADER);
  createHash('sha256')
    .update(buf.subarray(0, HEADER + n))
    .digest()
    .copy(buf, HEADER + n);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Parse bytes written by {@link encodeKeySetEntry}; `undefined` when they are
 * torn, truncated, altered or not a key-set entry (a store answers that with
 * `StoreDataInvalid`). The returned document is a copy.
 *
 * @example
 * ```ts
 * const entry = decodeKeySetEntry(bytes);
 * if (entry === undefined) throw new StoreDataInvalid('the stored key set is malformed');
 * ```
 */
export function decodeKeySetEntry(bytes: Uint8Array): KeySetEntry | undefined {
  if (bytes.byteLength < HEADER + DIGEST) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt8(4) !== 1) return undefined;
  const n = buf.readUInt32BE(13);
  if (buf.byteLength !== HEADER + n + DIGEST) return undefined;
  const digest = createHash('sha256')
    .update(buf.subarray(0, HEADER + n))
    .digest();
  if (!timingSafeEqual(digest, buf.subarray(HEADER + n))) return undefined;
  const version = buf.readDoubleBE(5);
  if (!Number.isSafeInteger(version) || version < 1) return undefined;
  return { version, document: new Uint8Array(buf.subarray(HEADER, HEADER + n)) };
}
