import { Closed, ConfigInvalid, type KeySetStore } from '@cloakroom/core';
import Database from 'better-sqlite3';
import { guarded } from './driver-errors';
import { checkTableName, createKeySetTable, prepareConnection } from './schema';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Options of {@link createSqliteKeySetStore}. Give `filename` or `database`.
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
  /** Table name. @default 'cloakroom_key_sets' */
  readonly table?: string;
  /** @default 2000 */
  readonly busyTimeoutMs?: number;
}

/**
 * A {@link KeySetStore} over SQLite, closable.
 * @example
 * ```ts
 * const keySets: SqliteKeySetStore = createSqliteKeySetStore({ filename: './sessions.db' });
 * await keySets.close();
 * ```
 */
export interface SqliteKeySetStore extends KeySetStore {
  readonly name: 'sqlite';
  /** Closes the connection if the store opened it. Idempotent. */
  close(): Promise<void>;
}

/**
 * Shared rotating key sets in one SQLite table: `write` is a single
 * conditional statement (insert-if-absent, or update-if-version), so the
 * processes sharing the file agree on one winner.
 *
 * @example
 * ```ts
 * const keySets = createSqliteKeySetStore({ filename: './sessions.db' });
 * const ok = await keySets.write('default', sealedDocument, null);
 * ```
 */
export function createSqliteKeySetStore(options: SqliteKeySetStoreOptions): SqliteKeySetStore {
  const table = checkTableName(options.table ?? 'cloakroom_key_sets', 'table');
  const owned = options.database === undefined;
  const db = options.database ?? new Database(options.filename ?? ':memory:');
  let closed = false;
  let statements: ReturnType<typeof prepare> | undefined;

  function prepare() {
    prepareConnection(db, options.busyTimeoutMs ?? 2000);
    createKeySetTable(db, table);
    const t = `"${table}"`;
    return {
      read: db.prepare(`SELECT version, document FROM ${t} WHERE name = ?`),
      create: db.prepare(
        `INSERT INTO ${t} (name, version, document) VALUES (?, 1, ?) ON CONFLICT (name) DO NOTHING`,
      ),
      update: db.prepare(
        `UPDATE ${t} SET version = version + 1, document = ? WHERE name = ? AND version = ?`,
      ),
    };
  }
  function sql() {
    if (closed) throw new Closed('sqlite key-set store is closed');
    statements ??= prepare();
    return statements;
  }
  const checkName = (name: string) => {
    if (typeof name !== 'string' || !NAME.test(name))
      throw new ConfigInvalid(`key-set name must match ${NAME.source}`);
  };

  return {
    name: 'sqlite',
    async read(name) {
      checkName(name);
      const row = guarded(
        'read',
        () => sql().read.get(name) as { version: number; document: Uint8Array } | undefined,
      );
      return row ? { version: row.version, document: new Uint8Array(row.document) } : null;
    },
    async write(name, document, expectedVersion) {
      checkName(name);
      return guarded('write', () => {
        const s = sql();
        const run =
          expectedVersion === null
            ? s.create.run(name, document)
            : s.update.run(document, name, expectedVersion);
        return run.changes === 1;
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) guarded('close', () => db.close());
    },
  };
}
