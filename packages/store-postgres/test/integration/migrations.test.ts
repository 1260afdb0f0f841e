import { execFileSync } from 'node:child_process';
import { StoreUnavailable } from '@cloakroom/core';
import { createPostgresStore, migrate, migrationSql } from '@cloakroom/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught, createWorld, makeRecord, type PgWorld, TEST_URL, uniqueName } from './pg-harness';

let world: PgWorld;
const dropped: string[] = [];

beforeAll(async () => {
  world = await createWorld('crpg_migrate', false);
});
afterAll(async () => {
  for (const schema of dropped)
    await world.admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await world?.teardown();
});

async function tablesOf(schema: string): Promise<string[]> {
  const result = await world.admin.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
    [schema],
  );
  return result.rows.map((r) => r.table_name);
}

async function indexesOf(schema: string): Promise<string[]> {
  const result = await world.admin.query<{ indexdef: string }>(
    'SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
    [schema],
  );
  return result.rows.map((r) => r.indexdef);
}

describe('postgres migrations', () => {
  it('creates the schema, both tables, the id/subject/expiry indexes, and records its version', async () => {
    const { applied } = await migrate(world.admin, world.tables);
    expect(applied.map((m) => `${m.table}@${m.version}`)).toEqual([
      'cloakroom_sessions@1',
      'cloakroom_key_sets@1',
    ]);
    expect(await tablesOf(world.schema)).toEqual([
      'cloakroom_key_sets',
      'cloakroom_migrations',
      'cloakroom_sessions',
    ]);
    const indexes = (await indexesOf(world.schema)).join('\n');
    expect(indexes).toMatch(/UNIQUE INDEX cloakroom_sessions_pkey .*\(id\)/);
    expect(indexes).toMatch(/cloakroom_sessions_subject_idx .*\(subject\)/);
    expect(indexes).toMatch(/cloakroom_sessions_expires_at_idx .*\(expires_at\)/);
    const columns = await world.admin.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'cloakroom_sessions' ORDER BY ordinal_position`,
      [world.schema],
    );
    expect(columns.rows).toEqual([
      { column_name: 'id', data_type: 'text' },
      { column_name: 'subject', data_type: 'text' },
      { column_name: 'expires_at', data_type: 'bigint' },
      { column_name: 'version', data_type: 'integer' },
      { column_name: 'payload', data_type: 'bytea' },
    ]);
  });

  it('is idempotent: a second run applies nothing and keeps the data', async () => {
    const store = createPostgresStore({ pool: world.admin, ...world.tables });
    const rec = makeRecord();
    await store.insert(rec);
    expect((await migrate(world.admin, world.tables)).applied).toEqual([]);
    expect(await store.get(rec.id)).toEqual(rec);
  });

  it('concurrent migrate from several pools at once yields one schema, applied once', async () => {
    const schema = uniqueName('crpg_migrate_many');
    dropped.push(schema);
    const pools = Array.from({ length: 6 }, () => world.pool({ max: 1 }));
    const results = await Promise.all(pools.map((p) => migrate(p, { schema })));
    const appliedCounts = results.map((r) => r.applied.length).sort();
    expect(appliedCounts).toEqual([0, 0, 0, 0, 0, 2]);
    const rows = await world.admin.query(
      `SELECT target, version FROM "${schema}".cloakroom_migrations`,
    );
    expect(rows.rowCount).toBe(2);
    expect(await tablesOf(schema)).toHaveLength(3);
  });

  it('migrationSql runs under psql, is re-runnable, and migrate() then finds nothing to do', async () => {
    const schema = uniqueName('crpg_migrate_sql');
    dropped.push(schema);
    const sql = migrationSql({ schema, table: 'app_sessions', invalidationTriggers: true });
    expect(sql).toContain(`CREATE TABLE IF NOT EXISTS "${schema}"."app_sessions"`);
    for (let run = 0; run < 2; run += 1) {
      execFileSync('psql', ['-v', 'ON_ERROR_STOP=1', '-q', TEST_URL], {
        input: sql,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    }
    expect(
      (await migrate(world.admin, { schema, table: 'app_sessions', invalidationTriggers: true }))
        .applied,
    ).toEqual([]);
    const store = createPostgresStore({ pool: world.admin, schema, table: 'app_sessions' });
    const rec = makeRecord();
    await store.insert(rec);
    expect(await store.get(rec.id)).toEqual(rec);
    // The printed script installs the invalidation triggers too: watch accepts the table.
    expect(sql).toContain('CREATE TRIGGER');
    const channel = await store.watch({ invalidate() {}, reset() {} });
    expect(channel.live).toBe(true);
    await channel.close();
  });

  it('invalidationTriggers: off by default (watch refuses the table); turned on later it upgrades the table in place, rows kept', async () => {
    const schema = uniqueName('crpg_migrate_v1');
    dropped.push(schema);
    await migrate(world.admin, { schema });
    const triggers = async () =>
      (
        await world.admin.query(
          `SELECT tgname FROM pg_trigger WHERE tgrelid = '"${schema}"."cloakroom_sessions"'::regclass ORDER BY tgname`,
        )
      ).rows.map((r) => r.tgname);
    expect(await triggers()).toEqual([]);
    expect(migrationSql({ schema })).not.toContain('TRIGGER');
    const store = createPostgresStore({ pool: world.admin, schema });
    const rec = makeRecord();
    await store.insert(rec);
    const refused = await caught(() => store.watch({ invalidate() {}, reset() {} }));
    expect(refused).toBeInstanceOf(StoreUnavailable);
    expect((refused as Error).message).toMatch(/invalidationTriggers: true/);

    const { applied } = await migrate(world.admin, { schema, invalidationTriggers: true });
    expect(applied.map((m) => `${m.table}@${m.version}`)).toEqual(['cloakroom_sessions@2']);
    expect(await triggers()).toEqual([
      'cloakroom_sessions_notify_delete',
      'cloakroom_sessions_notify_truncate',
      'cloakroom_sessions_notify_update',
    ]);
    expect(await store.get(rec.id)).toEqual(rec);
    const heard: string[] = [];
    const channel = await store.watch({ invalidate: (id) => heard.push(id), reset() {} });
    expect(await store.delete(rec.id)).toBe(true);
    const until = Date.now() + 10_000;
    while (heard.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(heard).toEqual([rec.id]);
    await channel.close();
    // Asking again applies nothing; leaving the flag off later does not remove them.
    expect((await migrate(world.admin, { schema, invalidationTriggers: true })).applied).toEqual(
      [],
    );
    expect((await migrate(world.admin, { schema })).applied).toEqual([]);
    expect(await triggers()).toHaveLength(3);
  });

  it('custom table names get their own migration rows in a shared migrations table', async () => {
    const { applied } = await migrate(world.admin, { ...world.tables, table: 'other_sessions' });
    expect(applied.map((m) => m.table)).toEqual(['other_sessions']);
    expect(await tablesOf(world.schema)).toContain('other_sessions');
  });

  it('reserved words and long names are quoted and stay within 63 bytes', async () => {
    const table = `select${'_x'.repeat(28)}`;
    expect(table.length).toBe(62);
    await migrate(world.admin, {
      ...world.tables,
      table,
      keySetTable: 'user',
      invalidationTriggers: true,
    });
    const indexes = await indexesOf(world.schema);
    const mine = indexes.filter((d) => d.includes(table));
    expect(mine).toHaveLength(3);
    const store = createPostgresStore({ pool: world.admin, ...world.tables, table });
    const rec = makeRecord();
    await store.insert(rec);
    expect(await store.get(rec.id)).toEqual(rec);
    // The channel name (cut and hashed past 63 bytes) matches what the triggers notify.
    const heard: string[] = [];
    const channel = await store.watch({ invalidate: (id) => heard.push(id), reset() {} });
    await store.delete(rec.id);
    const until = Date.now() + 10_000;
    while (heard.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(heard).toEqual([rec.id]);
    await channel.close();
  });

  it('migrate against an unreachable server throws StoreUnavailable', async () => {
    const pool = world.pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    expect(await caught(() => migrate(pool, { schema: uniqueName('never') }))).toBeInstanceOf(
      StoreUnavailable,
    );
  });
});
