// insertWithLimit on the real server: the seat rules of the store contract,
// evict-oldest and refuse, the invalidation of evicted rows (SEC-32), and
// the limit holding under concurrent callers on separate pools and in two
// OS processes (sampled at every instant, not only at the end).
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Closed,
  InvalidArgument,
  isCloakroomError,
  type SessionRecord,
  StoreConflict,
  type SubjectLimit,
} from '@cloakroom/core';
import { createPostgresStore, migrate, type PostgresStore } from '@cloakroom/store-postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caught,
  createWorld,
  fakeClock,
  makeRecord,
  type PgWorld,
  randomId,
  recordQueries,
  TEST_URL,
} from './pg-harness';
import type { SeatJob, SeatReport } from './seats-worker';

let world: PgWorld;
let store: PostgresStore;
const clock = fakeClock();
const opened: PostgresStore[] = [];
const children: ChildProcess[] = [];
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const workerFile = fileURLToPath(new URL('./seats-worker.ts', import.meta.url));

beforeAll(async () => {
  world = await createWorld('crpg_seat');
  await migrate(world.admin, { ...world.tables, invalidationTriggers: true });
  store = createPostgresStore({ pool: world.pool({ max: 4 }), ...world.tables, clock: clock.now });
  opened.push(store);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill();
  await Promise.all(opened.map((s) => s.close()));
  await world?.teardown();
});

const oldest = (max: number): SubjectLimit => ({ max, evict: 'oldest' });
const refuse = (max: number): SubjectLimit => ({ max, evict: 'refuse' });
const table = (name = 'cloakroom_sessions') => `"${world.schema}"."${name}"`;
/**
 * The concurrency bursts' table, without the invalidation triggers: a burst
 * of notifying commits would queue on PostgreSQL's one NOTIFY lock and stall
 * the probes of other test files' channels on this shared server.
 */
const BURST = 'seat_burst';

/** Seated live rows of a subject, read behind the store's back, earliest seat first. */
async function seated(subject: string, at = clock.now(), name?: string): Promise<string[]> {
  const result = await world.admin.query<{ id: string }>(
    `SELECT id FROM ${table(name)} WHERE subject = $1 AND seat IS NOT NULL AND expires_at > $2 ORDER BY seat, id`,
    [subject, at],
  );
  return result.rows.map((r) => r.id);
}

/** `n` records of one subject, inserted one after another (so seated in this order). */
async function fill(n: number, subject = randomId(), via: 'insert' | 'limited' = 'insert') {
  const records: SessionRecord[] = [];
  for (let i = 0; i < n; i += 1) {
    const r = makeRecord({ subject });
    if (via === 'insert') await store.insert(r);
    else
      expect(await store.insertWithLimit(r, oldest(1000))).toEqual({ inserted: true, evicted: [] });
    records.push(r);
  }
  return { subject, records, ids: records.map((r) => r.id) };
}

