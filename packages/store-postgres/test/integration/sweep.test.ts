import { createPostgresStore, migrate } from '@cloakroom/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, fakeClock, makeRecord, type PgWorld, recordQueries } from './pg-harness';

let world: PgWorld;
beforeAll(async () => {
  world = await createWorld('crpg_sweep');
});
afterAll(async () => {
  await world?.teardown();
});

describe('postgres store: sweep', () => {
  it('removes exactly the expired rows, in bounded batches of sweepBatchSize', async () => {
    const clock = fakeClock();
    const pool = world.pool({ max: 2 });
    const sent = recordQueries(pool);
    const deletes = () => sent.filter((q) => q.text.startsWith('DELETE')).length;
    const store = createPostgresStore({
      pool,
      ...world.tables,
      sweepBatchSize: 100,
      clock: clock.now,
    });
    const now = clock.now();
    // Bulk-load behind the store's back: 250 expired, 40 live, one expiring exactly now.
    await world.admin.query(
      `INSERT INTO "${world.schema}".cloakroom_sessions (id, subject, expires_at, version, payload)
       SELECT 'dead' || g, 's', $1::int8 - g, 1, '\\x00'::bytea FROM generate_series(1, 250) g
       UNION ALL SELECT 'live' || g, 's', $1::int8 + g, 1, '\\x00'::bytea FROM generate_series(1, 40) g
       UNION ALL SELECT 'edge', 's', $1::int8, 1, '\\x00'::bytea`,
      [now],
    );
    expect(await store.sweep(now)).toBe(251);
    // 100 + 100 + 51: three statements, each at most one batch.
    expect(deletes()).toBe(3);
    const left = await world.admin.query(
      `SELECT count(*)::int AS n, min(expires_at) AS min FROM "${world.schema}".cloakroom_sessions`,
    );
    expect(left.rows[0].n).toBe(40);
    expect(Number(left.rows[0].min)).toBeGreaterThan(now);
    expect(await store.sweep(now)).toBe(0);
    await store.close();
  });

  it('never removes a live record, and expired ones are invisible before the sweep', async () => {
    const clock = fakeClock();
    await migrate(world.admin, { ...world.tables, table: 'sweep_two' });
    const store = createPostgresStore({
      pool: world.admin,
      ...world.tables,
      table: 'sweep_two',
      clock: clock.now,
    });
    const records = Array.from({ length: 30 }, (_, i) =>
      makeRecord({ expiresAt: clock.now() + i * 10 }),
    );
    for (const r of records) await store.insert(r);
    clock.advance(150);
    const visible = (await store.scan({ limit: 100 })).records.length;
    expect(visible).toBe(records.filter((r) => r.expiresAt > clock.now()).length);
    expect(await store.sweep(clock.now())).toBe(30 - visible);
    for (const r of records) {
      expect(await store.get(r.id)).toEqual(r.expiresAt > clock.now() ? r : null);
    }
  });
});
