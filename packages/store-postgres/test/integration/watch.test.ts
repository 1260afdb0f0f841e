// store.watch(): the LISTEN/NOTIFY invalidation channel a near cache relies on (SEC-32).
import { Closed, StoreUnavailable } from '@cloakroom/core';
import { createPostgresStore, migrate, type PostgresStore } from '@cloakroom/store-postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  caught,
  createWorld,
  fakeClock,
  makeRecord,
  type PgWorld,
  TEST_URL,
  uniqueName,
  urlWith,
} from './pg-harness';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

let world: PgWorld;
let writer: PostgresStore;
const clock = fakeClock();
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  world = await createWorld('crpg_watch');
  await migrate(world.admin, { ...world.tables, invalidationTriggers: true });
  writer = createPostgresStore({ pool: world.pool({ max: 3 }), ...world.tables, clock: clock.now });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await writer?.close();
  await world?.teardown();
});

/** A listener that records what it was told, in order. */
function recorder() {
  const events: string[] = [];
  return {
    events,
    invalidated: () => events.filter((e) => e !== 'reset'),
    resets: () => events.filter((e) => e === 'reset').length,
    listener: {
      invalidate(id: string): void {
        events.push(id);
      },
      reset(): void {
        events.push('reset');
      },
    },
  };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A reader store (its own pool) watching the table, with a tagged LISTEN connection. */
async function watching(tag = uniqueName('crpg_w'), boundMs = 1000) {
  const store = createPostgresStore({
    pool: world.pool({ max: 2 }),
    ...world.tables,
    clock: clock.now,
    invalidation: { boundMs, connection: { connectionString: urlWith({ applicationName: tag }) } },
  });
  const rec = recorder();
  const channel = await store.watch(rec.listener);
  open.push(channel, store);
  return { store, channel, rec, tag };
}

/** Writes `marker` through a change that notifies, then waits for it: everything before has arrived. */
async function fence(rec: ReturnType<typeof recorder>): Promise<void> {
  const marker = makeRecord();
  await writer.insert(marker);
  await writer.delete(marker.id);
  await until(() => rec.events.includes(marker.id), 'the fence');
  rec.events.splice(rec.events.indexOf(marker.id), 1);
}

describe('store.watch(): LISTEN/NOTIFY invalidation (SEC-32)', () => {
  it('is live once open, with the configured bound, and resets once on going live', async () => {
    const { channel, rec } = await watching(undefined, 400);
    expect(channel.live).toBe(true);
    expect(channel.boundMs).toBe(400);
    expect(rec.events).toEqual(['reset']);
  });

  it('names the id of every replace, rotate (old id only), delete and insert over an expired row; nothing for a fresh insert', async () => {
    const { rec } = await watching();
    const a = makeRecord();
    const b = makeRecord();
    const c = makeRecord();
    const next = makeRecord();
    const dead = makeRecord({ expiresAt: clock.now() - 1 });
    await writer.insert(a);
    await writer.insert(b);
    await writer.insert(c);
    await writer.insert(dead);
    await fence(rec);
    expect(rec.invalidated()).toEqual([]);

    expect(await writer.replace({ ...a, version: 2 }, 1)).toBe(true);
    expect(await writer.rotate({ record: { ...b, version: 2 }, expectedVersion: 1 }, next)).toBe(
      true,
    );
    expect(await writer.delete(c.id)).toBe(true);
    await writer.insert({ ...dead, expiresAt: clock.now() + 60_000 });
    // Unsuccessful writes change nothing and say nothing.
    expect(await writer.replace({ ...a, version: 9 }, 7)).toBe(false);
    expect(await writer.delete(c.id)).toBe(false);
    await fence(rec);
    expect(rec.invalidated()).toEqual([a.id, b.id, c.id, dead.id]);
  });

  it('names every id of a deleteBySubject, in batches under the 8000-byte payload limit', async () => {
    const { rec } = await watching();
    const subject = makeRecord().subject;
    const ids: string[] = [];
    for (let i = 0; i < 400; i += 1) {
      const r = makeRecord({ subject });
      ids.push(r.id);
      await writer.insert(r);
    }
    await fence(rec);
    expect(await writer.deleteBySubject(subject)).toBe(400);
    await fence(rec);
    expect([...rec.invalidated()].sort()).toEqual([...ids].sort());
    expect(rec.resets()).toBe(1);
  });

  it('hears writes the store did not make: a manual DELETE and UPDATE, sweep, and TRUNCATE (reset)', async () => {
    const { rec } = await watching();
    const table = `"${world.schema}"."cloakroom_sessions"`;
    const a = makeRecord();
    const b = makeRecord();
    const old = makeRecord({ expiresAt: clock.now() - 10 });
    for (const r of [a, b, old]) await writer.insert(r);
    await world.admin.query(`UPDATE ${table} SET version = version + 1 WHERE id = $1`, [a.id]);
    await world.admin.query(`DELETE FROM ${table} WHERE id = $1`, [b.id]);
    expect(await writer.sweep(clock.now())).toBeGreaterThanOrEqual(1);
    await fence(rec);
    expect(rec.invalidated()).toEqual([a.id, b.id, old.id]);
    const resetsBefore = rec.resets();
    await world.admin.query(`TRUNCATE ${table}`);
    await until(() => rec.resets() === resetsBefore + 1, 'the reset for TRUNCATE');
  });

  it('SEC-32 an unknown message on the channel drops everything instead of being ignored', async () => {
    const { rec } = await watching();
    const before = rec.resets();
    await world.admin.query('SELECT pg_notify($1, $2)', [
      `cloakroom.${world.schema}.cloakroom_sessions`,
      'not-an-id',
    ]);
    await until(() => rec.resets() === before + 1, 'the reset');
  });

  it('SEC-32 refuses to watch a table missing a trigger, and stops answering when one is dropped', async () => {
    const schema = uniqueName('crpg_watch_v1');
    // Only two of the three triggers: still refused.
    await migrate(world.admin, { schema, invalidationTriggers: true });
    await world.admin.query(
      `DROP TRIGGER "cloakroom_sessions_notify_delete" ON "${schema}"."cloakroom_sessions"`,
    );
    const store = createPostgresStore({ pool: world.pool({ max: 1 }), schema });
    open.push(store, {
      close: () => world.admin.query(`DROP SCHEMA "${schema}" CASCADE`).then(() => {}),
    });
    const err = await caught(() => store.watch(recorder().listener));
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toMatch(/migrate\(\)/);

    const { channel, rec } = await watching(undefined, 200);
    await world.admin.query(
      `ALTER TABLE "${world.schema}"."cloakroom_sessions" DISABLE TRIGGER "cloakroom_sessions_notify_update"`,
    );
    try {
      await until(() => !channel.live, 'live to drop');
      expect(rec.resets()).toBeGreaterThanOrEqual(2);
    } finally {
      await world.admin.query(
        `ALTER TABLE "${world.schema}"."cloakroom_sessions" ENABLE ALWAYS TRIGGER "cloakroom_sessions_notify_update"`,
      );
    }
    await until(() => channel.live, 'live again once the trigger is back');
  });

  it('SEC-32 a terminated LISTEN backend resets and drops live, then reconnects, resets and is live again', async () => {
    const { channel, rec, tag } = await watching();
    const pids = await world.admin.query(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [tag],
    );
    expect(pids.rowCount).toBe(1);
    // Read live synchronously from the listener: it must already be false when reset runs.
    const liveAtReset: boolean[] = [];
    rec.listener.reset = () => {
      liveAtReset.push(channel.live);
      rec.events.push('reset');
    };
    const before = rec.resets();
    await world.admin.query('SELECT pg_terminate_backend($1)', [pids.rows[0].pid]);
    await until(() => rec.resets() > before, 'the reset');
    expect(liveAtReset[0]).toBe(false);
    await until(() => channel.live, 'the channel to come back');
    expect(rec.resets()).toBeGreaterThanOrEqual(before + 2);
    // And it hears changes on the new connection.
    await fence(rec);
  });

  it('SEC-32 a stalled connection (probe unanswered) stops being live within the bound and resets', async () => {
    const target = new URL(TEST_URL);
    const proxy: TcpProxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    open.push(proxy);
    const store = createPostgresStore({
      pool: world.pool({ max: 1 }),
      ...world.tables,
      invalidation: {
        boundMs: 200,
        connection: { connectionString: urlWith({ port: proxy.port }) },
      },
    });
    open.push(store);
    const rec = recorder();
    const channel = await store.watch(rec.listener);
    expect(channel.live).toBe(true);
    proxy.stall();
    await until(() => !channel.live, 'live to drop');
    await until(() => rec.resets() >= 2, 'the reset');
    await proxy.restore();
    await until(() => channel.live, 'live after the network is back');
  });

  it('SEC-32 a LISTEN connection that reached another database (same schema, triggers armed there) never vouches: the probe goes through the store pool', async () => {
    // The store writes to `test`; its LISTEN connection is (mis)configured to
    // the `postgres` database, where a twin table with armed triggers exists.
    // A probe sent on the LISTEN connection itself would echo there and vouch
    // for a channel that hears none of the store's writes.
    const other = new URL(TEST_URL);
    other.pathname = '/postgres';
    const twinAdmin = new pg.Pool({ connectionString: other.toString(), max: 1 });
    twinAdmin.on('error', () => {});
    try {
      await migrate(twinAdmin, { ...world.tables, invalidationTriggers: true });
      const store = createPostgresStore({
        pool: world.pool({ max: 1 }),
        ...world.tables,
        statementTimeoutMs: 1500,
        invalidation: { boundMs: 200, connection: { connectionString: other.toString() } },
      });
      open.push(store);
      const rec = recorder();
      const error = await caught(() => store.watch(rec.listener));
      expect(error).toBeInstanceOf(StoreUnavailable);
    } finally {
      await twinAdmin.query(`DROP SCHEMA IF EXISTS "${world.schema}" CASCADE`).catch(() => {});
      await twinAdmin.end();
    }
  });

  it('close() ends the channel (live false, no more events); store.close() closes its channels; watch after close is Closed', async () => {
    const { store, channel, rec } = await watching();
    await channel.close();
    await channel.close();
    expect(channel.live).toBe(false);
    const count = rec.events.length;
    const r = makeRecord();
    await writer.insert(r);
    await writer.delete(r.id);
    await new Promise((res) => setTimeout(res, 50));
    expect(rec.events.length).toBe(count);

    const other = await store.watch(recorder().listener);
    await store.close();
    expect(other.live).toBe(false);
    expect(await caught(() => store.watch(recorder().listener))).toBeInstanceOf(Closed);
  });

  it('rejects a listener without invalidate and reset', async () => {
    const { store } = await watching();
    expect(await caught(() => store.watch({} as never))).toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('invalidation options are checked when the store is created (ConfigInvalid)', () => {
    const pool = world.pool({ max: 1 });
    for (const invalidation of [
      { boundMs: 0 },
      { boundMs: 19 },
      { boundMs: 1.5 },
      { connection: 'x' },
    ]) {
      expect(() =>
        createPostgresStore({ pool, ...world.tables, invalidation: invalidation as never }),
      ).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
    }
  });

  it('an unreachable server makes watch throw StoreUnavailable within the deadline', async () => {
    const store = createPostgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      statementTimeoutMs: 500,
    });
    open.push(store);
    expect(await caught(() => store.watch(recorder().listener))).toBeInstanceOf(StoreUnavailable);
  });
});