describe('postgres insertWithLimit: seat rules', () => {
  it('inserts below the limit, evicting nothing; insert and insertWithLimit both take a seat', async () => {
    const { subject, ids } = await fill(2);
    const limited = makeRecord({ subject });
    expect(await store.insertWithLimit(limited, oldest(3))).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(await store.get(limited.id)).toEqual(limited);
    expect(await seated(subject)).toEqual([...ids, limited.id]);
  });

  it("'oldest' deletes the earliest-seated records, as many as needed, and answers their ids oldest first", async () => {
    const { subject, ids } = await fill(4, randomId(), 'limited');
    const a = makeRecord({ subject });
    expect(await store.insertWithLimit(a, oldest(4))).toEqual({
      inserted: true,
      evicted: [ids[0]],
    });
    // Two seats over (a limit lowered): the two earliest go, in seat order.
    const b = makeRecord({ subject });
    expect(await store.insertWithLimit(b, oldest(2))).toEqual({
      inserted: true,
      evicted: [ids[1], ids[2], ids[3]],
    });
    for (const id of ids) expect(await store.get(id)).toBeNull();
    expect(await seated(subject)).toEqual([a.id, b.id]);
    // Only this subject is counted: another subject's records are untouched.
    const other = await fill(3);
    expect(await store.insertWithLimit(makeRecord({ subject }), oldest(2))).toEqual({
      inserted: true,
      evicted: [a.id],
    });
    expect(await seated(other.subject)).toEqual(other.ids);
  });

  it("'refuse' changes nothing when full, and inserts once a seat is free", async () => {
    const { subject, ids } = await fill(3);
    const r = makeRecord({ subject });
    expect(await store.insertWithLimit(r, refuse(3))).toEqual({ inserted: false });
    expect(await store.get(r.id)).toBeNull();
    expect(await seated(subject)).toEqual(ids);
    expect(await store.delete(ids[1] as string)).toBe(true);
    expect(await store.insertWithLimit(r, refuse(3))).toEqual({ inserted: true, evicted: [] });
    expect(await seated(subject)).toEqual([ids[0], ids[2], r.id]);
  });

  it("rotate: next takes old's seat and its place in the order; old stays live without a seat", async () => {
    const { subject, records, ids } = await fill(2);
    const [a, b] = records as [SessionRecord, SessionRecord];
    const next = makeRecord({ subject });
    expect(
      await store.rotate(
        { record: { ...a, version: 2, expiresAt: clock.now() + 30_000 }, expectedVersion: 1 },
        next,
      ),
    ).toBe(true);
    expect(await store.get(a.id)).not.toBeNull();
    expect(await seated(subject)).toEqual([next.id, b.id]);
    // Three live records, two seats: a third fits under max 3 ...
    const c = makeRecord({ subject });
    expect(await store.insertWithLimit(c, oldest(3))).toEqual({ inserted: true, evicted: [] });
    // ... and the earliest seat is next's (a's old place), never the forwarder's.
    const d = makeRecord({ subject });
    expect(await store.insertWithLimit(d, oldest(3))).toEqual({
      inserted: true,
      evicted: [next.id],
    });
    expect(await store.get(a.id)).not.toBeNull();
    expect(await seated(subject)).toEqual([ids[1], c.id, d.id]);
  });

  it('rotate of a record without a seat (from before migration 3, an older release, a forwarder): next takes a fresh seat after every seat of its subject, clock behind or not', async () => {
    const { subject, ids } = await fill(2);
    const legacy = makeRecord({ subject });
    await store.insert(legacy);
    // What migration 3 leaves on a row from before it, or an older release's insert writes.
    await world.admin.query(`UPDATE ${table()} SET seat = NULL WHERE id = $1`, [legacy.id]);
    // A seat an hour ahead of the server's clock (taken before the clock stepped back).
    await world.admin.query(`UPDATE ${table()} SET seat = seat + 3600000000 WHERE id = $1`, [
      ids[1],
    ]);
    expect(await seated(subject)).toEqual(ids);
    const next = makeRecord({ subject });
    const rotated = { ...legacy, version: 2, expiresAt: clock.now() + 30_000 };
    expect(await store.rotate({ record: rotated, expectedVersion: 1 }, next)).toBe(true);
    expect(await seated(subject)).toEqual([ids[0], ids[1], next.id]);
    // insertWithLimit keeps the same floor: after next, not before the seat ahead of the clock.
    const x = makeRecord({ subject });
    expect(await store.insertWithLimit(x, oldest(4))).toEqual({ inserted: true, evicted: [] });
    expect(await seated(subject)).toEqual([ids[0], ids[1], next.id, x.id]);
    // Rotating the seatless forwarder again (not what core does) seats its successor too:
    // no live record escapes the count by rotation.
    const again = makeRecord({ subject });
    expect(
      await store.rotate({ record: { ...rotated, version: 3 }, expectedVersion: 2 }, again),
    ).toBe(true);
    expect(await seated(subject)).toEqual([ids[0], ids[1], next.id, x.id, again.id]);
    expect(await store.insertWithLimit(makeRecord({ subject }), refuse(5))).toEqual({
      inserted: false,
    });
    expect(await store.get(legacy.id)).toEqual({ ...rotated, version: 3 });
  });

  it('a plain insert seats the record itself (the column has no default), also over an expired seatless row', async () => {
    const subject = randomId();
    const r = makeRecord({ subject });
    await store.insert(r);
    const dead = makeRecord({ subject: randomId(), expiresAt: clock.now() - 1 });
    await store.insert(dead);
    await world.admin.query(`UPDATE ${table()} SET seat = NULL WHERE id = $1`, [dead.id]);
    const revived = { ...dead, subject, expiresAt: clock.now() + 60_000 };
    await store.insert(revived);
    expect(await store.get(dead.id)).toEqual(revived);
    expect(await seated(subject)).toEqual([r.id, dead.id]);
    expect(await store.insertWithLimit(makeRecord({ subject }), refuse(2))).toEqual({
      inserted: false,
    });
  });

  it('replace keeps the seat and its place, and moves it with the record to another subject', async () => {
    const { subject, records } = await fill(2);
    const [a, b] = records as [SessionRecord, SessionRecord];
    expect(await store.replace({ ...a, version: 2, payload: new Uint8Array([9]) }, 1)).toBe(true);
    expect(await seated(subject)).toEqual([a.id, b.id]);
    // a moves to subject T, where x was seated after a was.
    const t = randomId();
    const x = makeRecord({ subject: t });
    await store.insert(x);
    expect(await store.replace({ ...a, subject: t, version: 3 }, 2)).toBe(true);
    expect(await seated(subject)).toEqual([b.id]);
    expect(await seated(t)).toEqual([a.id, x.id]);
    expect(await store.insertWithLimit(makeRecord({ subject: t }), oldest(2))).toEqual({
      inserted: true,
      evicted: [a.id],
    });
  });

  it('deletion and expiry free the seat; an expired record never counts and is not reported evicted', async () => {
    const subject = randomId();
    const short = makeRecord({ subject, expiresAt: clock.now() + 1000 });
    await store.insert(short);
    const { ids } = await fill(2, subject);
    clock.advance(1000); // short is now at its expiresAt: dead
    const c = makeRecord({ subject });
    expect(await store.insertWithLimit(c, refuse(3))).toEqual({ inserted: true, evicted: [] });
    expect(await store.insertWithLimit(makeRecord({ subject }), refuse(3))).toEqual({
      inserted: false,
    });
    expect(await store.delete(ids[0] as string)).toBe(true);
    const e = makeRecord({ subject });
    expect(await store.insertWithLimit(e, oldest(3))).toEqual({ inserted: true, evicted: [] });
    expect(await store.insertWithLimit(makeRecord({ subject }), oldest(3))).toEqual({
      inserted: true,
      evicted: [ids[1]],
    });
    expect(await store.deleteBySubject(subject)).toBe(3);
    expect(await store.insertWithLimit(makeRecord({ subject }), refuse(1))).toEqual({
      inserted: true,
      evicted: [],
    });
  });

  it('a live duplicate id throws StoreConflict and evicts nothing, even when it is the oldest seat itself', async () => {
    const { subject, ids, records } = await fill(2);
    const taken = records[0] as SessionRecord;
    // Same id, same subject: without the check first, evicting the oldest would free the id.
    expect(
      await caught(() => store.insertWithLimit({ ...taken, version: 5 }, oldest(2))),
    ).toBeInstanceOf(StoreConflict);
    // Same id held by another subject's record, this subject full.
    const elsewhere = makeRecord();
    await store.insert(elsewhere);
    expect(
      await caught(() => store.insertWithLimit({ ...elsewhere, subject }, oldest(1))),
    ).toBeInstanceOf(StoreConflict);
    expect(
      await caught(() => store.insertWithLimit({ ...elsewhere, subject }, refuse(1))),
    ).toBeInstanceOf(StoreConflict);
    expect(await seated(subject)).toEqual(ids);
    expect(await store.get(taken.id)).toEqual(taken);
    expect(await store.get(elsewhere.id)).toEqual(elsewhere);
  });

  it('an expired row with the same id is written over, with a fresh seat at the end', async () => {
    const { subject, ids } = await fill(2);
    const dead = makeRecord({ subject: randomId(), expiresAt: clock.now() - 1 });
    await store.insert(dead);
    const revived = { ...dead, subject, expiresAt: clock.now() + 60_000 };
    expect(await store.insertWithLimit(revived, oldest(2))).toEqual({
      inserted: true,
      evicted: [ids[0]],
    });
    expect(await store.get(dead.id)).toEqual(revived);
    expect(await seated(subject)).toEqual([ids[1], dead.id]);
  });

  it('a malformed limit or record throws InvalidArgument before any query; nothing written', async () => {
    const { subject, ids } = await fill(1);
    const r = makeRecord({ subject });
    const bad: unknown[] = [
      undefined,
      null,
      5,
      {},
      { max: 0, evict: 'oldest' },
      { max: -1, evict: 'oldest' },
      { max: 1.5, evict: 'oldest' },
      { max: 1001, evict: 'oldest' },
      { max: Number.NaN, evict: 'refuse' },
      { max: '3', evict: 'refuse' },
      { max: 3, evict: 'newest' },
      { max: 3 },
    ];
    for (const limit of bad) {
      expect(await caught(() => store.insertWithLimit(r, limit as SubjectLimit))).toBeInstanceOf(
        InvalidArgument,
      );
    }
    expect(
      await caught(() => store.insertWithLimit({ ...r, id: 'short' }, oldest(1))),
    ).toBeInstanceOf(InvalidArgument);
    expect(
      await caught(() => store.insertWithLimit({ ...r, version: 0 }, oldest(1))),
    ).toBeInstanceOf(InvalidArgument);
    expect(await store.get(r.id)).toBeNull();
    expect(await seated(subject)).toEqual(ids);
  });

  it('is one short transaction: five statements, six with an eviction, four when refused; named prepared statements', async () => {
    const pool = world.pool({ max: 1 });
    const sent = recordQueries(pool);
    const s = createPostgresStore({ pool, ...world.tables, clock: clock.now });
    opened.push(s);
    const subject = randomId();
    const first = (text: string) => text.split(/[ (]/)[0];
    await s.insertWithLimit(makeRecord({ subject }), oldest(1));
    expect(sent.map((q) => first(q.text))).toEqual([
      'BEGIN',
      'SELECT',
      'SELECT',
      'INSERT',
      'COMMIT',
    ]);
    expect(sent[0]?.text).toBe('BEGIN ISOLATION LEVEL READ COMMITTED');
    expect(sent[1]?.text).toMatch(/pg_advisory_xact_lock/);
    for (const q of sent.slice(1, 4)) expect(q.name).toMatch(/^cloakroom_[0-9a-f]{24}$/);
    sent.length = 0;
    await s.insertWithLimit(makeRecord({ subject }), oldest(1));
    expect(sent.map((q) => first(q.text))).toEqual([
      'BEGIN',
      'SELECT',
      'SELECT',
      'WITH',
      'INSERT',
      'COMMIT',
    ]);
    sent.length = 0;
    expect(await s.insertWithLimit(makeRecord({ subject }), refuse(1))).toEqual({
      inserted: false,
    });
    expect(sent.map((q) => first(q.text))).toEqual(['BEGIN', 'SELECT', 'SELECT', 'ROLLBACK']);
  });

  it('after close() it throws Closed', async () => {
    const closing = createPostgresStore({ pool: world.pool({ max: 1 }), ...world.tables });
    await closing.close();
    expect(await caught(() => closing.insertWithLimit(makeRecord(), oldest(1)))).toBeInstanceOf(
      Closed,
    );
  });

  it('SEC-32 evicted records are invalidated on the channel like any delete', async () => {
    const { subject, ids } = await fill(3);
    const heard: string[] = [];
    const channel = await store.watch({ invalidate: (id) => heard.push(id), reset() {} });
    try {
      expect(await store.insertWithLimit(makeRecord({ subject }), oldest(2))).toEqual({
        inserted: true,
        evicted: [ids[0], ids[1]],
      });
      const until = Date.now() + 10_000;
      while (heard.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect([...heard].sort()).toEqual([ids[0], ids[1]].sort());
    } finally {
      await channel.close();
    }
  });
});

describe('postgres insertWithLimit: READ COMMITTED races, made to happen', () => {
  /**
   * Holds `change` uncommitted on its own connection, starts `call`, waits
   * until the call's eviction is blocked on the held row, then commits: the
   * call's count was taken before the change, its DELETE runs after it.
   */
  async function raceEviction<T>(
    change: (c: pg.PoolClient) => Promise<unknown>,
    call: () => Promise<T>,
  ) {
    const holder = await world.admin.connect();
    try {
      await holder.query('BEGIN');
      await change(holder);
      const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const pending = call();
      const until = Date.now() + 10_000;
      for (;;) {
        const waiting = await world.admin.query(
          `SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE 'WITH d AS (DELETE%'`,
          [pid],
        );
        if (waiting.rowCount === 1) break;
        if (Date.now() > until) throw new Error('the eviction never blocked on the held row');
        await new Promise((r) => setTimeout(r, 5));
      }
      await holder.query('COMMIT');
      return await pending;
    } finally {
      holder.release();
    }
  }

  it('a rotate committing between the count and the eviction: its successor (in the old seat) is evicted instead, never max + 1', async () => {
    const { subject, records, ids } = await fill(2);
    const x = records[0] as SessionRecord;
    const y = makeRecord({ subject });
    // What rotate(x -> y) commits: x unseated, y in x's seat.
    const answer = await raceEviction(
      async (c) => {
        const t = table();
        await c.query(
          `INSERT INTO ${t} (id, subject, expires_at, version, payload, seat) SELECT $1, subject, expires_at, 1, payload, seat FROM ${t} WHERE id = $2`,
          [y.id, x.id],
        );
        await c.query(`UPDATE ${t} SET seat = NULL, version = 2 WHERE id = $1`, [x.id]);
      },
      () => store.insertWithLimit(makeRecord({ subject }), oldest(2)),
    );
    expect(answer).toEqual({ inserted: true, evicted: [y.id] });
    expect(await store.get(x.id)).not.toBeNull();
    expect((await seated(subject)).length).toBe(2);
    expect((await seated(subject))[0]).toBe(ids[1]);
  });

  it('a replace moving the oldest record to another subject meanwhile: that seat left with it, nothing more is evicted', async () => {
    const { subject, records, ids } = await fill(2);
    const x = records[0] as SessionRecord;
    const answer = await raceEviction(
      (c) =>
        c.query(`UPDATE ${table()} SET subject = $2, version = 2 WHERE id = $1`, [
          x.id,
          randomId(),
        ]),
      () => store.insertWithLimit(makeRecord({ subject }), oldest(2)),
    );
    expect(answer).toEqual({ inserted: true, evicted: [] });
    expect(await store.get(x.id)).not.toBeNull();
    expect((await seated(subject))[0]).toBe(ids[1]);
    expect((await seated(subject)).length).toBe(2);
  });
});

/** Samples the subject's seated count on its own connection until stopped; the highest seen. */
function sampleSeats(subject: string, at: number) {
  let stop = false;
  let highest = 0;
  let samples = 0;
  const done = (async () => {
    while (!stop) {
      const r = await world.admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table(BURST)} WHERE subject = $1 AND seat IS NOT NULL AND expires_at > $2`,
        [subject, at],
      );
      highest = Math.max(highest, r.rows[0]?.n ?? 0);
      samples += 1;
    }
  })();
  return async () => {
    stop = true;
    await done;
    return { highest, samples };
  };
}

/** Every outcome a contract answer, never a raw driver error. */
function contractOnly(results: PromiseSettledResult<unknown>[]) {
  for (const r of results) {
    if (r.status === 'rejected') expect(isCloakroomError(r.reason), String(r.reason)).toBe(true);
  }
}

describe('postgres insertWithLimit: concurrency', () => {
  let stores: PostgresStore[];
  beforeAll(async () => {
    await migrate(world.admin, { ...world.tables, table: BURST });
    // Four instances, each its own pool: separate connections, as separate app processes would have.
    // One subject's calls run one at a time (each waits for the lock), so on a loaded
    // machine the last of a burst waits long: a generous deadline, this proves the limit, not speed.
    stores = Array.from({ length: 4 }, () =>
      createPostgresStore({
        pool: world.pool({ max: 4 }),
        ...world.tables,
        table: BURST,
        statementTimeoutMs: 60_000,
      }),
    );
    opened.push(...stores);
  });

  it("120 'oldest' calls at once over 4 pools: never more than max seated, every insert accounted for", {
    timeout: 120_000,
  }, async () => {
    const subject = randomId();
    const max = 3;
    const records = Array.from({ length: 120 }, () => makeRecord({ subject }));
    const stopSampling = sampleSeats(subject, Date.now());
    const results = await Promise.allSettled(
      records.map((r, i) =>
        (stores[i % stores.length] as PostgresStore).insertWithLimit(r, oldest(max)),
      ),
    );
    const { highest, samples } = await stopSampling();
    contractOnly(results);
    const answers = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    expect(answers.every((a) => a?.inserted === true)).toBe(true);
    const evicted = answers.flatMap((a) => (a?.inserted ? [...a.evicted] : []));
    const left = await seated(subject, Date.now(), BURST);
    expect(left).toHaveLength(max);
    expect(samples).toBeGreaterThan(0);
    expect(highest).toBeLessThanOrEqual(max);
    // Each record either still there or evicted exactly once, by one call.
    expect(new Set(evicted).size).toBe(evicted.length);
    expect([...evicted, ...left].sort()).toEqual(records.map((r) => r.id).sort());
  });

  it("80 'refuse' calls at once over 4 pools: exactly max inserted", {
    timeout: 120_000,
  }, async () => {
    const subject = randomId();
    const max = 5;
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, (_, i) =>
        (stores[i % stores.length] as PostgresStore).insertWithLimit(
          makeRecord({ subject }),
          refuse(max),
        ),
      ),
    );
    contractOnly(results);
    const inserted = results.filter((r) => r.status === 'fulfilled' && r.value.inserted);
    expect(inserted).toHaveLength(max);
    expect(await seated(subject, Date.now(), BURST)).toHaveLength(max);
  });

  it('with rotates, replaces and deletes racing the evictions, the seated count never passes max', {
    timeout: 120_000,
  }, async () => {
    const subject = randomId();
    const max = 4;
    const stopSampling = sampleSeats(subject, Date.now());
    const live = new Map<string, SessionRecord>();
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 160; i += 1) {
      const s = stores[i % stores.length] as PostgresStore;
      const r = makeRecord({ subject });
      work.push(
        s.insertWithLimit(r, oldest(max)).then((a) => {
          if (a.inserted) live.set(r.id, r);
        }),
      );
      // Rotate and replace whatever is seated now: each moves or keeps a seat, racing the evictions.
      const current = [...live.values()];
      const victim = current[i % Math.max(1, current.length)];
      if (victim && i % 2 === 0) {
        const next = makeRecord({ subject });
        work.push(
          s
            .rotate(
              {
                record: { ...victim, version: victim.version + 1 },
                expectedVersion: victim.version,
              },
              next,
            )
            .then((ok) => {
              if (ok) live.set(next.id, next);
            }),
        );
      } else if (victim && i % 3 === 0) {
        work.push(s.replace({ ...victim, version: victim.version + 1 }, victim.version));
      } else if (victim && i % 7 === 0) {
        work.push(s.delete(victim.id));
      }
      if (i % 8 === 7) await Promise.allSettled(work.splice(0));
    }
    contractOnly(await Promise.allSettled(work));
    const { highest } = await stopSampling();
    expect(highest).toBeLessThanOrEqual(max);
    expect((await seated(subject, Date.now(), BURST)).length).toBeLessThanOrEqual(max);
  });

  it('a database defaulting to REPEATABLE READ: 60 calls at once still never pass max', {
    timeout: 120_000,
  }, async () => {
    const subject = randomId();
    const max = 2;
    const strict = Array.from({ length: 3 }, () =>
      createPostgresStore({
        pool: world.pool({ max: 4, options: '-c default_transaction_isolation=repeatable\\ read' }),
        ...world.tables,
        table: BURST,
        statementTimeoutMs: 60_000,
      }),
    );
    opened.push(...strict);
    const stopSampling = sampleSeats(subject, Date.now());
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        (strict[i % strict.length] as PostgresStore).insertWithLimit(
          makeRecord({ subject }),
          oldest(max),
        ),
      ),
    );
    const { highest } = await stopSampling();
    contractOnly(results);
    expect(results.every((r) => r.status === 'fulfilled' && r.value.inserted)).toBe(true);
    expect(highest).toBeLessThanOrEqual(max);
    expect(await seated(subject, Date.now(), BURST)).toHaveLength(max);
  });

  it('two OS processes, 80 calls each, 6 in flight each: never more than max seated', {
    timeout: 120_000,
  }, async () => {
    const subject = randomId();
    const max = 2;
    const spawn = () => {
      const child = fork(workerFile, [], {
        cwd: root,
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, TSX_TSCONFIG_PATH: `${root}tsconfig.json` },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      return child;
    };
    const message = <T>(child: ChildProcess, key: string) =>
      new Promise<T>((resolve, reject) => {
        const on = (m: Record<string, unknown>) => {
          if (typeof m.error === 'string') reject(new Error(m.error));
          else if (key in m) {
            child.off('message', on);
            resolve(m[key] as T);
          }
        };
        child.on('message', on);
        child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      });
    const workers = [spawn(), spawn()];
    await Promise.all(workers.map((w) => message(w, 'ready')));
    const job: SeatJob = {
      url: TEST_URL,
      schema: world.schema,
      table: BURST,
      subject,
      calls: 80,
      concurrency: 6,
      limit: oldest(max),
    };
    const stopSampling = sampleSeats(subject, Date.now());
    const reports = await Promise.all(
      workers.map((w) => {
        const answer = message<SeatReport>(w, 'report');
        w.send(job);
        return answer;
      }),
    );
    const { highest, samples } = await stopSampling();
    for (const r of reports) expect(r.errors).toEqual([]);
    const inserted = reports.flatMap((r) => r.inserted);
    const evicted = reports.flatMap((r) => r.evicted);
    expect(inserted).toHaveLength(160);
    expect(samples).toBeGreaterThan(0);
    expect(highest).toBeLessThanOrEqual(max);
    const left = await seated(subject, Date.now(), BURST);
    expect(left).toHaveLength(max);
    expect(new Set(evicted).size).toBe(evicted.length);
    expect([...evicted, ...left].sort()).toEqual([...inserted].sort());
  });
});

describe('postgres insertWithLimit: lock key', () => {
  it('two stores on different tables do not share a subject lock', async () => {
    // Holding one table's lock for a subject must not block the other table's call.
    const other = 'seat_other';
    await migrate(world.admin, { ...world.tables, table: other });
    const otherStore = createPostgresStore({
      pool: world.pool({ max: 2 }),
      ...world.tables,
      table: other,
    });
    opened.push(otherStore);
    const subject = randomId();
    const holder = await world.admin.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [
        `cloakroom seat ${table()} ${subject}`,
      ]);
      expect(await otherStore.insertWithLimit(makeRecord({ subject }), oldest(1))).toEqual({
        inserted: true,
        evicted: [],
      });
      // The held key is the one this table's calls take: a call here waits until it is released.
      let done = false;
      const waiting = store.insertWithLimit(makeRecord({ subject }), oldest(1)).then((a) => {
        done = true;
        return a;
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(done).toBe(false);
      await holder.query('COMMIT');
      expect(await waiting).toEqual({ inserted: true, evicted: [] });
    } finally {
      holder.release();
    }
  });
});
