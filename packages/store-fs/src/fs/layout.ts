import { join } from 'node:path';

export const RECORD_SUFFIX = '.rec';
export const LOCK_SUFFIX = '.lock';
export const TEMP_SUFFIX = '.tmp';
/** Suffix of the short-lived lock that serialises breakers of an abandoned lock. */
export const BREAK_SUFFIX = '.break';

/**
 * Where everything lives under the root. Every function takes an already
 * validated key; nothing here sees caller text that has not passed core's
 * `isStoreKey` (43 characters of `[A-Za-z0-9_-]`: no dot, slash, NUL or glob
 * character, so a path built from one never leaves its directory, SEC-03).
 *
 * ```
 * <root>/s/<id[0..2]>/<id>.rec          record
 * <root>/s/<id[0..2]>/<id>.lock         per-record lock (symbolic link naming its owner)
 * <root>/s/<id[0..2]>/<id>.lock.break   held for a few system calls while a lock is broken
 * <root>/s/<id[0..2]>/.<name>.<tag>.tmp write in progress (renamed over <name>), or a lock being removed
 * <root>/cursor.key                     key that authenticates scan cursors
 * <root>/x/<sub[0..2]>/<sub>/<id>       subject index marker (empty file)
 * <root>/x/<sub[0..2]>/<sub>.lock        subject lock, held by `insertWithLimit` (and its .break and .tmp files)
 * <root>/k/<name>.ks, <name>.lock       key sets (and their .break and .tmp files)
 * ```
 */
export interface Layout {
  readonly root: string;
  readonly records: string;
  readonly subjects: string;
  readonly keySets: string;
  shardOf(id: string): string;
  recordPath(id: string): string;
  lockPath(id: string): string;
  subjectDir(subject: string): string;
  markerPath(subject: string, id: string): string;
  subjectLockPath(subject: string): string;
}

export function layoutOf(root: string): Layout {
  const records = join(root, 's');
  const subjects = join(root, 'x');
  const keySets = join(root, 'k');
  const shardOf = (id: string): string => join(records, id.slice(0, 2));
  const subjectDir = (subject: string): string => join(subjects, subject.slice(0, 2), subject);
  return {
    root,
    records,
    subjects,
    keySets,
    shardOf,
    recordPath: (id) => join(shardOf(id), id + RECORD_SUFFIX),
    lockPath: (id) => join(shardOf(id), id + LOCK_SUFFIX),
    subjectDir,
    markerPath: (subject, id) => join(subjectDir(subject), id),
    subjectLockPath: (subject) => subjectDir(subject) + LOCK_SUFFIX,
  };
}
