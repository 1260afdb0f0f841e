// Role: the SessionStore itself. Each method follows one order, which is
// what an author should copy: (1) refuse calls after close(), (2) check the
// arguments with core's helpers, (3) encode with codec.ts, (4) run the
// backend call inside guarded() so driver failures become StoreUnavailable,
// (5) decode with codec.ts.
import {
  assertRecordVersion,
  assertSessionRecord,
  Closed,
  InvalidArgument,
  isStoreKey,
  type SessionRecord,
  type SessionStore,
  StoreConflict,
} from '@cloakroom/core';
import { recordParams, rowToRecord, type SessionRow } from './codec';
import { guarded } from './errors';
import { resolveSqliteOptions, type SqliteStoreOptions } from './options';
import { decodeCursor, encodeCursor } from './scan-cursor';
import { openDatabase } from './sqlite/connection';
import { prepareSessionStatements, type SessionStatements } from './sqlite/sql';

/**
 * A {@link SessionStore} over SQLite, plus the table it uses.
 *
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
  /**
   * Remove the rows expired at `now` (epoch ms) and return how many were
   * removed. Always present: SQLite has no expiry of its own.
   * @throws InvalidArgument when `now` is not a finite number.
   */
  sweep(now: number): Promise<number>;
}

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
 * `busyTimeoutMs` throw `StoreUnavailable` (driver error as `cause`).
 * better-sqlite3 is synchronous: each call holds the event loop for its
 * query (microseconds on a local disk, up to `busyTimeoutMs` on a locked
 * file).
 *
 * Edge behaviour: a malformed record, `expectedVersion`, scan `limit` or
 * cursor throws `InvalidArgument` and changes nothing; an id or subject
 * index that is not 43 characters of `[A-Za-z0-9_-]` is answered as missing
 * (`null`, `false`, `0`, `[]`) without a query; after `close()` every method
 * but `close()` throws `Closed`. A `database` you pass in is never closed.
 *
 * @throws ConfigInvalid for an invalid option (unknown key, bad table name,
 *   negative `busyTimeoutMs`, both `filename` and `database`).
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
export function createSqliteStore(options?: SqliteStoreOptions): SqliteStore {
  const { source, table, busyTimeoutMs, clock } = resolveSqliteOptions(
    options,
    'cloakroom_sessions',
  );
  const { db, owned } = openDatabase(source);
  let closed = false;
  let statements: SessionStatements | undefined;

  const open = (): void => {
    if (closed) throw new Closed('sqlite store is closed');
  };
  /** Prepared statements, created on the first call (and retried after a failure). */
  const sql = (): SessionStatements => {
    statements ??= prepareSessionStatements(db, table, busyTimeoutMs);
    return statements;
  };

  const insertLive = (s: SessionStatements, record: SessionRecord, now: number): void => {
    if (s.insert.run({ ...recordParams(record), now }).changes === 0) {
      throw new StoreConflict('a live session with this id already exists');
    }
  };

  // IMMEDIATE takes the write lock up front, so no other process can slip
  // between the two writes; StoreConflict from the insert rolls the swap back.
  const rotateTx = db.transaction(
    (
      s: SessionStatements,
      old: SessionRecord,
      expected: number,
      next: SessionRecord,
      now: number,
    ): boolean => {
      if (s.replace.run({ ...recordParams(old), expected, now }).changes === 0) return false;
      insertLive(s, next, now);
      return true;
    },
  );

  return {
    name: 'sqlite',
    table,
    capabilities: Object.freeze({ nativeExpiry: false, shared: true }),

    async insert(record) {
      open();
      assertSessionRecord(record);
      guarded('insert', () => insertLive(sql(), record, clock()));
    },

    async get(id) {
      open();
      if (!isStoreKey(id)) return null;
      const row = guarded('get', () => sql().get.get(id, clock()) as SessionRow | undefined);
      return row === undefined ? null : rowToRecord(row);
    },

    async replace(record, expectedVersion) {
      open();
      assertSessionRecord(record);
      assertRecordVersion(expectedVersion, 'expectedVersion');
      return guarded('replace', () => {
        const params = { ...recordParams(record), expected: expectedVersion, now: clock() };
        return sql().replace.run(params).changes === 1;
      });
    },

    async rotate(old, next) {
      open();
      if (typeof old !== 'object' || old === null) {
        throw new InvalidArgument('old must be { record, expectedVersion }');
      }
      assertSessionRecord(old.record, 'old.record');
      assertRecordVersion(old.expectedVersion, 'old.expectedVersion');
      assertSessionRecord(next, 'next');
      // sql() runs first: the schema setup cannot happen inside a transaction.
      return guarded('rotate', () =>
        rotateTx.immediate(sql(), old.record, old.expectedVersion, next, clock()),
      );
    },

    async delete(id) {
      open();
      if (!isStoreKey(id)) return false;
      return guarded('delete', () => {
        const row = sql().delete.get(id) as { expires_at: number } | undefined;
        return row !== undefined && row.expires_at > clock();
      });
    },

    async deleteBySubject(subject) {
      open();
      if (!isStoreKey(subject)) return 0;
      return guarded('deleteBySubject', () => {
        const now = clock();
        const rows = sql().deleteBySubject.all(subject) as { expires_at: number }[];
        return rows.filter((r) => r.expires_at > now).length;
      });
    },

    async listBySubject(subject) {
      open();
      if (!isStoreKey(subject)) return [];
      const rows = guarded(
        'listBySubject',
        () => sql().listBySubject.all(subject, clock()) as SessionRow[],
      );
      return rows.map(rowToRecord);
    },

    async scan(scanOptions) {
      open();
      if (typeof scanOptions !== 'object' || scanOptions === null) {
        throw new InvalidArgument('scan options must be { cursor?, limit }');
      }
      const { cursor, limit } = scanOptions;
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new InvalidArgument('scan limit must be a positive integer');
      }
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const rows = guarded('scan', () => {
        const s = sql();
        const now = clock();
        return (
          after === undefined ? s.scanFirst.all(now, limit) : s.scanNext.all(after, now, limit)
        ) as SessionRow[];
      });
      const records = rows.map(rowToRecord);
      const last = records[records.length - 1];
      // Keyset paging on the primary key: the cursor is the last id returned, so a record that
      // stays put is seen exactly once whatever is inserted or deleted meanwhile.
      return records.length < limit || last === undefined
        ? { records }
        : { records, cursor: encodeCursor(last.id) };
    },

    async sweep(now) {
      open();
      if (typeof now !== 'number' || !Number.isFinite(now)) {
        throw new InvalidArgument('sweep time must be a finite number of epoch milliseconds');
      }
      return guarded('sweep', () => sql().sweep.run(now).changes);
    },

    async close() {
      if (closed) return;
      closed = true;
      if (owned) guarded('close', () => db.close());
    },
  };
}
