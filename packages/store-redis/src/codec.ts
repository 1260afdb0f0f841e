import type { SessionRecord } from '@cloakroom/core';
import { malformed } from './errors';

// Binary value of a record key, read by both TypeScript and the Lua scripts:
//
//   0      magic 0xC7
//   1      kind: 1 live record, 2 pending successor of a cluster rotate
//          (3 was a key-set document: key sets now use core's entry codec)
//   2..9   expiresAt, float64 big-endian
//   10..17 version, float64 big-endian
//   18..19 subject length n, uint16 big-endian
//   20..   subject (UTF-8, n bytes)
//   live:    payload (the rest)
//   pending: tx length t (uint8), tx id (t bytes), old id length m (uint16),
//            old id (m bytes), payload (the rest)
//
// Numbers are doubles because Lua numbers are; every safe integer survives.

/** First byte of every value this package writes. */
export const MAGIC = 0xc7;
export const KIND_LIVE = 1;
export const KIND_PENDING = 2;
const HEADER = 20;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A decoded record value; `pending` only for the successor of an unfinished cluster rotate. */
export interface StoredRecord {
  readonly expiresAt: number;
  readonly version: number;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly pending?: { readonly tx: string; readonly oldId: string };
}

function header(kind: number, record: SessionRecord, tail: number): { buf: Buffer; at: number } {
  const subject = Buffer.from(record.subject, 'utf8');
  const buf = Buffer.allocUnsafe(HEADER + subject.length + tail + record.payload.byteLength);
  buf[0] = MAGIC;
  buf[1] = kind;
  buf.writeDoubleBE(record.expiresAt, 2);
  buf.writeDoubleBE(record.version, 10);
  buf.writeUInt16BE(subject.length, 18);
  subject.copy(buf, HEADER);
  return { buf, at: HEADER + subject.length };
}

/** Encode a live record value (the id is in the key, not the value). */
export function encodeRecord(record: SessionRecord): Buffer {
  const { buf, at } = header(KIND_LIVE, record, 0);
  buf.set(record.payload, at);
  return buf;
}

/** Encode the pending successor written by the first phase of a cross-slot rotate. */
export function encodePending(record: SessionRecord, tx: string, oldId: string): Buffer {
  const txBytes = Buffer.from(tx, 'latin1');
  const old = Buffer.from(oldId, 'utf8');
  const { buf, at } = header(KIND_PENDING, record, 1 + txBytes.length + 2 + old.length);
  let p = at;
  buf[p++] = txBytes.length;
  txBytes.copy(buf, p);
  p += txBytes.length;
  buf.writeUInt16BE(old.length, p);
  p += 2;
  old.copy(buf, p);
  buf.set(record.payload, p + old.length);
  return buf;
}

function text(buf: Buffer, start: number, end: number): string | undefined {
  try {
    return strictUtf8.decode(buf.subarray(start, end));
  } catch {
    return undefined;
  }
}

/**
 * The payload: a plain `Uint8Array` view of `buf` from `start`, no copy.
 * `buf` is a reply the client parsed for this one command and never reuses
 * or writes again (redis-parser hands out slices of its read chunks and of
 * an append-only pool), and nothing else holds it, so the view is the
 * caller's own: mutating it changes nothing stored. A copy here costs
 * a fresh backing store per read (~2-4 µs for 1.3 KiB, plus GC).
 */
function view(buf: Buffer, start: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, buf.length - start);
}

/**
 * Decode a record value. `undefined` when the bytes are not a value this
 * package wrote (wrong magic or kind, truncated, non-integer numbers, bad
 * UTF-8): the caller turns that into `StoreDataInvalid`.
 */
export function decodeRecord(buf: Buffer): StoredRecord | undefined {
  if (buf.length < HEADER || buf[0] !== MAGIC) return undefined;
  const kind = buf[1];
  if (kind !== KIND_LIVE && kind !== KIND_PENDING) return undefined;
  const expiresAt = buf.readDoubleBE(2);
  const version = buf.readDoubleBE(10);
  if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(version) || version < 1) {
    return undefined;
  }
  const n = buf.readUInt16BE(18);
  if (n === 0 || buf.length < HEADER + n) return undefined;
  const subject = text(buf, HEADER, HEADER + n);
  if (subject === undefined) return undefined;
  let p = HEADER + n;
  if (kind === KIND_LIVE) {
    return { expiresAt, version, subject, payload: view(buf, p) };
  }
  if (buf.length < p + 1) return undefined;
  const t = buf[p++] as number;
  if (t === 0 || buf.length < p + t + 2) return undefined;
  const tx = buf.toString('latin1', p, p + t);
  p += t;
  const m = buf.readUInt16BE(p);
  p += 2;
  if (m === 0 || buf.length < p + m) return undefined;
  const oldId = text(buf, p, p + m);
  if (oldId === undefined) return undefined;
  p += m;
  return {
    expiresAt,
    version,
    subject,
    payload: view(buf, p),
    pending: { tx, oldId },
  };
}

/** Decode a value read under the prefix, or throw `StoreDataInvalid` (never its bytes). */
export function decodeOrThrow(buf: Buffer): StoredRecord {
  const stored = decodeRecord(buf);
  if (stored === undefined) throw malformed();
  return stored;
}

/** The record a read returns for a decoded value, or `null` when it is pending or dead at `now`. */
export function liveRecord(id: string, stored: StoredRecord, now: number): SessionRecord | null {
  if (stored.pending !== undefined || stored.expiresAt <= now) return null;
  return {
    id,
    subject: stored.subject,
    expiresAt: stored.expiresAt,
    version: stored.version,
    payload: stored.payload,
  };
}

/** Decode `[id, value, id, value, ...]` pairs returned by a script into live records. */
export function pairsToRecords(
  items: readonly unknown[],
  from: number,
  now: number,
): SessionRecord[] {
  const out: SessionRecord[] = [];
  for (let i = from; i + 1 < items.length; i += 2) {
    const id = items[i];
    const value = items[i + 1];
    if (!Buffer.isBuffer(id) || !Buffer.isBuffer(value)) throw malformed('unexpected script reply');
    const record = liveRecord(id.toString('utf8'), decodeOrThrow(value), now);
    if (record !== null) out.push(record);
  }
  return out;
}
