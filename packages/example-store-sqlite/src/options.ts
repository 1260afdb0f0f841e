// Role: the options a user passes, their defaults, and their validation.
// Everything wrong with the configuration is reported here, once, as
// ConfigInvalid, before the store touches the database.
import { ConfigInvalid } from '@cloakroom/core';
import type Database from 'better-sqlite3';

/**
 * Options of {@link createSqliteStore}. Give `filename` or `database`
 * (neither: a private in-memory database).
 *
 * @example
 * ```ts
 * const options: SqliteStoreOptions = { filename: './sessions.db', busyTimeoutMs: 1000 };
 * ```
 */
export interface SqliteStoreOptions {
  /** Database file to open (created if missing). The store closes what it opened. */
  readonly filename?: string;
  /** A connection you opened yourself; the store never closes it. */
  readonly database?: Database.Database;
  /**
   * Table name, `[A-Za-z_][A-Za-z0-9_]{0,62}`.
   * @default 'cloakroom_sessions'
   */
  readonly table?: string;
  /**
   * How long a call waits for a locked database before it throws `StoreUnavailable`.
   * @default 2000
   */
  readonly busyTimeoutMs?: number;
  /**
   * Epoch-ms clock that decides expiry.
   * @default Date.now
   */
  readonly clock?: () => number;
}

/**
 * Options of {@link createSqliteKeySetStore}. Give `filename` or `database`.
 *
 * @example
 * ```ts
 * const options: SqliteKeySetStoreOptions = { filename: './sessions.db' };
 * ```
 */
export interface SqliteKeySetStoreOptions {
  /** Database file to open (created if missing). The store closes what it opened. */
  readonly filename?: string;
  /** A connection you opened yourself; the store never closes it. */
  readonly database?: Database.Database;
  /**
   * Table name, `[A-Za-z_][A-Za-z0-9_]{0,62}`.
   * @default 'cloakroom_key_sets'
   */
  readonly table?: string;
  /**
   * How long a call waits for a locked database before it throws `StoreUnavailable`.
   * @default 2000
   */
  readonly busyTimeoutMs?: number;
}

/** Options with defaults applied and every value checked. Internal. */
export interface ResolvedSqliteOptions {
  /** The connection given, or the file (`:memory:` by default) the store opens and owns. */
  readonly source: { readonly database: Database.Database } | { readonly filename: string };
  readonly table: string;
  readonly busyTimeoutMs: number;
  readonly clock: () => number;
}

// Table names are spliced into SQL (identifiers cannot be bound as
// parameters), so only this shape is allowed, and it is always double-quoted.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const KNOWN = new Set(['filename', 'database', 'table', 'busyTimeoutMs', 'clock']);

/**
 * Applies defaults and validates.
 *
 * @param defaultTable the table used when `options.table` is absent.
 * @throws ConfigInvalid naming the bad option (never a secret: options hold none).
 * @example
 * ```ts
 * const { source, table } = resolveSqliteOptions(options, 'cloakroom_sessions');
 * ```
 */
export function resolveSqliteOptions(
  options: SqliteStoreOptions | SqliteKeySetStoreOptions | undefined,
  defaultTable: string,
): ResolvedSqliteOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw new ConfigInvalid('sqlite store options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ConfigInvalid(`unknown sqlite store option "${key}"`);
  }
  const o = options as SqliteStoreOptions;
  const table = o.table ?? defaultTable;
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw new ConfigInvalid(`table must match ${TABLE_NAME.source}`);
  }
  const busyTimeoutMs = o.busyTimeoutMs ?? 2000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new ConfigInvalid('busyTimeoutMs must be a non-negative integer');
  }
  const clock = o.clock ?? Date.now;
  if (typeof clock !== 'function') {
    throw new ConfigInvalid('clock must be a function returning epoch milliseconds');
  }
  if (o.database !== undefined && o.filename !== undefined) {
    throw new ConfigInvalid('give either filename or database, not both');
  }
  if (o.filename !== undefined && (typeof o.filename !== 'string' || o.filename === '')) {
    throw new ConfigInvalid('filename must be a non-empty string');
  }
  const source =
    o.database !== undefined ? { database: o.database } : { filename: o.filename ?? ':memory:' };
  return { source, table, busyTimeoutMs, clock };
}
