import {
  Closed,
  InvalidArgument,
  type SessionRecord,
  type SessionStore,
  StoreConflict,
} from '@cloakroom/core';
import Database from 'better-sqlite3';
import { guarded } from './driver-errors';
import { checkTableName, createSessionTable, prepareConnection } from './schema';

/**
 * Options of {@link createSqliteStore}. Give `filename` or `database`
 * (neither: a private in-memory database).
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
  /** Table name, `[A-Za-z_][A-Za-z0-9_]{0,62}`. @default 'cloakroom_sessions' */
  readonly table?: string;
  /** How long a call waits for a locked database before it throws `StoreUnavailable`. @default 2000 */
  readonly busyTimeoutMs?: number;
  /** Epoch-ms clock that decides expiry. @default Date.now */
  readonly clock?: () => number;
}

/**
 * A {@link SessionStore} over SQLite, plus the table it uses.
 * @example
 * ```ts
 * const store: SqliteStore = createSqliteStore({ filename: './sessions.db' });
 * store.table; // 'cloakroom_sessions'
 * ```
 */
export interface SqliteStore extends SessionStore {
  readonly name: 'sqlite';
  /** The table holding the sessions. */
  readonly table: string;
}

interface Row {
  id: string;
  subject: string;
  expires_at: number;
  version: number;
  payload: Uint8Array;
}

const toRecord = (row: Row): SessionRecord => ({
  id: row.id,
  subject: row.subject,
  expiresAt: row.expires_at,
  version: row.version,
  // A fresh Uint8Array: callers get a copy, and the public type is not Buffer.
  payload: new Uint8Array(row.payload),
});

const params = (r: SessionRecord) => ({
  id: r.id,
  subject: r.subject,
  expires_at: r.expiresAt,
  version: r.version,
  payload: r.payload,
});

