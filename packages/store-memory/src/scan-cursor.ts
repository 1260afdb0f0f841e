import { createHmac, randomBytes } from 'node:crypto';
import { InvalidArgument } from '@cloakroom/core';

/*
 * Cursor: "m2." + the last seq a page covered, in base 36, + "." + a tag:
 * HMAC-SHA-256 of the rest under a key only this store instance holds, cut
 * to 12 base64url characters (72 bits). Seqs start over with each instance,
 * so a cursor from another instance (or from before a restart) would
 * silently skip or repeat records; the tag makes it, and any altered or
 * made-up cursor, fail loudly instead.
 */
const CURSOR = /^m2\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{12})$/;

/**
 * A fresh random key for one store instance's cursors.
 *
 * @example
 * ```ts
 * const cursorKey = newCursorKey(); // once per createMemoryStore()
 * ```
 */
export function newCursorKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

function tag(key: Uint8Array, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url').slice(0, 12);
}

/**
 * The cursor that resumes after `seq`.
 *
 * @example
 * ```ts
 * return { records, cursor: encodeCursor(cursorKey, page.lastSeq) };
 * ```
 */
export function encodeCursor(key: Uint8Array, seq: number): string {
  const body = `m2.${seq.toString(36)}`;
  return `${body}.${tag(key, body)}`;
}

/**
 * The seq a cursor resumes after.
 * @throws InvalidArgument for anything this store instance did not issue
 *   (not a string, malformed, altered, from another instance).
 * @example
 * ```ts
 * const after = cursor === undefined ? 0 : decodeCursor(cursorKey, cursor);
 * ```
 */
export function decodeCursor(key: Uint8Array, cursor: unknown): number {
  if (typeof cursor !== 'string') throw new InvalidArgument('scan cursor must be a string');
  const match = CURSOR.exec(cursor);
  // Both groups exist whenever the pattern matched.
  const digits = match?.[1] as string;
  if (match === null || match[2] !== tag(key, `m2.${digits}`)) {
    throw new InvalidArgument('scan cursor is malformed or belongs to another store');
  }
  const seq = Number.parseInt(digits, 36);
  if (!Number.isSafeInteger(seq)) throw new InvalidArgument('scan cursor is malformed');
  return seq;
}
