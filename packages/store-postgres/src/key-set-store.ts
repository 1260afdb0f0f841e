import {
  assertKeySetName,
  assertKeySetWrite,
  type KeySetEntry,
  type KeySetStore,
} from '@cloakroom/core';
import { copyBytes, MAX_INT4, rowToKeySetEntry } from './codec';
import { type PostgresKeySetStoreOptions, resolvePostgresKeySetStoreOptions } from './options';
import { createRunner } from './postgres/runner';
import { bind, keySetStatements } from './postgres/sql';

/**
 * A {@link KeySetStore} over the key-set table that {@link migrate} creates,
 * so a fleet shares one rotating key set. Writes are compare-and-swap on the
 * version column: of concurrent writers with the same expected version,
 * exactly one gets `true`.
 *
 * Edge behaviour: a name outside `/^[A-Za-z0-9._-]{1,64}$/`, a document that
 * is not a `Uint8Array` and an `expectedVersion` that is neither `null` nor a
 * positive integer throw `InvalidArgument` (core's `assertKeySetName` and
 * `assertKeySetWrite`, as on every store); an `expectedVersion` beyond the
 * int4 column's range matches nothing and returns `false`. The document is
 * copied when `write` is called. Backend failures throw `StoreUnavailable`
 * with the driver error as `cause`. Options are checked when the store is
 * built (`ConfigInvalid`).
 *
 * @example
 * ```ts
 * import { createPostgresKeySetStore } from '@cloakroom/store-postgres';
 * const keySets = createPostgresKeySetStore({ pool });
 * const entry = await keySets.read('default');
 * await keySets.write('default', sealedDocument, entry?.version ?? null);
 * ```
 */
export function createPostgresKeySetStore(options: PostgresKeySetStoreOptions): KeySetStore {
  const { tables, pool, timeoutMs } = resolvePostgresKeySetStoreOptions(options);
  const runner = createRunner(pool, timeoutMs);
  const sql = keySetStatements(tables.keySetsSql);

  return {
    name: 'postgres',

    async read(name): Promise<KeySetEntry | null> {
      assertKeySetName(name);
      const result = await runner.run((c) => c.query(bind(sql.read, [name])));
      const row = result.rows[0];
      return row ? rowToKeySetEntry(row) : null;
    },

    async write(name, document, expectedVersion) {
      assertKeySetName(name);
      assertKeySetWrite(document, expectedVersion);
      // No stored version reaches the column's maximum, so nothing can match it.
      if (expectedVersion !== null && expectedVersion >= MAX_INT4) return false;
      const bytes = copyBytes(document);
      const result = await runner.run((c) =>
        c.query(
          expectedVersion === null
            ? bind(sql.create, [name, bytes])
            : bind(sql.swap, [name, bytes, expectedVersion]),
        ),
      );
      return result.rowCount === 1;
    },
  };
}
