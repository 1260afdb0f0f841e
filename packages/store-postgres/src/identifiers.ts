import { createHash } from 'node:crypto';
import { ConfigInvalid } from '@cloakroom/core';

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
 * What a schema, table or role name must match: lower-case, starts with a
 * letter or underscore, at most 63 bytes (PostgreSQL's identifier limit, so
 * nothing is silently truncated).
 *
 * @example
 * ```ts
 * IDENTIFIER_PATTERN.test('cloakroom_sessions'); // true
 * IDENTIFIER_PATTERN.test('x"; DROP TABLE y; --'); // false: refused with ConfigInvalid
 * ```
 */
export const IDENTIFIER_PATTERN: RegExp = /^[a-z_][a-z0-9_]{0,62}$/;

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

/** Throws `ConfigInvalid` unless `value` is a safe identifier. */
export function checkIdentifier(what: string, value: unknown): string {
  if (typeof value !== 'string' || !IDENTIFIER_PATTERN.test(value)) {
    // The name is configuration, not a secret; a bounded preview helps the operator find it.
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new ConfigInvalid(`${what} ${shown} must match ${IDENTIFIER_PATTERN}`);
  }
  return value;
}

/** Double-quotes an identifier that already passed {@link checkIdentifier}. */
export function quoteIdentifier(name: string): string {
  return `"${name}"`;
}

/** Resolves defaults, validates every name and builds the quoted forms. */
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

/**
 * An index name derived from its table that stays within 63 bytes: long
 * table names are cut and given a short hash so two of them never collide.
 */
export function indexName(table: string, suffix: string): string {
  const name = `${table}_${suffix}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 8);
  return `${table.slice(0, 63 - suffix.length - hash.length - 2)}_${hash}_${suffix}`;
}
