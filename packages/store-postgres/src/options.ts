import { ConfigInvalid } from '@cloakroom/core';
import type { ClientConfig, Pool, PoolConfig } from 'pg';
import { checkIdentifier, quoteIdentifier } from './postgres/identifiers';

/**
 * Where the store keeps its tables. Every name is checked against
 * {@link IDENTIFIER_PATTERN} and always double-quoted in SQL, so a name can
 * never carry SQL of its own.
 *
 * @example
 * ```ts
 * const names: PostgresTableOptions = { schema: 'auth', table: 'sessions', keySetTable: 'key_sets' };
 * await migrate(pool, names);
 * const store = createPostgresStore({ pool, ...names });
 * ```
 */
export interface PostgresTableOptions {
  /**
   * Schema holding the tables.
   * @default 'public'
   */
  readonly schema?: string;
  /**
   * Sessions table.
   * @default 'cloakroom_sessions'
   */
  readonly table?: string;
  /**
   * Key-set table (see `createPostgresKeySetStore`).
   * @default 'cloakroom_key_sets'
   */
  readonly keySetTable?: string;
  /**
   * Table recording which migrations ran (see `migrate`).
   * @default 'cloakroom_migrations'
   */
  readonly migrationsTable?: string;
}

/**
 * Options for {@link createPostgresStore}. Give exactly one of `pool` and
 * `connectionString`; names are validated as for {@link PostgresTableOptions}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { pool, schema: 'auth', statementTimeoutMs: 2000 };
 * ```
 */
export interface PostgresStoreOptions extends PostgresTableOptions {
  /**
   * A node-postgres pool you created (with your TLS, `max`,
   * `connectionTimeoutMillis`...). The store never ends it. Give the pool an
   * `'error'` listener: pg emits idle-connection errors there.
   */
  readonly pool?: Pool;
  /**
   * Convenience: the store creates its own pool from this URL (with
   * `connectionTimeoutMillis` = `statementTimeoutMs`) and ends it on `close()`.
   */
  readonly connectionString?: string;
  /** Passed through to the pool the store creates from `connectionString` (TLS settings). */
  readonly ssl?: PoolConfig['ssl'];
  /**
   * Upper bound on one store call, in milliseconds: waiting for a pooled
   * connection plus running its statements. Past it the call throws
   * `StoreUnavailable` and the connection is discarded (which also rolls back
   * any open transaction on the server).
   * @default 5000
   */
  readonly statementTimeoutMs?: number;
  /**
   * Rows deleted per statement by `sweep`, so no statement holds many locks for long.
   * @default 1000
   */
  readonly sweepBatchSize?: number;
  /**
   * Epoch-ms clock deciding what has expired; pass the manager's clock so both agree.
   * @default Date.now
   */
  readonly clock?: () => number;
  /** Settings of the invalidation channel `watch()` opens for a near cache (SEC-32). */
  readonly invalidation?: PostgresInvalidationOptions;
}

/**
 * Settings of the LISTEN connection behind `store.watch()`, the channel a
 * near cache needs.
 *
 * @example
 * ```ts
 * const store = createPostgresStore({
 *   pool,
 *   invalidation: { boundMs: 500, connection: { connectionString: process.env.DIRECT_DATABASE_URL } },
 * });
 * ```
 */
export interface PostgresInvalidationOptions {
  /**
   * The staleness bound the channel vouches for: while `live`, every change
   * committed more than `boundMs` ago has reached the listener. A liveness
   * probe runs every `boundMs / 4`; when none has come back within `boundMs`
   * the channel stops being live and the cache is dropped.
   * @default 1000
   */
  readonly boundMs?: number;
  /**
   * Where the dedicated LISTEN connection goes. Defaults to the pool's own
   * settings (or `connectionString` and `ssl`). Give a direct address when
   * the pool goes through PgBouncer in transaction mode, which cannot carry
   * LISTEN.
   */
  readonly connection?: ClientConfig;
}

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

/** Validated names, raw and as quoted SQL. Internal. */
export interface Tables {
  readonly schema: string;
  readonly sessions: string;
  readonly keySets: string;
  readonly migrations: string;
  /** `"schema"` */
  readonly schemaSql: string;
  /** `"schema"."table"` */
  readonly sessionsSql: string;
  readonly keySetsSql: string;
  readonly migrationsSql: string;
}

/**
 * Resolves defaults, validates every name and builds the quoted forms.
 *
 * @throws ConfigInvalid for a name outside {@link IDENTIFIER_PATTERN}, a
 *   `pg_` schema, or two tables with one name.
 * @example
 * ```ts
 * resolveTables({ schema: 'auth' }).sessionsSql; // '"auth"."cloakroom_sessions"'
 * ```
 */
