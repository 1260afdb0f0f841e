import * as fsp from 'node:fs/promises';

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
