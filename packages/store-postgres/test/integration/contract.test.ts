import {
  Closed,
  ConfigInvalid,
  InvalidArgument,
  type SessionRecord,
  StoreConflict,
  StoreUnavailable,
} from '@cloakroom/core';
import { createPostgresStore, type PostgresStore } from '@cloakroom/store-postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  caught,
  createWorld,
  fakeClock,
  makeRecord,
  type PgWorld,
  randomId,
  recordQueries,
} from './pg-harness';

let world: PgWorld;
let store: PostgresStore;
const clock = fakeClock();

beforeAll(async () => {
  world = await createWorld('crpg_contract');
  store = createPostgresStore({ pool: world.pool({ max: 4 }), ...world.tables, clock: clock.now });
});
afterAll(async () => {
  await store?.close();
  await world?.teardown();
});
beforeEach(() => clock.set(1_700_000_000_000));

const live = (o: Partial<SessionRecord> = {}) =>
  makeRecord({ expiresAt: clock.now() + 60_000, ...o });

describe('postgres store: contract edges', () => {
  it('declares nativeExpiry false and shared true', () => {
    expect(store.name).toBe('postgres');
    expect(store.capabilities).toEqual({ nativeExpiry: false, shared: true });
  });

  it('round-trips a record, 64 KiB payload of every byte value, as a copy', async () => {
    const payload = new Uint8Array(64 * 1024).map((_, i) => i % 256);
    const rec = live({ payload, version: 7 });
    await store.insert(rec);
    const got = await store.get(rec.id);
    expect(got).toEqual({ ...rec, payload });
    expect(got?.payload).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(got?.payload)).toBe(false);
    got!.payload[0] = 99;
    expect((await store.get(rec.id))?.payload[0]).toBe(0);
  });

  it('stores an empty payload', async () => {
    const rec = live({ payload: new Uint8Array(0) });
    await store.insert(rec);
    expect((await store.get(rec.id))?.payload).toEqual(new Uint8Array(0));
  });

  it('insert of a live id throws StoreConflict and leaves the existing record untouched', async () => {
    const rec = live();
    await store.insert(rec);
    const err = await caught(() =>
      store.insert({ ...rec, version: 9, payload: new Uint8Array([1]) }),
    );
    expect(err).toBeInstanceOf(StoreConflict);
    expect(await store.get(rec.id)).toEqual(rec);
  });

  it('a record is dead at now >= expiresAt: get null, replace/delete false, insert overwrites', async () => {
    const rec = live({ expiresAt: clock.now() + 1000 });
    await store.insert(rec);
    clock.advance(999);
    expect(await store.get(rec.id)).toEqual(rec);
    clock.advance(1);
    expect(await store.get(rec.id)).toBeNull();
    expect(await store.replace({ ...rec, version: 2, expiresAt: clock.now() + 5000 }, 1)).toBe(
      false,
    );
    expect(await store.listBySubject(rec.subject)).toEqual([]);
    expect((await store.scan({ limit: 1000 })).records.map((r) => r.id)).not.toContain(rec.id);
    const fresh = {
      ...rec,
      version: 1,
      expiresAt: clock.now() + 5000,
      payload: new Uint8Array([5]),
    };
    await store.insert(fresh);
    expect(await store.get(rec.id)).toEqual(fresh);
    clock.advance(5000);
    expect(await store.delete(rec.id)).toBe(false);
  });

  it('replace is compare-and-swap on the version and moves the subject index', async () => {
    const rec = live();
    await store.insert(rec);
    const moved = { ...rec, version: 2, subject: randomId(), payload: new Uint8Array([2]) };
    expect(await store.replace(moved, 2)).toBe(false);
    expect(await store.replace(moved, 1)).toBe(true);
    expect(await store.replace({ ...moved, version: 3 }, 1)).toBe(false);
    expect(await store.get(rec.id)).toEqual(moved);
    expect(await store.listBySubject(rec.subject)).toEqual([]);
    expect(await store.listBySubject(moved.subject)).toEqual([moved]);
    expect(await store.replace(live(), 1)).toBe(false);
  });

  it('rotate swaps the old record and inserts the next one together', async () => {
    const old = live();
    await store.insert(old);
    const next = live({ subject: old.subject });
    const retired = { ...old, version: 2, expiresAt: clock.now() + 10_000 };
    expect(await store.rotate({ record: retired, expectedVersion: 1 }, next)).toBe(true);
    expect(await store.get(old.id)).toEqual(retired);
    expect(await store.get(next.id)).toEqual(next);
    // A stale version changes nothing.
    const other = live();
    expect(await store.rotate({ record: { ...old, version: 3 }, expectedVersion: 1 }, other)).toBe(
      false,
    );
    expect(await store.get(other.id)).toBeNull();
    expect(await store.get(old.id)).toEqual(retired);
  });

  it('rotate onto a live next id throws StoreConflict and changes nothing; onto an expired one succeeds', async () => {
    const old = live();
    const taken = live();
    await store.insert(old);
    await store.insert(taken);
    const err = await caught(() =>
      store.rotate(
        { record: { ...old, version: 2 }, expectedVersion: 1 },
        { ...taken, payload: new Uint8Array([1]) },
      ),
    );
    expect(err).toBeInstanceOf(StoreConflict);
    expect(await store.get(old.id)).toEqual(old);
    expect(await store.get(taken.id)).toEqual(taken);
    // rotate onto its own id conflicts too, and rolls the swap back.
    expect(
      await caught(() => store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, old)),
    ).toBeInstanceOf(StoreConflict);
    expect(await store.get(old.id)).toEqual(old);

    const dying = live({ expiresAt: clock.now() + 10 });
    await store.insert(dying);
    clock.advance(10);
    const next = { ...dying, expiresAt: clock.now() + 1000, payload: new Uint8Array([3]) };
    const keep = { ...old, version: 2 };
    expect(await store.rotate({ record: keep, expectedVersion: 1 }, next)).toBe(true);
    expect(await store.get(dying.id)).toEqual(next);
  });

  it('get is one round trip on a named prepared statement', async () => {
    const pool = world.pool({ max: 1 });
    const sent = recordQueries(pool);
    const s = createPostgresStore({ pool, ...world.tables, clock: clock.now });
    const rec = live();
    await store.insert(rec);
    sent.length = 0;
    expect(await s.get(rec.id)).toEqual(rec);
    expect(await s.get(randomId())).toBeNull();
    expect(sent).toHaveLength(2);
    expect(sent[0]!.name).toMatch(/^cloakroom_[0-9a-f]{24}$/);
    expect(sent[1]!.name).toBe(sent[0]!.name);
    expect(sent[0]!.text).toMatch(/^SELECT .* WHERE id = \$1 AND expires_at > \$2::int8$/);
    await s.close();
  });

  it('insert of a fresh id is one plain INSERT (no ON CONFLICT); only a taken id costs a second statement', async () => {
    const pool = world.pool({ max: 1 });
    const sent = recordQueries(pool);
    const s = createPostgresStore({ pool, ...world.tables, clock: clock.now });
    await s.insert(live());
    expect(sent).toHaveLength(1);
    // The seat is the server's clock, named explicitly (the column has no default); no read.
    expect(sent[0]!.text).toMatch(
      /^INSERT INTO .* VALUES \(\$1, \$2, \$3::int8, \$4::int4, \$5::bytea, \(extract\(epoch FROM clock_timestamp\(\)\) \* 1000000\)::int8\)$/,
    );
    const dead = live({ expiresAt: clock.now() - 1 });
    await s.insert(dead);
    sent.length = 0;
    await s.insert({ ...dead, expiresAt: clock.now() + 1000 });
    expect(sent.map((q) => q.text.split(' ')[0])).toEqual(['INSERT', 'UPDATE']);
    expect(await s.get(dead.id)).toEqual({ ...dead, expiresAt: clock.now() + 1000 });
    await s.close();
  });

  it("expiry is judged by the store's clock, not the server's now()", async () => {
    // The fake clock sits in 2023; the server's clock is years later.
    const rec = live({ expiresAt: clock.now() + 1000 });
    await store.insert(rec);
    const server = await world.admin.query('SELECT (extract(epoch FROM now()) * 1000)::int8 AS ms');
    expect(Number(server.rows[0].ms)).toBeGreaterThan(rec.expiresAt);
    expect(await store.get(rec.id)).toEqual(rec);
    expect(await store.sweep(clock.now())).toBe(0);
    expect(await store.get(rec.id)).toEqual(rec);
    clock.advance(1000);
    expect(await store.get(rec.id)).toBeNull();
  });

  it('delete reports only live deletions; repeats return false', async () => {
    const rec = live();
    await store.insert(rec);
    expect(await store.delete(rec.id)).toBe(true);
    expect(await store.delete(rec.id)).toBe(false);
    expect(await store.get(rec.id)).toBeNull();
  });

  it('deleteBySubject counts live records only and leaves other subjects alone', async () => {
    const subject = randomId();
    const a = live({ subject });
    const b = live({ subject });
    const dead = live({ subject, expiresAt: clock.now() + 1 });
    const other = live();
    for (const r of [a, b, dead, other]) await store.insert(r);
    clock.advance(1);
    const listed = await store.listBySubject(subject);
    expect(listed.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    expect(await store.deleteBySubject(subject)).toBe(2);
    expect(await store.deleteBySubject(subject)).toBe(0);
    expect(await store.get(other.id)).toEqual(other);
  });

  it('untrusted ids (NUL, lone surrogates, quotes, 10 KB) are harmless', async () => {
    for (const id of ['\0', 'a\0b', '\ud800', "'; DROP TABLE x; --", 'x'.repeat(10_000), '']) {
      expect(await store.get(id)).toBeNull();
      expect(await store.delete(id)).toBe(false);
      expect(await store.listBySubject(id)).toEqual([]);
      expect(await store.deleteBySubject(id)).toBe(0);
    }
    expect(await caught(() => store.insert(live({ id: 'a\0b' })))).toBeInstanceOf(InvalidArgument);
    expect(await caught(() => store.insert(live({ version: 1.5 })))).toBeInstanceOf(
      InvalidArgument,
    );
    expect(await caught(() => store.insert(live({ expiresAt: Number.NaN })))).toBeInstanceOf(
      InvalidArgument,
    );
    // Every store answers a version that is not a positive integer the same way (core's assertRecordVersion).
    for (const v of [0.5, 0, -1]) {
      expect(await caught(() => store.replace(live(), v))).toBeInstanceOf(InvalidArgument);
      expect(
        await caught(() => store.rotate({ record: live(), expectedVersion: v }, live())),
      ).toBeInstanceOf(InvalidArgument);
    }
    expect(await store.replace(live({ version: 2 }), 2 ** 31)).toBe(false);
    for (const bad of [
      live({ id: 'x'.repeat(42) }),
      live({ subject: 'x'.repeat(44) }),
      live({ version: 2 ** 31 }),
    ]) {
      expect(await caught(() => store.insert(bad))).toBeInstanceOf(InvalidArgument);
    }
    const realm = live({ payload: { [Symbol.toStringTag]: 'Uint8Array' } as never });
    expect(await caught(() => store.insert(realm))).toBeInstanceOf(InvalidArgument);
  });

  it('rejects a missing pool and bad option values with ConfigInvalid', () => {
    expect(() => createPostgresStore({})).toThrow(ConfigInvalid);
    expect(() => createPostgresStore({ pool: world.admin, statementTimeoutMs: 0 })).toThrow(
      ConfigInvalid,
    );
    expect(() => createPostgresStore({ pool: world.admin, sweepBatchSize: 1.5 })).toThrow(
      ConfigInvalid,
    );
    expect(() =>
      createPostgresStore({ pool: world.admin, connectionString: 'postgres://127.0.0.1/x' }),
    ).toThrow(ConfigInvalid);
  });

  it('a clock returning NaN is reported as ConfigInvalid, not a database error', async () => {
    const s = createPostgresStore({ pool: world.admin, ...world.tables, clock: () => Number.NaN });
    expect(await caught(() => s.get(randomId()))).toBeInstanceOf(ConfigInvalid);
  });

  it('close is idempotent, never ends a caller pool, and every later call throws Closed', async () => {
    const pool = world.pool({ max: 1 });
    const s = createPostgresStore({ pool, ...world.tables });
    const rec = live();
    await s.close();
    await s.close();
    const calls: Array<() => Promise<unknown>> = [
      () => s.insert(rec),
      () => s.get(rec.id),
      () => s.replace({ ...rec, version: 2 }, 1),
      () => s.rotate({ record: { ...rec, version: 2 }, expectedVersion: 1 }, live()),
      () => s.delete(rec.id),
      () => s.deleteBySubject(rec.subject),
      () => s.listBySubject(rec.subject),
      () => s.scan({ limit: 1 }),
      () => s.sweep(clock.now()),
    ];
    for (const call of calls) expect(await caught(call)).toBeInstanceOf(Closed);
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('takes its copy of a payload when called: a buffer reused at once cannot change what is written', async () => {
    const original = Uint8Array.from([1, 2, 3, 4]);
    const payload = original.slice();
    const rec = live({ payload });
    const inserting = store.insert(rec);
    payload.fill(0xee);
    await inserting;
    expect((await store.get(rec.id))?.payload).toEqual(original);

    const next = live({ payload: original.slice() });
    const v2 = { ...rec, version: 2, payload: original.slice() };
    const rotating = store.rotate({ record: v2, expectedVersion: 1 }, next);
    v2.payload.fill(0xdd);
    next.payload.fill(0xcc);
    expect(await rotating).toBe(true);
    expect((await store.get(rec.id))?.payload).toEqual(original);
    expect((await store.get(next.id))?.payload).toEqual(original);

    const v3 = { ...rec, version: 3, payload: original.slice() };
    const replacing = store.replace(v3, 2);
    v3.payload.fill(0xbb);
    expect(await replacing).toBe(true);
    expect((await store.get(rec.id))?.payload).toEqual(original);
  });

  it('a malformed id or subject is answered as missing without reaching the database', async () => {
    const untouchable = {
      connect: () => {
        throw new Error('no query may run for a malformed id');
      },
    } as unknown as import('pg').Pool;
    const s = createPostgresStore({ pool: untouchable, ...world.tables });
    for (const id of ['x'.repeat(42), 'x'.repeat(44), `${'x'.repeat(42)}/`, '', 7]) {
      expect(await s.get(id as string)).toBeNull();
      expect(await s.delete(id as string)).toBe(false);
      expect(await s.listBySubject(id as string)).toEqual([]);
      expect(await s.deleteBySubject(id as string)).toBe(0);
    }
  });

  it('a connectionString store ends only its own pool on close', async () => {
    const s = createPostgresStore({
      connectionString: world.admin.options.connectionString as string,
      ...world.tables,
      clock: clock.now,
    });
    const rec = live();
    await s.insert(rec);
    expect((await s.get(rec.id))?.id).toBe(rec.id);
    await s.close();
    expect(await caught(() => s.get(rec.id))).toBeInstanceOf(Closed);
    expect((await world.admin.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('ssl options pass through to the pool built from connectionString', async () => {
    const url = world.admin.options.connectionString as string;
    const plain = createPostgresStore({ connectionString: url, ...world.tables, clock: clock.now });
    expect(await plain.get(randomId())).toBeNull();
    await plain.close();
    // A CA nobody signed with: whether or not the server speaks TLS, this can only
    // fail if the store handed `ssl` to the driver.
    const s = createPostgresStore({
      connectionString: url,
      ssl: { ca: 'not a certificate', rejectUnauthorized: true },
      ...world.tables,
    });
    const err = await caught(() => s.get(randomId()));
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect(String((err as Error).cause)).toMatch(/SSL|TLS|certificate|PEM/i);
    await s.close();
  });

  it('a store over an unmigrated schema throws StoreUnavailable naming migrate()', async () => {
    const s = createPostgresStore({ pool: world.admin, schema: 'crpg_never_migrated' });
    const err = await caught(() => s.get(randomId()));
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toMatch(/migrate\(\)/);
    expect((err as Error).cause).toBeDefined();
  });
});

describe('postgres store: scan', () => {
  it('pages with an opaque cursor; each record live throughout appears exactly once', async () => {
    const s = createPostgresStore({
      pool: world.admin,
      ...world.tables,
      table: 'scan_sessions',
      clock: clock.now,
    });
    const { migrate } = await import('@cloakroom/store-postgres');
    await migrate(world.admin, { ...world.tables, table: 'scan_sessions' });
    const stable = Array.from({ length: 57 }, () => live());
    for (const r of stable) await s.insert(r);
    const expired = live({ expiresAt: clock.now() + 1 });
    await s.insert(expired);
    clock.advance(1);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    let previousChurn: SessionRecord | undefined;
    do {
      const page = await s.scan(cursor === undefined ? { limit: 10 } : { cursor, limit: 10 });
      expect(page.records.length).toBeLessThanOrEqual(10);
      seen.push(...page.records.map((r) => r.id));
      // Churn during the scan: other records come and go between pages.
      const churn = live();
      await s.insert(churn);
      if (previousChurn) await s.delete(previousChurn.id);
      previousChurn = churn;
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== undefined && pages < 100);
    const stableIds = new Set(stable.map((r) => r.id));
    const counted = seen.filter((id) => stableIds.has(id));
    expect(counted.sort()).toEqual([...stableIds].sort());
    expect(seen).not.toContain(expired.id);
    await s.close();
  });

  it('rejects forged cursors and limits that are not positive safe integers with InvalidArgument', async () => {
    for (const cursor of ['', 'abc', 'pg1.%%%', "pg1.' OR 1=1 --", 'pg1.', 5, null]) {
      expect(await caught(() => store.scan({ cursor: cursor as string, limit: 5 }))).toBeInstanceOf(
        InvalidArgument,
      );
    }
    for (const limit of [0, -1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY, '5']) {
      expect(await caught(() => store.scan({ limit: limit as number }))).toBeInstanceOf(
        InvalidArgument,
      );
    }
  });

  it('a genuine cursor altered in any one character is rejected, not resumed elsewhere', async () => {
    for (let i = 0; i < 6; i++) await store.insert(live());
    const page = await store.scan({ limit: 2 });
    const cursor = page.cursor as string;
    expect(cursor).toBeDefined();
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.';
    for (let at = 0; at < cursor.length; at++) {
      for (const c of alphabet) {
        if (c === cursor[at]) continue;
        const altered = cursor.slice(0, at) + c + cursor.slice(at + 1);
        expect(await caught(() => store.scan({ cursor: altered, limit: 2 }))).toBeInstanceOf(
          InvalidArgument,
        );
      }
    }
    expect((await store.scan({ cursor, limit: 2 })).records.length).toBeGreaterThan(0);
  });
});
