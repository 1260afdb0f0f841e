import {
  createPostgresKeySetStore,
  createPostgresStore,
  grantSql,
  migrate,
  type PostgresStore,
} from '@cloakroom/store-postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught, createWorld, makeRecord, type PgWorld, uniqueName, urlWith } from './pg-harness';

let world: PgWorld;
let role: string;
let appPool: pg.Pool;
let store: PostgresStore;

beforeAll(async () => {
  world = await createWorld('crpg_lp');
  await migrate(world.admin, { ...world.tables, invalidationTriggers: true });
  role = uniqueName('crpg_app');
  await world.admin.query(`CREATE ROLE "${role}" LOGIN`);
  await world.admin.query(grantSql({ role, ...world.tables }));
  appPool = world.pool({ connectionString: urlWith({ user: role }), max: 3 });
  store = createPostgresStore({ pool: appPool, ...world.tables });
});

afterAll(async () => {
  await store?.close();
  await appPool?.end().catch(() => {});
  try {
    // Other helpers share this server: revoke the role's grants, then drop it, before the schema goes.
    if (role) {
      await world.admin.query(`DROP OWNED BY "${role}"`);
      await world.admin.query(`DROP ROLE IF EXISTS "${role}"`);
    }
  } finally {
    await world?.teardown();
  }
});

describe('SEC-28 least-privilege role', () => {
  it('SEC-28 the role holds only USAGE and SELECT/INSERT/UPDATE/DELETE on its two tables', async () => {
    const me = await appPool.query(
      'SELECT current_user AS u, usesuper FROM pg_user WHERE usename = current_user',
    );
    expect(me.rows[0]).toEqual({ u: role, usesuper: false });
    const grants = await world.admin.query<{ table_name: string; privilege_type: string }>(
      `SELECT table_name, privilege_type FROM information_schema.role_table_grants
       WHERE grantee = $1 ORDER BY table_name, privilege_type`,
      [role],
    );
    expect(grants.rows.map((g) => `${g.table_name}:${g.privilege_type}`)).toEqual([
      'cloakroom_key_sets:DELETE',
      'cloakroom_key_sets:INSERT',
      'cloakroom_key_sets:SELECT',
      'cloakroom_key_sets:UPDATE',
      'cloakroom_sessions:DELETE',
      'cloakroom_sessions:INSERT',
      'cloakroom_sessions:SELECT',
      'cloakroom_sessions:UPDATE',
    ]);
  });

  it('SEC-28 every store and key-set operation works under that role', async () => {
    const rec = makeRecord();
    await store.insert(rec);
    expect(await store.get(rec.id)).toEqual(rec);
    const next = makeRecord({ subject: rec.subject });
    expect(await store.replace({ ...rec, version: 2 }, 1)).toBe(true);
    expect(await store.rotate({ record: { ...rec, version: 3 }, expectedVersion: 2 }, next)).toBe(
      true,
    );
    expect((await store.listBySubject(rec.subject)).length).toBe(2);
    expect((await store.scan({ limit: 10 })).records.length).toBe(2);
    expect(await store.delete(next.id)).toBe(true);
    expect(await store.deleteBySubject(rec.subject)).toBe(1);
    await store.insert(makeRecord({ expiresAt: 1 }));
    expect(await store.sweep(Date.now())).toBe(1);
    // insertWithLimit: an advisory lock (open to every role) plus the same four privileges.
    const seated = makeRecord();
    await store.insert(seated);
    expect(
      await store.insertWithLimit(makeRecord({ subject: seated.subject }), {
        max: 1,
        evict: 'oldest',
      }),
    ).toEqual({ inserted: true, evicted: [seated.id] });
    const keySets = createPostgresKeySetStore({ pool: appPool, ...world.tables });
    expect(await keySets.write('default', new Uint8Array([1]), null)).toBe(true);
    expect(await keySets.write('default', new Uint8Array([2]), 1)).toBe(true);
    expect(await keySets.read('default')).toEqual({ version: 2, document: new Uint8Array([2]) });
  });

  it('SEC-28 SEC-32 the role can watch, and its writes reach the channel through the triggers', async () => {
    const heard: string[] = [];
    const channel = await store.watch({ invalidate: (id) => heard.push(id), reset() {} });
    try {
      expect(channel.live).toBe(true);
      const rec = makeRecord();
      await store.insert(rec);
      expect(await store.delete(rec.id)).toBe(true);
      const until = Date.now() + 10_000;
      while (heard.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect(heard).toEqual([rec.id]);
    } finally {
      await channel.close();
    }
  });

  it('SEC-28 DDL is refused for that role: DROP, CREATE, ALTER, TRUNCATE, and the migrations table', async () => {
    const t = `"${world.schema}"."cloakroom_sessions"`;
    const attempts = [
      `DROP TABLE ${t}`,
      `CREATE TABLE "${world.schema}".evil (x int)`,
      `ALTER TABLE ${t} ADD COLUMN evil int`,
      // SEC-32: the role cannot silence the invalidation triggers.
      `ALTER TABLE ${t} DISABLE TRIGGER ALL`,
      `DROP TRIGGER "cloakroom_sessions_notify_delete" ON ${t}`,
      `TRUNCATE ${t}`,
      `CREATE TABLE public.${role}_evil (x int)`,
      `SELECT * FROM "${world.schema}".cloakroom_migrations`,
    ];
    for (const sql of attempts) {
      const err = (await caught(() => appPool.query(sql))) as { code?: string };
      // 42501 insufficient_privilege; 42P01 only would mean the table vanished (it must not).
      expect([sql, err.code]).toEqual([sql, '42501']);
    }
    const still = await world.admin.query(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`,
      [world.schema],
    );
    expect(still.rows[0].n).toBe(3);
  });
});
