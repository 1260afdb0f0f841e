import { isCloakroomError, StoreUnavailable } from '@cloakroom/core';

/**
 * Runs a synchronous database call and turns any driver failure (busy or
 * locked database, I/O error, full disk, closed handle) into
 * `StoreUnavailable`, keeping the driver error as `cause`. Cloakroom errors
 * the store throws on purpose (`StoreConflict`, `Closed`) pass through.
 */
export function guarded<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isCloakroomError(err)) throw err;
    const code = (err as { code?: unknown }).code;
    // The driver's message names the failure (e.g. "database is locked"), never row data.
    throw new StoreUnavailable(
      `sqlite ${operation} failed${typeof code === 'string' ? ` (${code})` : ''}`,
      {
        cause: err,
      },
    );
  }
}
