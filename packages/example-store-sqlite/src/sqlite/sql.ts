// Backend-specific: the text of every statement, prepared once per store.
// Time is always the store's clock passed as a parameter, so the manager and
// the store agree on what has expired.
import type Database from 'better-sqlite3';
import { prepareConnection } from './connection';
import { createKeySetTable, createSessionTable } from './schema';

const COLUMNS = 'id, subject, expires_at, version, payload';

/** The prepared session statements (see {@link prepareSessionStatements} for each one's SQL). */
export interface SessionStatements {
  readonly insert: Database.Statement;
  readonly get: Database.Statement;
  readonly replace: Database.Statement;
  readonly delete: Database.Statement;
  readonly deleteBySubject: Database.Statement;
  readonly listBySubject: Database.Statement;
  readonly scanFirst: Database.Statement;
  readonly scanNext: Database.Statement;
  readonly sweep: Database.Statement;
}

/** The prepared key-set statements (see {@link prepareKeySetStatements}). */
export interface KeySetStatements {
  readonly read: Database.Statement;
  readonly create: Database.Statement;
  readonly update: Database.Statement;
}

/**
 * Creates the sessions table if needed and prepares the session statements.
 *
 * @example
 * ```ts
 * const sql = prepareSessionStatements(db, 'cloakroom_sessions', 2000);
 * sql.get.get(id, now);
 * ```
 */
export function prepareSessionStatements(
  db: Database.Database,
  table: string,
  busyTimeoutMs: number,
): SessionStatements {
  prepareConnection(db, busyTimeoutMs);
  createSessionTable(db, table);
  const t = `"${table}"`;
  return {
    /** Inserts, or takes over the id of an expired row; a live row makes it change nothing. */
    insert: db.prepare(
      `INSERT INTO ${t} (${COLUMNS}) VALUES (@id, @subject, @expires_at, @version, @payload)
       ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, expires_at = excluded.expires_at,
         version = excluded.version, payload = excluded.payload
       WHERE ${t}.expires_at <= @now`,
    ),
    get: db.prepare(`SELECT ${COLUMNS} FROM ${t} WHERE id = ? AND expires_at > ?`),
    /** Compare-and-swap on the version of a live row. */
    replace: db.prepare(
      `UPDATE ${t} SET subject = @subject, expires_at = @expires_at, version = @version, payload = @payload
       WHERE id = @id AND version = @expected AND expires_at > @now`,
    ),
    /** Also removes an expired row; the caller counts only live ones. */
    delete: db.prepare(`DELETE FROM ${t} WHERE id = ? RETURNING expires_at`),
    deleteBySubject: db.prepare(`DELETE FROM ${t} WHERE subject = ? RETURNING expires_at`),
    listBySubject: db.prepare(`SELECT ${COLUMNS} FROM ${t} WHERE subject = ? AND expires_at > ?`),
    /** Keyset paging on the primary key. */
    scanFirst: db.prepare(`SELECT ${COLUMNS} FROM ${t} WHERE expires_at > ? ORDER BY id LIMIT ?`),
    scanNext: db.prepare(
      `SELECT ${COLUMNS} FROM ${t} WHERE id > ? AND expires_at > ? ORDER BY id LIMIT ?`,
    ),
    sweep: db.prepare(`DELETE FROM ${t} WHERE expires_at <= ?`),
  };
}

/**
 * Creates the key-set table if needed and prepares the key-set statements.
 *
 * @example
 * ```ts
 * const sql = prepareKeySetStatements(db, 'cloakroom_key_sets', 2000);
 * sql.read.get('default');
 * ```
 */
export function prepareKeySetStatements(
  db: Database.Database,
  table: string,
  busyTimeoutMs: number,
): KeySetStatements {
  prepareConnection(db, busyTimeoutMs);
  createKeySetTable(db, table);
  const t = `"${table}"`;
  return {
    read: db.prepare(`SELECT version, document FROM ${t} WHERE name = ?`),
    /** Creates only when absent. */
    create: db.prepare(
      `INSERT INTO ${t} (name, version, document) VALUES (?, 1, ?) ON CONFLICT (name) DO NOTHING`,
    ),
    /** Compare-and-swap on the version. */
    update: db.prepare(
      `UPDATE ${t} SET version = version + 1, document = ? WHERE name = ? AND version = ?`,
    ),
  };
}
