import { createHash } from 'node:crypto';
import type { KeySetEntry } from '@cloakroom/core';

// "CRKS", format 1, version (float64), document length (uint32), document, SHA-256 of all before.
const MAGIC = 0x43524b53;
const HEADER = 17;
const DIGEST = 32;

/** Serialise a key-set entry into its file bytes. */
export function encodeKeySet(entry: KeySetEntry): Uint8Array {
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

/** Parse key-set file bytes; `undefined` when torn, truncated or foreign. */
export function decodeKeySet(bytes: Uint8Array): KeySetEntry | undefined {
  if (bytes.byteLength < HEADER + DIGEST) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt8(4) !== 1) return undefined;
  const n = buf.readUInt32BE(13);
  if (buf.byteLength !== HEADER + n + DIGEST) return undefined;
  const digest = createHash('sha256')
    .update(buf.subarray(0, HEADER + n))
    .digest();
  if (!digest.equals(buf.subarray(HEADER + n))) return undefined;
  const version = buf.readDoubleBE(5);
  if (!Number.isSafeInteger(version) || version < 1) return undefined;
  return { version, document: new Uint8Array(buf.subarray(HEADER, HEADER + n)) };
}
