import {
  ConfigInvalid,
  InvalidArgument,
  type KeySetEntry,
  type KeySetStore,
} from '@cloakroom/core';
import type { Pool } from 'pg';
import { type PostgresTableOptions, resolveTables } from './identifiers';
import { fromBytea, toBytea } from './records';
import { createRunner } from './runner';
import { bind, statement } from './session-sql';

/**
 * Options for {@link createPostgresKeySetStore}.
 *
 * @example
 * ```ts
 * const options: PostgresKeySetStoreOptions = { pool, schema: 'auth' };
 * ```
 */
export interface PostgresKeySetStoreOptions extends PostgresTableOptions {
  /** A node-postgres pool you created; never ended by the store. */
  readonly pool: Pool;
  /**
   * Upper bound on one call in milliseconds (connection wait plus statement);
   * past it the call throws `StoreUnavailable`.
   * @default 5000
   */
  readonly statementTimeoutMs?: number;
}

const KEY_SET_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A {@link KeySetStore} over the key-set table that {@link migrate} creates,
 * so a fleet shares one rotating key set. Writes are compare-and-swap on the
 * version column: of concurrent writers with the same expected version,
 * exactly one gets `true`. Names outside `[A-Za-z0-9._-]{1,64}` throw
 * `ConfigInvalid`; a non-integer `expectedVersion` throws `InvalidArgument`;
 * backend failures throw `StoreUnavailable` with `cause`.
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
  const tables = resolveTables(options);
  if (!options.pool) throw new ConfigInvalid('createPostgresKeySetStore needs a pool');
  const timeoutMs = options.statementTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new ConfigInvalid('statementTimeoutMs must be a positive integer');
  }
  const runner = createRunner(options.pool, timeoutMs);
  const t = tables.keySetsSql;
  const read = statement(`SELECT version, document FROM ${t} WHERE name = $1`);
  const create = statement(
    `INSERT INTO ${t} (name, version, document) VALUES ($1, 1, $2::bytea) ON CONFLICT (name) DO NOTHING`,
  );
  const swap = statement(
    `UPDATE ${t} SET version = version + 1, document = $2::bytea WHERE name = $1 AND version = $3::int4`,
  );

  const checkName = (name: string) => {
    if (typeof name !== 'string' || !KEY_SET_NAME.test(name)) {
      throw new ConfigInvalid(`key-set name must match ${KEY_SET_NAME}`);
    }
  };

  return {
    name: 'postgres',

    async read(name): Promise<KeySetEntry | null> {
      checkName(name);
      const result = await runner.run((c) => c.query(bind(read, [name])));
      const row = result.rows[0];
      return row ? { version: Number(row.version), document: fromBytea(row.document) } : null;
    },

    async write(name, document, expectedVersion) {
      checkName(name);
      if (!(document instanceof Uint8Array))
        throw new InvalidArgument('document must be a Uint8Array');
      if (expectedVersion !== null && !Number.isInteger(expectedVersion)) {
        throw new InvalidArgument('expectedVersion must be an integer or null');
      }
      if (expectedVersion !== null && (expectedVersion < 1 || expectedVersion >= 2_147_483_647)) {
        return false;
      }
      const result = await runner.run((c) =>
        c.query(
          expectedVersion === null
            ? bind(create, [name, toBytea(document)])
            : bind(swap, [name, toBytea(document), expectedVersion]),
        ),
      );
      return result.rowCount === 1;
    },
  };
}
