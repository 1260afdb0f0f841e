import { ConfigInvalid } from '@cloakroom/core';
import type Database from 'better-sqlite3';

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Checks a table name before it is spliced into SQL (identifiers cannot be bound as parameters). */
export function checkTableName(name: string, option: string): string {
  if (!TABLE_NAME.test(name)) {
    throw new ConfigInvalid(`${option} must match ${TABLE_NAME.source}`);
  }
  return name;
}

/**
 * One table: the primary key serves `get`, `insert`, CAS and scan paging
 * (ordered by id); the subject index serves `listBySubject` and
 * `deleteBySubject`; the expiry index serves `sweep`. `WITHOUT ROWID`
 * stores rows in id order, which is the order `scan` reads them in.
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

/** The key-set table: one row per name. */
export function createKeySetTable(db: Database.Database, table: string): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS "${table}" (
      name     TEXT    NOT NULL PRIMARY KEY,
      version  INTEGER NOT NULL,
      document BLOB    NOT NULL
    ) WITHOUT ROWID;
  `);
}

/**
 * Opens (or adopts) the database and applies the connection settings the
 * stores rely on: WAL so readers never block the writer, a busy timeout so
 * a locked database fails within a bound instead of at once or never.
 */
export function prepareConnection(db: Database.Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  if (!db.memory) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
}
