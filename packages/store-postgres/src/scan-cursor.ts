import { createHash } from 'node:crypto';
import { InvalidArgument } from '@cloakroom/core';
import { isStorableText } from './codec';

/*
 * Cursor: "pg2." + the last id a page returned, base64url, + "." + a check:
 * SHA-256 of the rest, cut to 11 base64url characters (66 bits). Paging is
 * by id, so the id alone would do; the check makes a cursor that was cut,
 * altered or made up fail with InvalidArgument instead of resuming the scan
 * somewhere else. It is not a secret: any process sharing the table may
 * resume a scan another began, and a cursor crafted deliberately can only
 * position a scan the caller could run anyway.
 */
const PREFIX = 'pg2.';
const CURSOR = /^pg2\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{11})$/;

function check(body: string): string {
  return createHash('sha256').update(PREFIX).update(body).digest('base64url').slice(0, 11);
}

/**
 * The cursor after `id`: opaque to callers, versioned so its shape can change.
 *
 * @example
 * ```ts
 * const cursor = encodeCursor(lastRecord.id);
 * ```
 */
export function encodeCursor(id: string): string {
  const body = Buffer.from(id, 'utf8').toString('base64url');
  return `${PREFIX}${body}.${check(body)}`;
}

/**
 * The id a cursor points after.
 *
 * @throws InvalidArgument for anything {@link encodeCursor} did not produce
 *   (not a string, malformed, altered, non-canonical).
 * @example
 * ```ts
 * const after = decodeCursor(options.cursor);
 * ```
 */
export function decodeCursor(cursor: unknown): string {
  const match = typeof cursor === 'string' ? CURSOR.exec(cursor) : null;
  const body = match?.[1];
  if (match === null || body === undefined || match[2] !== check(body)) {
    throw new InvalidArgument('scan cursor is not one this store issued');
  }
  const id = Buffer.from(body, 'base64url').toString('utf8');
  // Round trip rejects non-canonical base64url and bytes that were not UTF-8.
  if (id === '' || encodeCursor(id) !== cursor || !isStorableText(id)) {
    throw new InvalidArgument('scan cursor is not one this store issued');
  }
  return id;
}
