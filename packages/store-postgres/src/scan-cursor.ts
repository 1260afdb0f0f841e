import { InvalidArgument } from '@cloakroom/core';
import { isStorableText } from './records';

const PREFIX = 'pg1.';

/** The cursor after `id`: opaque to callers, versioned so its shape can change. */
export function encodeCursor(id: string): string {
  return PREFIX + Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a cursor points after; `InvalidArgument` for anything this store did not issue. */
export function decodeCursor(cursor: string): string {
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX)) {
    throw new InvalidArgument('scan cursor is not one this store issued');
  }
  const body = cursor.slice(PREFIX.length);
  const id = Buffer.from(body, 'base64url').toString('utf8');
  // Round-trip check rejects non-canonical base64url and bytes that were not UTF-8.
  if (!/^[A-Za-z0-9_-]*$/.test(body) || encodeCursor(id) !== cursor || !isStorableText(id)) {
    throw new InvalidArgument('scan cursor is not one this store issued');
  }
  return id;
}
