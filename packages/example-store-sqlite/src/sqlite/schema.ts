// Backend-specific: the tables and their indexes.
// Table names reach this file only after options.ts checked them.
import type Database from 'better-sqlite3';

/**
 * One table: the primary key serves `get`, `insert`, CAS and scan paging
 * (ordered by id); the subject index serves `listBySubject` and
 * `deleteBySubject`; the expiry index serves `sweep`. `WITHOUT ROWID`
 * stores rows in id order, which is the order `scan` reads them in.
 *
 * @example
 * ```ts
 * createSessionTable(db, 'cloakroom_sessions');
 * ```
 */
export function createSessionTable(db: Database.Database, table: string): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS "${table}" (
      id         TEXT    NOT NULL PRIMARY KEY,
      subject    TEXT    NOT NULL,
      expires_at INTEGER NOT NULL,
      version    INTEGER NOT NULL,
      payload    BLOB    NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS "${table}_subject" ON "${table}" (subject);
    CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON "${table}" (expires_at);
  `);
}

/**
 * The key-set table: one row per name.
 *
 * @example
 * ```ts
 * createKeySetTable(db, 'cloakroom_key_sets');
 * ```
 */
export function createKeySetTable(db: Database.Database, table: string): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS "${table}" (
      name     TEXT    NOT NULL PRIMARY KEY,
      version  INTEGER NOT NULL,
      document BLOB    NOT NULL
    ) WITHOUT ROWID;
  `);
}
