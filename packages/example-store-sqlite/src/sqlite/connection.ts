// Backend-specific: opening the database and the connection settings the
// stores rely on.
import Database from 'better-sqlite3';
import { guarded } from '../errors';
import type { ResolvedSqliteOptions } from '../options';

/**
 * The connection the options name, and whether the store owns it (and so
 * closes it): a `database` the caller passed is never closed by the store.
 *
 * @throws StoreUnavailable (cause: the driver error) when the file cannot be opened.
 * @example
 * ```ts
 * const { db, owned } = openDatabase(resolved.source);
 * ```
 */
export function openDatabase(source: ResolvedSqliteOptions['source']): {
  db: Database.Database;
  owned: boolean;
} {
  if ('database' in source) return { db: source.database, owned: false };
  return { db: guarded('open', () => new Database(source.filename)), owned: true };
}

/**
 * Applies the connection settings the stores rely on: WAL so readers never
 * block the writer, a busy timeout so a locked database fails within a bound
 * instead of at once or never.
 *
 * @example
 * ```ts
 * prepareConnection(db, 2000);
 * ```
 */
export function prepareConnection(db: Database.Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  if (!db.memory) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
}
