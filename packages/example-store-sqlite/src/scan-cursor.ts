// Role: the opaque scan cursor. A store must refuse, with InvalidArgument,
// any cursor it did not produce; it must never crash on one, and never
// silently start the scan over.
import { createHash } from 'node:crypto';
import { InvalidArgument, isStoreKey } from '@cloakroom/core';

/*
 * Cursor: "sq1." + the last id a page returned + "." + a check: SHA-256 of
 * the rest, cut to 11 base64url characters. Paging is by id (keyset paging
 * on the primary key), so the id alone would do; the check makes a cursor
 * that was cut, altered or made up fail instead of resuming elsewhere. It
 * is not a secret: every process sharing the file may resume a scan
 * another began, and a crafted cursor can only position a scan the caller
 * could run anyway. Ids are 43 base64url characters, so no escaping is needed.
 */
const CURSOR = /^sq1\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{11})$/;

function check(id: string): string {
  return createHash('sha256').update(`sq1.${id}`).digest('base64url').slice(0, 11);
}

/**
 * The cursor that resumes after `id`.
 *
 * @example
 * ```ts
 * return { records, cursor: encodeCursor(records[records.length - 1].id) };
 * ```
 */
export function encodeCursor(id: string): string {
  return `sq1.${id}.${check(id)}`;
}

/**
 * The id a cursor resumes after.
 *
 * @throws InvalidArgument for anything {@link encodeCursor} did not produce
 *   (not a string, malformed, altered).
 * @example
 * ```ts
 * const after = cursor === undefined ? undefined : decodeCursor(cursor);
 * ```
 */
export function decodeCursor(cursor: unknown): string {
  const match = typeof cursor === 'string' ? CURSOR.exec(cursor) : null;
  const id = match?.[1];
  if (match === null || !isStoreKey(id) || match[2] !== check(id)) {
    throw new InvalidArgument('scan cursor is not one this store issued');
  }
  return id;
}
