// Role: the KeySetStore, in the same order as session-store.ts: refuse
// calls after close(), check with core's helpers, run the backend call
// inside guarded(), decode with codec.ts.
import { assertKeySetName, assertKeySetWrite, Closed, type KeySetStore } from '@cloakroom/core';
import { rowToKeySetEntry } from './codec';
import { guarded } from './errors';
import { resolveSqliteOptions, type SqliteKeySetStoreOptions } from './options';
import { openDatabase } from './sqlite/connection';
import { type KeySetStatements, prepareKeySetStatements } from './sqlite/sql';

/**
 * A {@link KeySetStore} over SQLite, closable.
 *
 * @example
 * ```ts
 * const keySets: SqliteKeySetStore = createSqliteKeySetStore({ filename: './sessions.db' });
 * await keySets.close();
 * ```
 */
export interface SqliteKeySetStore extends KeySetStore {
  readonly name: 'sqlite';
  /** Closes the connection if the store opened it. Idempotent; later calls throw `Closed`. */
  close(): Promise<void>;
}

/**
 * Shared rotating key sets in one SQLite table: `write` is a single
 * conditional statement (insert-if-absent, or update-if-version), so the
 * processes sharing the file agree on one winner.
 *
 * Edge behaviour: a name outside `/^[A-Za-z0-9._-]{1,64}$/`, a document that
 * is not a `Uint8Array` and an `expectedVersion` that is neither `null` nor a
 * positive integer throw `InvalidArgument`; driver failures throw
 * `StoreUnavailable` (cause kept); after `close()`, `read` and `write` throw `Closed`.
 *
 * @throws ConfigInvalid for an invalid option.
 * @example
 * ```ts
 * const keySets = createSqliteKeySetStore({ filename: './sessions.db' });
 * const ok = await keySets.write('default', sealedDocument, null);
 * ```
 */
export function createSqliteKeySetStore(options?: SqliteKeySetStoreOptions): SqliteKeySetStore {
  const { source, table, busyTimeoutMs } = resolveSqliteOptions(options, 'cloakroom_key_sets');
  const { db, owned } = openDatabase(source);
  let closed = false;
  let statements: KeySetStatements | undefined;

  const open = (): void => {
    if (closed) throw new Closed('sqlite key-set store is closed');
  };
  const sql = (): KeySetStatements => {
    statements ??= prepareKeySetStatements(db, table, busyTimeoutMs);
    return statements;
  };

  return {
    name: 'sqlite',

    async read(name) {
      open();
      assertKeySetName(name);
      const row = guarded(
        'read',
        () => sql().read.get(name) as { version: unknown; document: unknown } | undefined,
      );
      return row === undefined ? null : rowToKeySetEntry(row);
    },

    async write(name, document, expectedVersion) {
      open();
      assertKeySetName(name);
      assertKeySetWrite(document, expectedVersion);
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
