import { hash } from 'node:crypto';
import { isStoreKey, type SessionRecord } from '@cloakroom/core';

// Binary layout, all integers big-endian:
//   0  magic "CRFS"            4
//   4  format (1)              1
//   5  flags                   1   bit0 = link is the pending parent, bit1 = link is the successor
//   6  id                      43  ASCII
//  49  subject                 43  ASCII
//  92  link id                 43  ASCII, zero bytes when unset
// 135  expiresAt               8   float64 (integral epoch ms)
// 143  version                 8   float64 (positive integer)
// 151  payload length          4   uint32
// 155  payload                 n
// 155+n SHA-256 of bytes 0..155+n   32
// A torn, truncated or garbage file fails the length or checksum test.
const MAGIC = 0x43524653; // "CRFS"
const FORMAT = 1;
const HEADER = 155;
const DIGEST = 32;
const FLAG_PENDING = 1;
const FLAG_SUCCESSOR = 2;

/** What a record file holds besides the record: the link used to make `rotate` atomic. */
export interface StoredRecord {
  readonly record: SessionRecord;
  /**
   * Set on the successor written by an unfinished `rotate`: the record only
   * exists once its parent's file names it as `successor`.
   */
  readonly pendingParent?: string;
  /** Set on a record rotated away: the id of the record the same rotate inserted. */
  readonly successor?: string;
}

/** The fixed number of bytes a record file adds to its payload. */
export const RECORD_OVERHEAD = HEADER + DIGEST;

/** Serialise a record (already validated) into its file bytes. */
export function encodeRecord(stored: StoredRecord): Uint8Array {
  const { record } = stored;
  const n = record.payload.byteLength;
  // From Node's pool when small (a fresh Buffer.alloc costs an off-heap allocation); every byte is written below.
  const buf = Buffer.allocUnsafe(HEADER + n + DIGEST);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt8(FORMAT, 4);
  let flags = 0;
  let link: string | undefined;
  if (stored.pendingParent !== undefined) {
    flags |= FLAG_PENDING;
    link = stored.pendingParent;
  } else if (stored.successor !== undefined) {
    flags |= FLAG_SUCCESSOR;
    link = stored.successor;
  }
  buf.writeUInt8(flags, 5);
  buf.write(record.id, 6, 43, 'latin1');
  buf.write(record.subject, 49, 43, 'latin1');
  if (link !== undefined) buf.write(link, 92, 43, 'latin1');
  else buf.fill(0, 92, 135);
  buf.writeDoubleBE(record.expiresAt, 135);
  buf.writeDoubleBE(record.version, 143);
  buf.writeUInt32BE(n, 151);
  buf.set(record.payload, HEADER);
  hash('sha256', buf.subarray(0, HEADER + n), 'buffer').copy(buf, HEADER + n);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Parse record file bytes. The returned payload is a view of `bytes`: pass
 * bytes nothing else holds or will change (a fresh read). Returns `undefined` for anything that is not a
 * complete, checksummed record of this format (torn write, truncation,
 * foreign file, bit rot): the caller decides what that means.
 */
export function decodeRecord(bytes: Uint8Array): StoredRecord | undefined {
  if (bytes.byteLength < HEADER + DIGEST) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt8(4) !== FORMAT) return undefined;
  const n = buf.readUInt32BE(151);
  if (buf.byteLength !== HEADER + n + DIGEST) return undefined;
  const digest = hash('sha256', buf.subarray(0, HEADER + n), 'buffer');
  if (!digest.equals(buf.subarray(HEADER + n))) return undefined;
  const flags = buf.readUInt8(5);
  const id = buf.toString('latin1', 6, 49);
  const subject = buf.toString('latin1', 49, 92);
  const expiresAt = buf.readDoubleBE(135);
  const version = buf.readDoubleBE(143);
  if (!isStoreKey(id) || !isStoreKey(subject)) return undefined;
  if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(version) || version < 1) {
    return undefined;
  }
  // A view, not a copy: `bytes` belong to the caller, freshly read for this call.
  const payload = new Uint8Array(buf.buffer, buf.byteOffset + HEADER, n);
  const record: SessionRecord = { id, subject, expiresAt, version, payload };
  if (flags === 0) return { record };
  const link = buf.toString('latin1', 92, 135);
  if (!isStoreKey(link)) return undefined;
  if (flags === FLAG_PENDING) return { record, pendingParent: link };
  if (flags === FLAG_SUCCESSOR) return { record, successor: link };
  return undefined;
}
