import { isCloakroomError, StoreConflict, StoreUnavailable } from '@cloakroom/core';

/** Thrown internally when a call runs past its deadline. */
export class DeadlineExceeded extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer from PostgreSQL within ${timeoutMs} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/** The SQLSTATE of a server error, or `undefined` for socket and client errors. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Serialization failures and deadlocks: the server rolled the statement or
 * transaction back, so running it again is safe and yields the contract's
 * answer (false or a conflict) instead of a raw driver error.
 */
export function isRetryable(err: unknown): boolean {
  const state = sqlState(err);
  return state === '40001' || state === '40P01';
}

/**
 * True when the connection can go back to the pool after `err`: our own
 * typed answers and ordinary SQL errors leave it usable; socket errors,
 * timeouts and connection-class SQLSTATEs (08, 53, 57, 58, XX) do not.
 */
export function leavesConnectionUsable(err: unknown): boolean {
  if (isCloakroomError(err)) return true;
  const state = sqlState(err);
  return state !== undefined && !/^(08|53|57|58|XX)/.test(state);
}

/**
 * Turns anything the driver threw into the contract's typed errors, keeping
 * it as `cause`. Messages name the SQLSTATE, never a value or payload.
 */
export function toStoreError(err: unknown): Error {
  if (isCloakroomError(err)) return err;
  if (err instanceof DeadlineExceeded) {
    return new StoreUnavailable(`PostgreSQL did not answer within ${err.timeoutMs} ms`, {
      cause: err,
    });
  }
  const state = sqlState(err);
  switch (state) {
    case '23505':
      return new StoreConflict('a live record with this id already exists', { cause: err });
    case '42P01':
    case '3F000':
      return new StoreUnavailable(
        `store table or schema missing (SQLSTATE ${state}): run migrate() first`,
        { cause: err },
      );
    case '42703':
      // The table predates a migration this release needs (the seat column of migration 3).
      return new StoreUnavailable(
        'store table is missing a column (SQLSTATE 42703): run migrate() first',
        { cause: err },
      );
    case '42501':
      return new StoreUnavailable(
        'permission denied on a store table (SQLSTATE 42501): grant SELECT, INSERT, UPDATE, DELETE',
        { cause: err },
      );
    case undefined:
      return new StoreUnavailable('PostgreSQL connection failed', { cause: err });
    default:
      return new StoreUnavailable(`PostgreSQL request failed (SQLSTATE ${state})`, {
        cause: err,
      });
  }
}
