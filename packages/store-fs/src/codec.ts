import { hash } from 'node:crypto';
import { isStoreKey, type SessionRecord } from '@cloakroom/core';

// Binary layout, format 2 (written since subject limits), all integers big-endian:
//   0  magic "CRFS"            4
//   4  format (2)              1
//   5  flags                   1   bit0 = link is the pending parent, bit1 = link is the successor,
//                                  bit2 = the record holds a seat
//   6  id                      43  ASCII
//  49  subject                 43  ASCII
//  92  link id                 43  ASCII, zero bytes when unset
// 135  expiresAt               8   float64 (integral epoch ms)
// 143  version                 8   float64 (positive integer)
// 151  seat                    8   float64: the seat's stamp when bit2 is set (when the seat was
//                                  taken, microseconds since the epoch: smaller = earlier), else 0
// 159  payload length          4   uint32
// 163  payload                 n
// 163+n SHA-256 of bytes 0..163+n   32
//
// Format 1 (written before subject limits; still read, never written) is the
// same without the seat field: payload length at 151, payload at 155, no
// bit2. Its records knew nothing of seats: a format-1 record holds a seat
// with stamp 0 (earlier than any seat taken since), unless it names a
// successor (rotated away: `rotate` hands the seat to the successor).
// A torn, truncated or garbage file fails the length or checksum test.
const MAGIC = 0x43524653; // "CRFS"
const FORMAT = 2;
const FORMAT_1 = 1;
const HEADER = 163;
const HEADER_1 = 155;
const DIGEST = 32;
const FLAG_PENDING = 1;
const FLAG_SUCCESSOR = 2;
const FLAG_SEATED = 4;
/** The stamp of a seat held by a record written before seats existed: earliest of all. */
export const LEGACY_SEAT = 0;

/** What a record file holds besides the record: the link used to make `rotate` atomic, and its seat. */
export interface StoredRecord {
  readonly record: SessionRecord;
  /**
   * Set on the successor written by an unfinished `rotate`: the record only
   * exists once its parent's file names it as `successor`.
   */
  readonly pendingParent?: string;
  /** Set on a record rotated away: the id of the record the same rotate inserted. */
  readonly successor?: string;
  /**
   * Set when the record holds a seat of its subject (see `insertWithLimit`):
   * the seat's stamp, which orders seats by when they were taken. Absent on
   * a record without a seat (one rotated away).
   */
  readonly seat?: number;
}

/** The fixed number of bytes a record file adds to its payload. */
export const RECORD_OVERHEAD = HEADER + DIGEST;

/** Serialise a record (already validated) into its file bytes (always the current format). */
export function encodeRecord(stored: StoredRecord): Uint8Array {
  const { record, seat } = stored;
  const n = record.payload.byteLength;
  // From Node's pool when small (a fresh Buffer.alloc costs an off-heap allocation); every byte is written below.
  const buf = Buffer.allocUnsafe(HEADER + n + DIGEST);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt8(FORMAT, 4);
  let flags = seat === undefined ? 0 : FLAG_SEATED;
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
  buf.writeDoubleBE(seat ?? 0, 151);
  buf.writeUInt32BE(n, 159);
  buf.set(record.payload, HEADER);
  hash('sha256', buf.subarray(0, HEADER + n), 'buffer').copy(buf, HEADER + n);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Parse record file bytes (format 2, or format 1 written by earlier
 * versions). The returned payload is a view of `bytes`: pass bytes nothing
 * else holds or will change (a fresh read). Returns `undefined` for anything
 * that is not a complete, checksummed record of a known format (torn write,
 * truncation, foreign file, bit rot): the caller decides what that means.
 */
export function decodeRecord(bytes: Uint8Array): StoredRecord | undefined {
  if (bytes.byteLength < HEADER_1 + DIGEST) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.readUInt32BE(0) !== MAGIC) return undefined;
  const format = buf.readUInt8(4);
  if (format !== FORMAT && format !== FORMAT_1) return undefined;
  const header = format === FORMAT ? HEADER : HEADER_1;
  if (buf.byteLength < header + DIGEST) return undefined;
  const n = buf.readUInt32BE(header - 4);
  if (buf.byteLength !== header + n + DIGEST) return undefined;
  const digest = hash('sha256', buf.subarray(0, header + n), 'buffer');
  if (!digest.equals(buf.subarray(header + n))) return undefined;
  const flags = buf.readUInt8(5);
  const id = buf.toString('latin1', 6, 49);
  const subject = buf.toString('latin1', 49, 92);
  const expiresAt = buf.readDoubleBE(135);
  const version = buf.readDoubleBE(143);
  if (!isStoreKey(id) || !isStoreKey(subject)) return undefined;
  if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(version) || version < 1) {
    return undefined;
  }
  const linkKind = flags & ~FLAG_SEATED;
  let seat: number | undefined;
  if (format === FORMAT) {
    const stamp = buf.readDoubleBE(151);
    if (flags & FLAG_SEATED) {
      if (!Number.isSafeInteger(stamp) || stamp < 0) return undefined;
      seat = stamp;
    } else if (!Object.is(stamp, 0)) {
      return undefined;
    }
  } else {
    if (flags & FLAG_SEATED) return undefined;
    if (linkKind !== FLAG_SUCCESSOR) seat = LEGACY_SEAT;
  }
  // A view, not a copy: `bytes` belong to the caller, freshly read for this call.
  const payload = new Uint8Array(buf.buffer, buf.byteOffset + header, n);
  const record: SessionRecord = { id, subject, expiresAt, version, payload };
  const base: StoredRecord = seat === undefined ? { record } : { record, seat };
  if (linkKind === 0) return base;
  const link = buf.toString('latin1', 92, 135);
  if (!isStoreKey(link)) return undefined;
  if (linkKind === FLAG_PENDING) return { ...base, pendingParent: link };
  if (linkKind === FLAG_SUCCESSOR) return { ...base, successor: link };
  return undefined;
}
