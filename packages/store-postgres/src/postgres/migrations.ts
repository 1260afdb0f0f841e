import type { Pool, PoolClient } from 'pg';
import { toStoreError } from '../errors';
import { type PostgresTableOptions, resolveTables, type Tables } from '../options';
import { checkIdentifier, indexName, quoteIdentifier } from './identifiers';
import { invalidationTriggerSql } from './invalidation-sql';

/** One schema change. Statements must be idempotent (`IF NOT EXISTS`), so the printed SQL can be re-run. */
interface Migration {
  /** Which table the change belongs to; versions count per table. */
  readonly target: 'sessions' | 'keySets';
  readonly version: number;
  readonly description: string;
  /** Applied only when asked for (see {@link MigrateOptions.invalidationTriggers}). */
  readonly optIn?: 'invalidationTriggers';
  statements(tables: Tables): string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    target: 'sessions',
    version: 1,
    description: 'create sessions table with subject and expiry indexes',
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.sessionsSql} (
  id text COLLATE "C" PRIMARY KEY,
  subject text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  payload bytea NOT NULL
)`,
      `CREATE INDEX IF NOT EXISTS "${indexName(t.sessions, 'subject_idx')}" ON ${t.sessionsSql} (subject)`,
      `CREATE INDEX IF NOT EXISTS "${indexName(t.sessions, 'expires_at_idx')}" ON ${t.sessionsSql} (expires_at)`,
    ],
  },
  {
    target: 'keySets',
    version: 1,
    description: 'create key-set table',
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.keySetsSql} (
  name text COLLATE "C" PRIMARY KEY,
  version integer NOT NULL CHECK (version > 0),
  document bytea NOT NULL
)`,
    ],
  },
  {
    target: 'sessions',
    version: 2,
    description: 'notify changed and deleted session ids (near-cache invalidation)',
    optIn: 'invalidationTriggers',
    statements: invalidationTriggerSql,
  },
  {
    target: 'sessions',
    version: 3,
    description: 'seat column for per-subject session limits (insertWithLimit)',
    // No default, so the table is never rewritten (ADD COLUMN without one
    // only touches the catalog) and every row from before reads NULL: no
    // seat. The store cannot tell a legacy forwarder (a rotated record core
    // keeps until the absolute expiry) from a legacy session, and a forwarder
    // must never take a user's seat; a legacy session takes one at its next
    // rotate. No default afterwards either: rows an older release inserts
    // during a rolling upgrade stay seatless too (its rotate would otherwise
    // leave seated forwarders); this release names the seat in every write.
    statements: (t) => [`ALTER TABLE ${t.sessionsSql} ADD COLUMN IF NOT EXISTS seat bigint`],
  },
];

/**
 * Options of {@link migrate} and {@link migrationSql}: the table names, and
 * which optional parts to install.
 *
 * @example
 * ```ts
 * await migrate(pool, { schema: 'auth', invalidationTriggers: true }); // for a near cache
 * ```
 */
export interface MigrateOptions extends PostgresTableOptions {
  /**
   * Also install the triggers that notify changed and deleted session ids
   * (migration 2), which `store.watch()` and so a near cache require
   * (SEC-32). Off by default because every notifying commit holds
   * PostgreSQL's NOTIFY lock through its WAL flush, so concurrent revokes
   * and refreshes commit one at a time (see the README, "Near cache").
   * Turning it on later applies it to the existing table, rows kept.
   * @default false
   */
  readonly invalidationTriggers?: boolean;
}

const wanted = (m: Migration, options: MigrateOptions) =>
  m.optIn === undefined || options[m.optIn] === true;

/**
 * What {@link migrate} did.
 *
 * @example
 * ```ts
 * const { applied } = await migrate(pool);
 * for (const m of applied) console.log(`migrated ${m.table} to v${m.version}: ${m.description}`);
 * ```
 */
export interface MigrateResult {
  /** Migrations applied by this call, in order; empty when the schema was already current. */
  readonly applied: readonly {
    readonly table: string;
    readonly version: number;
    readonly description: string;
  }[];
}

function targetTable(tables: Tables, migration: Migration): string {
  return migration.target === 'sessions' ? tables.sessions : tables.keySets;
}

function migrationsTableSql(t: Tables): string {
  return `CREATE TABLE IF NOT EXISTS ${t.migrationsSql} (
  target text NOT NULL,
  version integer NOT NULL,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, version)
)`;
}

/** Advisory-lock key: one per schema, so migrators of one schema queue and others do not. */
function lockSql(t: Tables): string {
  return `SELECT pg_advisory_xact_lock(hashtextextended('cloakroom:' || ${literal(t.schema)}, 0))`;
}