export function resolveTables(options: PostgresTableOptions): Tables {
  const schema = checkIdentifier('schema', options.schema ?? 'public');
  if (schema.startsWith('pg_')) {
    throw new ConfigInvalid('schema names starting with "pg_" are reserved by PostgreSQL');
  }
  const sessions = checkIdentifier('table', options.table ?? 'cloakroom_sessions');
  const keySets = checkIdentifier('keySetTable', options.keySetTable ?? 'cloakroom_key_sets');
  const migrations = checkIdentifier(
    'migrationsTable',
    options.migrationsTable ?? 'cloakroom_migrations',
  );
  if (new Set([sessions, keySets, migrations]).size !== 3) {
    throw new ConfigInvalid('table, keySetTable and migrationsTable must be three different names');
  }
  const schemaSql = quoteIdentifier(schema);
  const qualify = (table: string) => `${schemaSql}.${quoteIdentifier(table)}`;
  return {
    schema,
    sessions,
    keySets,
    migrations,
    schemaSql,
    sessionsSql: qualify(sessions),
    keySetsSql: qualify(keySets),
    migrationsSql: qualify(migrations),
  };
}

/** {@link PostgresStoreOptions} with defaults applied and every value checked. Internal. */
export interface ResolvedPostgresStoreOptions {
  readonly tables: Tables;
  /** The caller's pool, or the settings for the pool the store creates (and ends) itself. */
  readonly source:
    | { readonly pool: Pool }
    | { readonly connectionString: string; readonly ssl: PoolConfig['ssl'] | undefined };
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly clock: () => number;
  readonly boundMs: number;
  readonly listenConnection: ClientConfig | undefined;
}

/** {@link PostgresKeySetStoreOptions} with defaults applied and every value checked. Internal. */
export interface ResolvedPostgresKeySetStoreOptions {
  readonly tables: Tables;
  readonly pool: Pool;
  readonly timeoutMs: number;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || (v as number) < 1) {
    throw new ConfigInvalid(`${name} must be a positive integer`);
  }
  return v as number;
}

/**
 * Applies defaults and validates.
 *
 * @throws ConfigInvalid naming the bad option (no pool or connection string,
 *   both, a non-positive timeout or batch size, a clock that is not a function).
 * @example
 * ```ts
 * const { tables, source, timeoutMs } = resolvePostgresStoreOptions({ pool });
 * ```
 */
export function resolvePostgresStoreOptions(
  options: PostgresStoreOptions,
): ResolvedPostgresStoreOptions {
  const tables = resolveTables(options);
  const timeoutMs = positiveInteger('statementTimeoutMs', options.statementTimeoutMs, 5000);
  const batchSize = positiveInteger('sweepBatchSize', options.sweepBatchSize, 1000);
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') throw new ConfigInvalid('clock must be a function');
  if (options.pool && options.connectionString !== undefined) {
    throw new ConfigInvalid(
      'give createPostgresStore either a pool or a connectionString, not both',
    );
  }
  let source: ResolvedPostgresStoreOptions['source'];
  if (options.pool) {
    source = { pool: options.pool };
  } else if (typeof options.connectionString === 'string' && options.connectionString !== '') {
    source = { connectionString: options.connectionString, ssl: options.ssl };
  } else {
    throw new ConfigInvalid('createPostgresStore needs a pool or a connectionString');
  }
  const invalidation = options.invalidation ?? {};
  const boundMs = positiveInteger('invalidation.boundMs', invalidation.boundMs, 1000);
  if (boundMs < 20) throw new ConfigInvalid('invalidation.boundMs must be at least 20');
  const listenConnection = invalidation.connection;
  if (
    listenConnection !== undefined &&
    (listenConnection === null || typeof listenConnection !== 'object')
  ) {
    throw new ConfigInvalid('invalidation.connection must be a pg ClientConfig object');
  }
  return { tables, source, timeoutMs, batchSize, clock, boundMs, listenConnection };
}

/**
 * Applies defaults and validates.
 *
 * @throws ConfigInvalid naming the bad option (no pool, a non-positive timeout).
 * @example
 * ```ts
 * const { tables, pool, timeoutMs } = resolvePostgresKeySetStoreOptions({ pool });
 * ```
 */
export function resolvePostgresKeySetStoreOptions(
  options: PostgresKeySetStoreOptions,
): ResolvedPostgresKeySetStoreOptions {
  const tables = resolveTables(options);
  if (!options.pool) throw new ConfigInvalid('createPostgresKeySetStore needs a pool');
  const timeoutMs = positiveInteger('statementTimeoutMs', options.statementTimeoutMs, 5000);
  return { tables, pool: options.pool, timeoutMs };
}
