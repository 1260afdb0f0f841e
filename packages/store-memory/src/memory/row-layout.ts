/*
 * One record is one 136-byte row of a single buffer, seen through three
 * views (Float64Array, Int32Array, Uint8Array) of the same bytes:
 *
 *   bytes   0..31   f64 [0] expiresAt  [1] version  [2] seq  [3] seat
 *   bytes  32..43   int32 [8..10] payload slot in the arena (chunk, offset, length)
 *   bytes  44..86   the id's 43 characters (one byte each)
 *   bytes  87..129  the subject index's 43 characters
 *   bytes 130..135  unused
 *
 * Every store key is exactly 43 characters of [A-Za-z0-9_-] (core's
 * `isStoreKey`, checked before anything reaches the table), so both fit
 * as bytes. A lookup in a large store then reads the id index's slot and
 * this row's adjacent cache lines, and nothing else of the record's
 * metadata: no `Map` entry, no id string to compare with, no subject string
 * elsewhere in the heap. Doubles hold every safe integer exactly, so
 * expiries, versions and seqs keep their full range.
 */

/** Bytes per row (a multiple of 8, for the Float64Array view). */
export const ROW_BYTES = 136;
/** float64 per row. */
export const F64_ROW = ROW_BYTES / 8;
/** int32 per row. */
export const I32_ROW = ROW_BYTES / 4;
export const F_EXPIRES = 0;
export const F_VERSION = 1;
export const F_SEQ = 2;
/**
 * Place in the order seats were taken, or 0 for no seat (a rotated-away
 * record kept as a forwarder). An inserted record's seat is its `seq`;
 * `rotate` hands the old record's seat, number and all, to the next one, so
 * the session keeps its place.
 */
export const F_SEAT = 3;
/** int32 index, within a row, of the arena slot (three int32). */
export const I_SLOT = 8;
/** Length of every id and subject index. */
export const KEY_CHARS = 43;
/** Byte offset, within a row, of the id. */
export const ID_AT = 44;
/** Byte offset, within a row, of the subject index. */
export const SUBJECT_AT = ID_AT + KEY_CHARS;

/** Write the 43 characters of `key` as bytes at `at`. */
export function putKey(bytes: Uint8Array, at: number, key: string): void {
  for (let i = 0; i < KEY_CHARS; i++) bytes[at + i] = key.charCodeAt(i);
}

/** True when the 43 bytes at `at` are the characters of `key`. */
export function keyEquals(bytes: Uint8Array, at: number, key: string): boolean {
  for (let i = 0; i < KEY_CHARS; i++) {
    if (bytes[at + i] !== key.charCodeAt(i)) return false;
  }
  return true;
}