/** A string literal for a name that already matched the identifier pattern (no quotes inside). */
function literal(name: string): string {
  return `'${name}'`;
}

function recordSql(t: Tables, m: Migration): string {
  return (
    `INSERT INTO ${t.migrationsSql} (target, version, description) VALUES ` +
    `(${literal(targetTable(t, m))}, ${m.version}, ${literal(m.description.replace(/'/g, "''"))}) ` +
    'ON CONFLICT DO NOTHING'
  );
}

/**
 * Creates or upgrades the store's tables: the sessions table, the key-set
 * table and a migrations table recording what ran. Versioned and idempotent
 * (a second call applies nothing), and safe from several instances at once:
 * all work happens in one transaction behind `pg_advisory_xact_lock`, so
 * concurrent callers wait and then find the schema current. Creates the
 * schema when it does not exist. Needs a role allowed to run DDL; the store
 * itself never does. With `invalidationTriggers: true` it also installs the
 * triggers a near cache needs (on an existing table too). Throws
 * `ConfigInvalid` for unsafe names and `StoreUnavailable` (with `cause`)
 * when PostgreSQL refuses.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate } from '@cloakroom/store-postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const { applied } = await migrate(pool, { schema: 'auth' });
 * ```
 */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const t = resolveTables(options);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw toStoreError(err);
  }
  const onError = () => {};
  client.on('error', onError);
  let failure: unknown;
  try {
    await client.query('BEGIN');
    await client.query(lockSql(t));
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]);
    // Only create when missing: CREATE SCHEMA IF NOT EXISTS still demands CREATE on the database.
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${t.schemaSql}`);
    await client.query(migrationsTableSql(t));
    const done = await client.query<{ target: string; version: number }>(
      `SELECT target, version FROM ${t.migrationsSql}`,
    );
    const seen = new Set(done.rows.map((r) => `${r.target}/${r.version}`));
    const applied: { table: string; version: number; description: string }[] = [];
    for (const m of MIGRATIONS) {
      if (!wanted(m, options)) continue;
      const table = targetTable(t, m);
      if (seen.has(`${table}/${m.version}`)) continue;
      for (const sql of m.statements(t)) await client.query(sql);
      await client.query(recordSql(t, m));
      applied.push({ table, version: m.version, description: m.description });
    }
    await client.query('COMMIT');
    return { applied };
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => {});
    throw toStoreError(err);
  } finally {
    client.removeListener('error', onError);
    client.release(failure instanceof Error ? failure : undefined);
  }
}

/**
 * The SQL {@link migrate} would run, as one script for DBAs who apply schema
 * changes themselves (`psql -f`). Every statement is idempotent and the
 * script takes the same advisory lock, so it may be re-run and mixed with
 * `migrate` calls. Throws `ConfigInvalid` for unsafe names.
 *
 * @example
 * ```ts
 * import { migrationSql } from '@cloakroom/store-postgres';
 * process.stdout.write(migrationSql({ schema: 'auth' }));
 * ```
 */
export function migrationSql(options: MigrateOptions = {}): string {
  const t = resolveTables(options);
  const lines = [
    `-- Cloakroom PostgreSQL store: schema ${t.schemaSql}`,
    '-- Idempotent; takes the same advisory lock as migrate().',
    'BEGIN;',
    `${lockSql(t)};`,
    `CREATE SCHEMA IF NOT EXISTS ${t.schemaSql};`,
    `${migrationsTableSql(t)};`,
  ];
  for (const m of MIGRATIONS) {
    if (!wanted(m, options)) continue;
    lines.push(`-- ${targetTable(t, m)} v${m.version}: ${m.description}`);
    for (const sql of m.statements(t)) lines.push(`${sql};`);
    lines.push(`${recordSql(t, m)};`);
  }
  lines.push('COMMIT;', '');
  return lines.join('\n');
}

/**
 * GRANT statements for a least-privilege runtime role: USAGE on the schema
 * and SELECT, INSERT, UPDATE, DELETE on the sessions and key-set tables,
 * nothing else (no DDL, no access to the migrations table). Throws
 * `ConfigInvalid` for unsafe names.
 *
 * @example
 * ```ts
 * import { grantSql } from '@cloakroom/store-postgres';
 * console.log(grantSql({ role: 'cloakroom_app', schema: 'auth' }));
 * ```
 */
export function grantSql(options: PostgresTableOptions & { readonly role: string }): string {
  const t = resolveTables(options);
  const role = quoteIdentifier(checkIdentifier('role', options.role));
  return [
    `GRANT USAGE ON SCHEMA ${t.schemaSql} TO ${role};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${t.sessionsSql}, ${t.keySetsSql} TO ${role};`,
    '',
  ].join('\n');
}
