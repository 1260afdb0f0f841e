import { InvalidArgument } from '@cloakroom/core';

/*
 * Cursor: "m1." + store tag + "." + seq in base 36. The per-store random tag
 * makes a cursor from another store (or from before a restart, when seqs
 * start over) fail loudly instead of silently skipping records.
 */
const CURSOR = /^m1\.([0-9a-z]{8})\.([0-9a-z]{1,11})$/;

/** A short random tag identifying one store instance in its cursors. */
export function newCursorTag(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  let tag = '';
  for (const b of bytes) tag += (b % 36).toString(36);
  return tag;
}

export function encodeCursor(tag: string, seq: number): string {
  return `m1.${tag}.${seq.toString(36)}`;
}

/** The seq a cursor resumes after. @throws InvalidArgument for anything this store did not issue. */
export function decodeCursor(tag: string, cursor: unknown): number {
  if (typeof cursor !== 'string') throw new InvalidArgument('scan cursor must be a string');
  const match = CURSOR.exec(cursor);
  if (match === null || match[1] !== tag) {
    throw new InvalidArgument('scan cursor is malformed or belongs to another store');
  }
  const seq = Number.parseInt(match[2] as string, 36);
  if (!Number.isSafeInteger(seq)) throw new InvalidArgument('scan cursor is malformed');
  return seq;
}
