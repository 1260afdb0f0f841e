import * as fsp from 'node:fs/promises';
import { isCloakroomError, StoreUnavailable } from '@cloakroom/core';

/**
 * The file-system calls the store makes, gathered so a test can inject the
 * failures a real disk produces (ENOSPC, EROFS, EIO) without root tricks.
 * Internal: not part of the public API.
 */
export type Io = Pick<
  typeof fsp,
  | 'open'
  | 'readFile'
  | 'rename'
  | 'unlink'
  | 'link'
  | 'symlink'
  | 'readlink'
  | 'lstat'
  | 'mkdir'
  | 'chmod'
  | 'readdir'
  | 'stat'
  | 'rmdir'
>;

/** The real file system. */
export const nodeIo: Io = fsp;

/** The errno code of a Node.js system error, if any. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for "no such file or directory". */
export function isMissing(err: unknown): boolean {
  return errnoOf(err) === 'ENOENT';
}

/**
 * Wrap an I/O failure as `StoreUnavailable`, keeping the original error as
 * `cause`. Cloakroom errors pass through untouched. The message names the
 * operation and errno code only, never record contents.
 */
export function unavailable(operation: string, err: unknown): Error {
  if (isCloakroomError(err)) return err;
  const code = errnoOf(err) ?? 'unknown error';
  return new StoreUnavailable(`fs store: ${operation} failed (${code})`, { cause: err });
}
