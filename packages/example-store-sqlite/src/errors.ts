// Role: every failure of the driver becomes StoreUnavailable with the
// driver's error as `cause`, so the application can tell "the backend is
// down" from "no such session" and an operator can still see what happened.
import { isCloakroomError, StoreUnavailable } from '@cloakroom/core';

/**
 * Runs a synchronous database call and turns any driver failure (busy or
 * locked database, I/O error, full disk, closed handle) into
 * `StoreUnavailable`, keeping the driver error as `cause`. Cloakroom errors
 * the store throws on purpose (`StoreConflict`, `Closed`, `StoreDataInvalid`)
 * pass through unchanged.
 *
 * The message names the operation and the driver's error code
 * (`SQLITE_BUSY`), never a value: a driver message could quote row data.
 *
 * @example
 * ```ts
 * const row = guarded('get', () => statements.get.get(id, now));
 * ```
 */
export function guarded<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toStoreError(operation, err);
  }
}

/**
 * The typed error for anything the driver threw during `operation`.
 *
 * @example
 * ```ts
 * try { db.close(); } catch (err) { throw toStoreError('close', err); }
 * ```
 */
export function toStoreError(operation: string, err: unknown): Error {
  if (isCloakroomError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const shown = typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? ` (${code})` : '';
  return new StoreUnavailable(`sqlite ${operation} failed${shown}`, { cause: err });
}
