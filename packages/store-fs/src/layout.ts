import { join } from 'node:path';

/** Session ids and subject indexes: 43 base64url characters (a SHA-256 or HMAC-SHA-256). */
const KEY = /^[A-Za-z0-9_-]{43}$/;
/** Key-set names, as the `KeySetStore` contract allows them. */
const KEY_SET_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * True when `value` is safe to use as a file name: exactly 43 characters from
 * `[A-Za-z0-9_-]`. No dot, slash, NUL or glob character can pass, so a path
 * built from it never leaves its directory (SEC-03).
 */
export function isKey(value: unknown): value is string {
  return typeof value === 'string' && value.length === 43 && KEY.test(value);
}

/** True when `value` is a valid key-set name. */
export function isKeySetName(value: unknown): value is string {
  return typeof value === 'string' && KEY_SET_NAME.test(value);
}

export const RECORD_SUFFIX = '.rec';
export const LOCK_SUFFIX = '.lock';
export const TEMP_SUFFIX = '.tmp';

/**
 * Where everything lives under the root. Every function takes an already
 * validated key; nothing here sees caller text that has not passed {@link isKey}.
 *
 * ```
 * <root>/s/<id[0..2]>/<id>.rec          record
 * <root>/s/<id[0..2]>/<id>.lock         per-record lock (hard link, O_EXCL semantics)
 * <root>/s/<id[0..2]>/.<id>.<rand>.tmp  write in progress (renamed over .rec)
 * <root>/x/<sub[0..2]>/<sub>/<id>       subject index marker (empty file)
 * <root>/k/<name>.ks, <name>.lock       key sets
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
  };
}
