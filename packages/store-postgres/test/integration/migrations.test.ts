import { execFileSync } from 'node:child_process';
import { type SessionRecord, StoreConflict, StoreUnavailable } from '@cloakroom/core';
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
      'cloakroom_sessions@3',
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
      { column_name: 'seat', data_type: 'bigint' },
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
    expect(appliedCounts).toEqual([0, 0, 0, 0, 0, 3]);
    const rows = await world.admin.query(
      `SELECT target, version FROM "${schema}".cloakroom_migrations`,
    );
    expect(rows.rowCount).toBe(3);
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

  it("migration 3 on a table of the previous version: no rewrite, no default; legacy rows and an older release's rows hold no seat, so its forwarders never take a seat; a legacy session takes one at its next rotate", async () => {
    const schema = uniqueName('crpg_migrate_v2');
    dropped.push(schema);
    const t = `"${schema}"."cloakroom_sessions"`;
    // The previous schema version (1 and the opt-in 2): today's, minus migration 3.
    await migrate(world.admin, { schema, invalidationTriggers: true });
    await world.admin.query(`ALTER TABLE ${t} DROP COLUMN seat`);
    await world.admin.query(`DELETE FROM "${schema}".cloakroom_migrations WHERE version = 3`);
    // An older release's insert and rotate: their statements name no seat.
    const oldInsert = (r: SessionRecord) =>
      world.admin.query(
        `INSERT INTO ${t} (id, subject, expires_at, version, payload) VALUES ($1, $2, $3, $4, $5)`,
        [r.id, r.subject, r.expiresAt, r.version, Buffer.from(r.payload)],
      );
    const oldRotate = async (old: SessionRecord, next: SessionRecord) => {
      const swapped = await world.admin.query(
        `WITH swapped AS (UPDATE ${t} SET version = version + 1 WHERE id = $1 AND version = $2 RETURNING 1)` +
          ` INSERT INTO ${t} (id, subject, expires_at, version, payload) SELECT $3, $4, $5, 1, $6 FROM swapped`,
        [old.id, old.version, next.id, next.subject, next.expiresAt, Buffer.from(next.payload)],
      );
      expect(swapped.rowCount).toBe(1);
      return { ...old, version: old.version + 1 };
    };
    // One real device, refreshed 4 times by the older release: 4 forwarders (core keeps each
    // until the absolute expiry) and the live session, 5 live rows the store cannot tell apart.
    const subject = makeRecord().subject;
    const forwarders: SessionRecord[] = [];
    let device = makeRecord({ subject });
    await oldInsert(device);
    for (let i = 0; i < 4; i += 1) {
      const next = makeRecord({ subject });
      forwarders.push(await oldRotate(device, next));
      device = next;
    }
    const store = createPostgresStore({ pool: world.admin, schema });
    // Today's store on the old table: insertWithLimit names migrate(); reads, insert and
    // rotate keep working (as an older release writes: no seat), so sign-ins and refreshes
    // survive a deploy that reaches the database before its migration.
    const early = await caught(() =>
      store.insertWithLimit(makeRecord({ subject }), { max: 9, evict: 'oldest' }),
    );
    expect(early).toBeInstanceOf(StoreUnavailable);
    expect((early as Error).message).toMatch(/migrate\(\)/);
    expect(await store.get(device.id)).toEqual(device);
    const early1 = makeRecord({ subject });
    await store.insert(early1);
    expect(await store.get(early1.id)).toEqual(early1);
    await expect(store.insert(early1)).rejects.toBeInstanceOf(StoreConflict);
    const early2 = makeRecord({ subject });
    expect(
      await store.rotate({ record: { ...early1, version: 2 }, expectedVersion: 1 }, early2),
    ).toBe(true);
    expect(await store.get(early2.id)).toEqual(early2);
    expect(await store.delete(early1.id)).toBe(true);
    expect(await store.delete(early2.id)).toBe(true);
    expect(await store.listBySubject(subject)).toHaveLength(5);

    const file = `SELECT relfilenode FROM pg_class WHERE oid = '${t}'::regclass`;
    const fileBefore = (await world.admin.query(file)).rows[0].relfilenode;
    const { applied } = await migrate(world.admin, { schema, invalidationTriggers: true });
    expect(applied.map((m) => `${m.table}@${m.version}`)).toEqual(['cloakroom_sessions@3']);
    // ADD COLUMN without a default only touches the catalog: same file, no rewrite.
    expect((await world.admin.query(file)).rows[0].relfilenode).toBe(fileBefore);
    const column = await world.admin.query(
      `SELECT column_default FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'cloakroom_sessions' AND column_name = 'seat'`,
      [schema],
    );
    expect(column.rows).toEqual([{ column_default: null }]);
    const seatedIds = async () =>
      (
        await world.admin.query(
          `SELECT id FROM ${t} WHERE subject = $1 AND seat IS NOT NULL ORDER BY seat, id`,
          [subject],
        )
      ).rows.map((r) => r.id);
    expect(await seatedIds()).toEqual([]);

    // The user's next sign-ins: the forwarders hold no seat, so refuse at max 3 lets them in
    // and evict-oldest at max 2 ends nothing (a seated legacy row would be refused / evicted).
    const phone = makeRecord({ subject });
    expect(await store.insertWithLimit(phone, { max: 3, evict: 'refuse' })).toEqual({
      inserted: true,
      evicted: [],
    });
    const laptop = makeRecord({ subject });
    expect(await store.insertWithLimit(laptop, { max: 2, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(await store.get(device.id)).toEqual(device);

    // An older release still running after the migration: its insert and its rotate leave
    // no seat anywhere (with a column default, its forwarder would stay seated).
    let other = makeRecord({ subject });
    await oldInsert(other);
    const otherNext = makeRecord({ subject });
    forwarders.push(await oldRotate(other, otherNext));
    other = otherNext;
    expect(await seatedIds()).toEqual([phone.id, laptop.id]);

    // The legacy device's next refresh on this release: its successor takes a fresh seat,
    // last in the order, and the forwarder it leaves holds none.
    const refreshed = makeRecord({ subject });
    expect(
      await store.rotate({ record: { ...device, version: 2 }, expectedVersion: 1 }, refreshed),
    ).toBe(true);
    expect(await seatedIds()).toEqual([phone.id, laptop.id, refreshed.id]);
    expect(
      await store.insertWithLimit(makeRecord({ subject }), { max: 3, evict: 'refuse' }),
    ).toEqual({ inserted: false });
    expect(
      await store.insertWithLimit(makeRecord({ subject }), { max: 3, evict: 'oldest' }),
    ).toEqual({ inserted: true, evicted: [phone.id] });
    // No forwarder was ever counted or evicted.
    for (const f of forwarders) expect(await store.get(f.id)).toEqual(f);
    expect(await store.get(other.id)).toEqual(other);
  });

  it('custom table names get their own migration rows in a shared migrations table', async () => {
    const { applied } = await migrate(world.admin, { ...world.tables, table: 'other_sessions' });
    expect(applied.map((m) => `${m.table}@${m.version}`)).toEqual([
      'other_sessions@1',
      'other_sessions@3',
    ]);
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
