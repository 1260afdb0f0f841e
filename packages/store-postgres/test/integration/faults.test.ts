import { isCloakroomError, type SessionRecord, StoreUnavailable } from '@cloakroom/core';
import {
  createPostgresKeySetStore,
  createPostgresStore,
  type PostgresStore,
} from '@cloakroom/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caught,
  createWorld,
  makeRecord,
  type PgWorld,
  TEST_URL,
  uniqueName,
  urlWith,
} from './pg-harness';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

const TIMEOUT_MS = 800;
/** Scheduling slack on top of the store's own deadline. */
const SLACK_MS = 700;

let world: PgWorld;
let proxy: TcpProxy;

beforeAll(async () => {
  world = await createWorld('crpg_fault');
  const target = new URL(TEST_URL);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
});
afterAll(async () => {
  await proxy?.close();
  await world?.teardown();
});

/** A store behind the proxy, tagged so the test can find its server backends. */
function proxiedStore(tag: string): PostgresStore {
  // No connectionTimeoutMillis on purpose: the store's own deadline must bound every call.
  const pool = world.pool({
    connectionString: urlWith({ port: proxy.port }),
    application_name: tag,
    max: 3,
  });
  return createPostgresStore({ pool, ...world.tables, statementTimeoutMs: TIMEOUT_MS });
}

async function timed(fn: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const start = performance.now();
  const err = await caught(fn);
  return { err, ms: performance.now() - start };
}

