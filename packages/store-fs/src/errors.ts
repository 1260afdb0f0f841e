import { isCloakroomError, StoreDataInvalid, StoreUnavailable } from '@cloakroom/core';

/** The errno code of a Node.js system error (`'ENOENT'`, `'EIO'`, …), if any. */
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

/** A record file that fails its checksum or format; the message names the id (a hash), nothing else. */
export function corruptRecord(id: string): StoreDataInvalid {
  return new StoreDataInvalid(
    `fs store: record file for session ${id} is corrupt or not a record (checksum or format mismatch)`,
  );
}

/** A key-set file that fails its checksum or format. */
export function corruptKeySet(name: string): StoreDataInvalid {
  return new StoreDataInvalid(`fs key-set store: file for key set "${name}" is corrupt`);
}