/**
 * A session store in one SQLite table (better-sqlite3, WAL mode). Every
 * compare-and-swap is a single conditional statement and `rotate` is one
 * `IMMEDIATE` transaction, so several processes may share the file. SQLite
 * has no expiry of its own: expired rows are filtered out of every read and
 * removed by `sweep(now)`, which the application (or `cloakroom.sweep()`)
 * should call periodically.
 *
 * The schema is created on first use, so building the store never touches
 * a locked database; calls on a database that stays locked longer than
 * `busyTimeoutMs` throw `StoreUnavailable`. better-sqlite3 is synchronous:
 * each call holds the event loop for its query (microseconds on a local
 * disk, up to `busyTimeoutMs` on a locked file).
 *
 * @example
 * ```ts
 * import { createCloakroom } from '@cloakroom/core';
 * import { createSqliteStore } from '@cloakroom/example-store-sqlite';
 *
 * const store = createSqliteStore({ filename: './sessions.db' });
 * const cloakroom = createCloakroom({ store, keys, issuer, audience });
 * setInterval(() => void store.sweep(Date.now()), 60_000).unref();
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const table = checkTableName(options.table ?? 'cloakroom_sessions', 'table');
  const clock = options.clock ?? Date.now;
  const owned = options.database === undefined;
  const db = options.database ?? new Database(options.filename ?? ':memory:');
  let closed = false;
  let statements: ReturnType<typeof prepare> | undefined;

  function prepare() {
    prepareConnection(db, options.busyTimeoutMs ?? 2000);
    createSessionTable(db, table);
    const t = `"${table}"`;
    const cols = 'id, subject, expires_at, version, payload';
    return {
      // Inserts, or takes over the id of an expired row; a live row makes it change nothing.
      insert: db.prepare(
        `INSERT INTO ${t} (${cols}) VALUES (@id, @subject, @expires_at, @version, @payload)
         ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, expires_at = excluded.expires_at,
           version = excluded.version, payload = excluded.payload
         WHERE ${t}.expires_at <= @now`,
      ),
      get: db.prepare(`SELECT ${cols} FROM ${t} WHERE id = ? AND expires_at > ?`),
      replace: db.prepare(
        `UPDATE ${t} SET subject = @subject, expires_at = @expires_at, version = @version, payload = @payload
         WHERE id = @id AND version = @expected AND expires_at > @now`,
      ),
      delete: db.prepare(`DELETE FROM ${t} WHERE id = ? RETURNING expires_at`),
      deleteBySubject: db.prepare(`DELETE FROM ${t} WHERE subject = ? RETURNING expires_at`),
      listBySubject: db.prepare(`SELECT ${cols} FROM ${t} WHERE subject = ? AND expires_at > ?`),
      scanFirst: db.prepare(`SELECT ${cols} FROM ${t} WHERE expires_at > ? ORDER BY id LIMIT ?`),
      scanNext: db.prepare(
        `SELECT ${cols} FROM ${t} WHERE id > ? AND expires_at > ? ORDER BY id LIMIT ?`,
      ),
      sweep: db.prepare(`DELETE FROM ${t} WHERE expires_at <= ?`),
    };
  }

  /** Prepared statements, created on the first call (and retried after a failure). */
  function sql() {
    if (closed) throw new Closed('sqlite store is closed');
    statements ??= prepare();
    return statements;
  }

  const insertLive = (s: ReturnType<typeof prepare>, record: SessionRecord, now: number) => {
    if (s.insert.run({ ...params(record), now }).changes === 0) {
      throw new StoreConflict('a live session with this id already exists');
    }
  };

  const rotateTx = db.transaction(
    (
      s: ReturnType<typeof prepare>,
      old: SessionRecord,
      expected: number,
      next: SessionRecord,
      now: number,
    ) => {
      if (s.replace.run({ ...params(old), expected, now }).changes === 0) return false;
      insertLive(s, next, now); // throws StoreConflict, which rolls the replace back
      return true;
    },
  );

  return {
    name: 'sqlite',
    table,
    capabilities: { nativeExpiry: false, shared: true },

    async insert(record) {
      guarded('insert', () => insertLive(sql(), record, clock()));
    },
    async get(id) {
      const row = guarded('get', () => sql().get.get(id, clock()) as Row | undefined);
      return row ? toRecord(row) : null;
    },
    async replace(record, expectedVersion) {
      return guarded('replace', () => {
        const run = sql().replace.run({
          ...params(record),
          expected: expectedVersion,
          now: clock(),
        });
        return run.changes === 1;
      });
    },
    async rotate(old, next) {
      // IMMEDIATE takes the write lock up front, so no other process can slip between the two writes.
      // sql() runs first: the schema setup cannot happen inside a transaction.
      return guarded('rotate', () =>
        rotateTx.immediate(sql(), old.record, old.expectedVersion, next, clock()),
      );
    },
    async delete(id) {
      return guarded('delete', () => {
        const row = sql().delete.get(id) as { expires_at: number } | undefined;
        return row !== undefined && row.expires_at > clock();
      });
    },
    async deleteBySubject(subject) {
      return guarded('deleteBySubject', () => {
        const now = clock();
        const rows = sql().deleteBySubject.all(subject) as { expires_at: number }[];
        return rows.filter((r) => r.expires_at > now).length;
      });
    },
    async listBySubject(subject) {
      const rows = guarded(
        'listBySubject',
        () => sql().listBySubject.all(subject, clock()) as Row[],
      );
      return rows.map(toRecord);
    },
    async scan({ cursor, limit }) {
      if (!Number.isInteger(limit) || limit < 1)
        throw new InvalidArgument('scan limit must be a positive integer');
      const rows = guarded('scan', () => {
        const s = sql();
        const now = clock();
        return (
          cursor === undefined ? s.scanFirst.all(now, limit) : s.scanNext.all(cursor, now, limit)
        ) as Row[];
      });
      const records = rows.map(toRecord);
      // Keyset paging on the primary key: the cursor is the last id returned, so a record that
      // stays put is seen exactly once whatever is inserted or deleted meanwhile.
      return rows.length < limit ? { records } : { records, cursor: rows[rows.length - 1]!.id };
    },
    async sweep(now) {
      return guarded('sweep', () => sql().sweep.run(now).changes);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) guarded('close', () => db.close());
    },
  };
}