/** Every store method, as a list of calls that need the server. */
function everyCall(store: PostgresStore, rec: SessionRecord): (() => Promise<unknown>)[] {
  return [
    () => store.get(rec.id),
    () => store.insert(makeRecord()),
    () => store.replace({ ...rec, version: 2 }, 1),
    () => store.rotate({ record: { ...rec, version: 2 }, expectedVersion: 1 }, makeRecord()),
    () => store.delete(makeRecord().id),
    () => store.deleteBySubject(rec.subject),
    () => store.listBySubject(rec.subject),
    () => store.scan({ limit: 5 }),
    () => store.sweep(0),
  ];
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const backends = async (tag: string, extra = 'true') =>
  (
    await world.admin.query(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND ${extra}`,
      [tag],
    )
  ).rows.map((r) => r.pid as number);

describe('postgres store: server unreachable or restarted', () => {
  it('cut connection: every call throws StoreUnavailable (with cause) within the timeout, then recovers', async () => {
    const store = proxiedStore(uniqueName('crpg_cut'));
    const rec = makeRecord();
    await store.insert(rec);
    await proxy.cut();
    for (const call of everyCall(store, rec)) {
      const { err, ms } = await timed(call);
      expect(err).toBeInstanceOf(StoreUnavailable);
      expect((err as Error).cause).toBeDefined();
      expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
    await proxy.restore();
    expect(await store.get(rec.id)).toEqual(rec);
    expect(await store.replace({ ...rec, version: 2 }, 1)).toBe(true);
    await store.close();
  });

  it('silent server (packets dropped): StoreUnavailable within the timeout, never a hang; recovers after', async () => {
    const store = proxiedStore(uniqueName('crpg_stall'));
    const keySets = createPostgresKeySetStore({
      pool: world.pool({ connectionString: urlWith({ port: proxy.port }), max: 2 }),
      ...world.tables,
      statementTimeoutMs: TIMEOUT_MS,
    });
    const rec = makeRecord();
    await store.insert(rec);
    proxy.stall();
    try {
      // Held connections and fresh connects both go silent; more calls than pool slots.
      const outcomes = await Promise.all(
        [...everyCall(store, rec), () => keySets.read('default')].map((call) => timed(call)),
      );
      for (const { err, ms } of outcomes) {
        expect(err).toBeInstanceOf(StoreUnavailable);
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
        expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      }
    } finally {
      await proxy.restore();
    }
    expect(await store.get(rec.id)).toEqual(rec);
    expect(await keySets.write('default', new Uint8Array([1]), null)).toBe(true);
    await store.close();
  });

  it('rotate cut mid-statement is all or nothing: the swap and the insert survive together or not at all', async () => {
    const tag = uniqueName('crpg_midrot');
    const store = proxiedStore(tag);
    const old = makeRecord();
    const next = makeRecord();
    await store.insert(old);
    // An uncommitted row with next.id makes the store's INSERT wait after its UPDATE already ran.
    const blocker = await world.admin.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO "${world.schema}".cloakroom_sessions VALUES ($1, 's', 1, 1, '\\x00'::bytea)`,
        [next.id],
      );
      const rotating = caught(() =>
        store.rotate(
          { record: { ...old, version: 2, payload: new Uint8Array([2]) }, expectedVersion: 1 },
          next,
        ),
      );
      await waitFor(
        async () => (await backends(tag, "wait_event_type = 'Lock'")).length === 1,
        'lock wait',
      );
      await proxy.cut();
      expect(await rotating).toBeInstanceOf(StoreUnavailable);
      await blocker.query('ROLLBACK');
    } finally {
      blocker.release();
    }
    // The orphaned backend finishes its statement with its client gone. rotate is one
    // statement (its own transaction), so the server commits or discards it whole, the
    // same as a COMMIT whose answer was lost; the caller was told StoreUnavailable (outcome
    // unknown). What must never happen is one half without the other.
    await waitFor(async () => (await backends(tag)).length === 0, 'orphaned backend to exit');
    const rows = await world.admin.query(
      `SELECT id, version FROM "${world.schema}".cloakroom_sessions WHERE id = ANY($1) ORDER BY id = $2 DESC`,
      [[old.id, next.id], old.id],
    );
    const neither = [{ id: old.id, version: 1 }];
    const both = [
      { id: old.id, version: 2 },
      { id: next.id, version: 1 },
    ];
    expect([neither, both]).toContainEqual(rows.rows);
    await proxy.restore();
    if (rows.rows.length === 1) {
      expect(await store.get(old.id)).toEqual(old);
      expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next)).toBe(
        true,
      );
    }
    expect(await store.get(next.id)).toEqual(next);
    expect((await store.get(old.id))?.version).toBe(2);
    await store.close();
  });

  it('pg_terminate_backend (a server restart) of busy and idle connections: StoreUnavailable or success, never a raw error, then recovery', async () => {
    const tag = uniqueName('crpg_term');
    const pool = world.pool({ connectionString: TEST_URL, application_name: tag, max: 3 });
    const store = createPostgresStore({ pool, ...world.tables, statementTimeoutMs: 3000 });
    const old = makeRecord();
    const next = makeRecord();
    await store.insert(old);
    await Promise.all([store.get(old.id), store.get(old.id), store.get(old.id)]);

    const blocker = await world.admin.connect();
    let rotateErr: unknown;
    try {
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO "${world.schema}".cloakroom_sessions VALUES ($1, 's', 1, 1, '\\x00'::bytea)`,
        [next.id],
      );
      const rotating = caught(() =>
        store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next),
      );
      await waitFor(
        async () => (await backends(tag, "wait_event_type = 'Lock'")).length === 1,
        'lock wait',
      );
      await world.admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [tag],
      );
      rotateErr = await rotating;
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    expect(rotateErr).toBeInstanceOf(StoreUnavailable);
    expect((rotateErr as Error).message).not.toContain(old.id);
    await waitFor(async () => (await backends(tag)).length === 0, 'terminated backends to exit');

    let successes = 0;
    for (let i = 0; i < 6; i += 1) {
      try {
        expect(await store.get(old.id)).toEqual(old);
        successes += 1;
      } catch (err) {
        expect(isCloakroomError(err) && err instanceof StoreUnavailable, String(err)).toBe(true);
      }
    }
    expect(successes).toBeGreaterThanOrEqual(3);
    expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next)).toBe(
      true,
    );
    await store.close();
  });
});
