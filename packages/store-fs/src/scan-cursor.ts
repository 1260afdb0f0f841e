import { createHmac } from 'node:crypto';
import { InvalidArgument, isStoreKey, timingSafeEqual } from '@cloakroom/core';

/*
 * Cursor: "fs1." + the last id a page examined + "." + a tag: HMAC-SHA-256
 * of the rest under the directory's cursor key (`<root>/cursor.key`), cut to
 * 16 base64url characters (96 bits). The key lives with the data, so a cursor
 * works in any process over the same directory and after a restart (an
 * interrupted `rewrap` resumes from a new process); a cursor made up, altered,
 * or issued for another directory fails loudly instead of silently skipping
 * or repeating records.
 */
const PREFIX = 'fs1.';
// The id's own shape is core's to define (isStoreKey).
const CURSOR = /^fs1\.([^.]+)\.([A-Za-z0-9_-]{16})$/;

function tag(key: Uint8Array, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url').slice(0, 16);
}

/** The cursor that resumes a scan after record `id`. */
export function encodeCursor(key: Uint8Array, id: string): string {
  const body = PREFIX + id;
  return `${body}.${tag(key, body)}`;
}

/**
 * The id a cursor resumes after.
 * @throws InvalidArgument for anything a store over this directory did not
 *   issue (not a string, malformed, altered, from another directory).
 */
export function decodeCursor(key: Uint8Array, cursor: unknown): string {
  if (typeof cursor !== 'string')
    throw new InvalidArgument('fs store: scan cursor must be a string');
  const match = CURSOR.exec(cursor);
  const id = match?.[1];
  const given = match?.[2];
  if (!isStoreKey(id) || given === undefined || !timingSafeEqual(given, tag(key, PREFIX + id))) {
    throw new InvalidArgument(
      'fs store: scan cursor is not one a store over this directory issued',
    );
  }
  return id;
}
