// Issue #17 item 6: insertWithLimit, the per-subject seat limit core uses for
// a concurrent-session limit. Seats live in the record files (format 2).
import * as fsp from 'node:fs/promises';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  Closed,
  InvalidArgument,
  type SessionRecord,
  StoreConflict,
  StoreUnavailable,
  type SubjectLimit,
} from '@cloakroom/core';
import { createFsStore, type FsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import type { Io } from '../src/fs/io';
import { createFsStoreWithIo } from '../src/session-store';
import { type FakeClock, fakeClock, key, rec, tempDir, walk } from './helpers';
import { encodeFormat1 } from './legacy';
import { seatsOf } from './seats';

const oldest = (max: number): SubjectLimit => ({ max, evict: 'oldest' });
const refuse = (max: number): SubjectLimit => ({ max, evict: 'refuse' });

async function setup(options: { durability?: 'fsync' | 'none' } = {}) {
  const dir = await tempDir();
  const clock = fakeClock();
  const store = createFsStore({ dir, clock, ...options });
  return { dir, clock, store, subject: key() };
}

/** `n` records of one subject, inserted one after another (so their seats are in this order). */
async function fill(store: FsStore, clock: FakeClock, subject: string, n: number) {
  const out: SessionRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = rec(clock, { subject });
    await store.insert(r);
    out.push(r);
  }
  return out;
}

describe('fs store: insertWithLimit', () => {
  it('inserts below the limit; at it, refuse changes nothing', async () => {
    const { clock, store, subject } = await setup();
    const [a, b] = [rec(clock, { subject }), rec(clock, { subject })];
    expect(await store.insertWithLimit(a, refuse(2))).toEqual({ inserted: true, evicted: [] });
    expect(await store.insertWithLimit(b, refuse(2))).toEqual({ inserted: true, evicted: [] });
    const c = rec(clock, { subject });
    expect(await store.insertWithLimit(c, refuse(2))).toEqual({ inserted: false });
    expect(await store.get(c.id)).toBeNull();
    expect(await store.get(a.id)).toEqual(a);
    expect(await store.get(b.id)).toEqual(b);
    expect((await store.listBySubject(subject)).map((r) => r.id).sort()).toEqual(
      [a.id, b.id].sort(),
    );
    // Other subjects are not counted.
    expect(await store.insertWithLimit(rec(clock), refuse(1))).toEqual({
      inserted: true,
      evicted: [],
    });
  });

  it("evict 'oldest' deletes the earliest-seated records, as many as needed, and answers their ids oldest first", async () => {
    const { clock, store, subject } = await setup();
    const [a, b, c] = await fill(store, clock, subject, 3);
    const d = rec(clock, { subject });
    expect(await store.insertWithLimit(d, oldest(3))).toEqual({ inserted: true, evicted: [a!.id] });
    expect(await store.get(a!.id)).toBeNull();
    expect(await store.get(d.id)).toEqual(d);
    // A lower limit than the subject holds: evict down to max - 1, then insert.
    const e = rec(clock, { subject });
    expect(await store.insertWithLimit(e, oldest(1))).toEqual({
      inserted: true,
      evicted: [b!.id, c!.id, d.id],
    });
    expect(await seatsOf(store, subject, clock.now)).toEqual([e.id]);
    // Evicted records are gone from the index too.
    expect((await store.listBySubject(subject)).map((r) => r.id)).toEqual([e.id]);
  });

  it("rotate hands old's seat and its place in the order to next; old stays live without a seat", async () => {
    const { clock, store, subject } = await setup();
    const [a, b] = await fill(store, clock, subject, 2);
    const a2 = rec(clock, { subject });
    expect(await store.rotate({ record: { ...a!, version: 2 }, expectedVersion: 1 }, a2)).toBe(
      true,
    );
    expect(await store.get(a!.id)).not.toBeNull();
    expect(await seatsOf(store, subject, clock.now)).toEqual([a2.id, b!.id]);
    // Two seats (a2, b), not three: the forwarder a does not count.
    expect(await store.insertWithLimit(rec(clock, { subject }), refuse(2))).toEqual({
      inserted: false,
    });
    const c = rec(clock, { subject });
    expect(await store.insertWithLimit(c, refuse(3))).toEqual({ inserted: true, evicted: [] });
    // a2 holds a's seat, the earliest: evicted first, before b, though inserted after it.
    const d = rec(clock, { subject });
    expect(await store.insertWithLimit(d, oldest(3))).toEqual({
      inserted: true,
      evicted: [a2.id],
    });
    // The forwarder is never evicted (it has no seat) and stays until it expires.
    expect(await store.get(a!.id)).not.toBeNull();
    // A forwarder rotated again has no seat to hand on: its successor takes a new one, last.
    const a3 = rec(clock, { subject });
    expect(await store.rotate({ record: { ...a!, version: 3 }, expectedVersion: 2 }, a3)).toBe(
      true,
    );
    expect(await seatsOf(store, subject, clock.now)).toEqual([b!.id, c.id, d.id, a3.id]);
  });

  it('expiry and delete free a seat', async () => {
    const { clock, store, subject } = await setup();
    const a = rec(clock, { subject, ttl: 1000 });
    await store.insert(a);
    const [b] = await fill(store, clock, subject, 1);
    expect(await store.insertWithLimit(rec(clock, { subject }), refuse(2))).toEqual({
      inserted: false,
    });
    clock.now = a.expiresAt; // at expiresAt the record is dead
    const c = rec(clock, { subject });
    expect(await store.insertWithLimit(c, refuse(2))).toEqual({ inserted: true, evicted: [] });
    expect(await store.delete(b!.id)).toBe(true);
    const d = rec(clock, { subject });
    expect(await store.insertWithLimit(d, oldest(2))).toEqual({ inserted: true, evicted: [] });
    expect(await seatsOf(store, subject, clock.now)).toEqual([c.id, d.id]);
  });

  it('replace keeps the seat and its place; with a subject change the seat moves with the record', async () => {
    const { clock, store, subject } = await setup();
    const other = key();
    const [a, b] = await fill(store, clock, subject, 2);
    const [x] = await fill(store, clock, other, 1);
    // Replaced after b was inserted, a still holds the earliest seat.
    expect(await store.replace({ ...a!, version: 2 }, 1)).toBe(true);
    expect(await seatsOf(store, subject, clock.now)).toEqual([a!.id, b!.id]);
    // a moves to `other`, keeping its seat (taken before x's).
    expect(await store.replace({ ...a!, subject: other, version: 3 }, 2)).toBe(true);
    expect(await seatsOf(store, subject, clock.now)).toEqual([b!.id]);
    expect(await seatsOf(store, other, clock.now)).toEqual([a!.id, x!.id]);
    expect(await store.insertWithLimit(rec(clock, { subject }), refuse(2))).toMatchObject({
      inserted: true,
    });
    const y = rec(clock, { subject: other });
    expect(await store.insertWithLimit(y, oldest(2))).toEqual({ inserted: true, evicted: [a!.id] });
  });

  it('a live duplicate id throws StoreConflict and nothing is evicted; a dead one is overwritten', async () => {
    const { clock, store, subject } = await setup();
    const [a, b] = await fill(store, clock, subject, 2);
    await expect(store.insertWithLimit({ ...b!, version: 1 }, oldest(2))).rejects.toBeInstanceOf(
      StoreConflict,
    );
    await expect(store.insertWithLimit(b!, refuse(5))).rejects.toBeInstanceOf(StoreConflict);
    expect(await store.get(a!.id)).toEqual(a);
    expect(await store.get(b!.id)).toEqual(b);
    // A record of another subject with the same id also conflicts.
    await expect(
      store.insertWithLimit({ ...a!, subject: key() }, oldest(1)),
    ).rejects.toBeInstanceOf(StoreConflict);
    expect(await seatsOf(store, subject, clock.now)).toEqual([a!.id, b!.id]);
    // An expired record with that id is overwritten, and frees its seat first.
    const dead = rec(clock, { subject, ttl: 10 });
    await store.insert(dead);
    clock.now += 10;
    const again = { ...dead, expiresAt: clock.now + 60_000 };
    expect(await store.insertWithLimit(again, oldest(3))).toEqual({ inserted: true, evicted: [] });
    expect(await store.get(dead.id)).toEqual(again);
  });

  it('rejects a malformed limit or record with InvalidArgument, and every call after close with Closed', async () => {
    const { clock, store, subject } = await setup();
    const r = rec(clock, { subject });
    const bad: unknown[] = [
      undefined,
      null,
      3,
      { max: 0, evict: 'oldest' },
      { max: -1, evict: 'oldest' },
      { max: 1.5, evict: 'oldest' },
      { max: 1001, evict: 'refuse' },
      { max: '2', evict: 'refuse' },
      { max: 2, evict: 'newest' },
      { max: 2 },
    ];
    for (const limit of bad) {
      await expect(
        store.insertWithLimit(r, limit as SubjectLimit),
        JSON.stringify(limit),
      ).rejects.toBeInstanceOf(InvalidArgument);
    }
    await expect(
      store.insertWithLimit({ ...r, id: '../../etc/passwd' }, oldest(1)),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await expect(store.insertWithLimit({ ...r, subject: 'a/b' }, oldest(1))).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(
      store.insertWithLimit(null as unknown as SessionRecord, oldest(1)),
    ).rejects.toBeInstanceOf(InvalidArgument);
    expect(await store.get(r.id)).toBeNull();
    await store.close();
    await expect(store.insertWithLimit(r, oldest(1))).rejects.toBeInstanceOf(Closed);
    await expect(store.insertWithLimit(r, null as unknown as SubjectLimit)).rejects.toBeInstanceOf(
      Closed,
    );
  });

  it('a record already expired on arrival is inserted (never returned) and evicts nothing, even at the limit', async () => {
    const { clock, store, subject } = await setup();
    const [a] = await fill(store, clock, subject, 1);
    const dead = rec(clock, { subject, ttl: 0 });
    expect(await store.insertWithLimit(dead, oldest(1))).toEqual({ inserted: true, evicted: [] });
    expect(await store.insertWithLimit(rec(clock, { subject, ttl: -5 }), refuse(1))).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(await store.get(dead.id)).toBeNull();
    expect(await seatsOf(store, subject, clock.now)).toEqual([a!.id]);
  });

  it('takes its copy of the record and the limit when called', async () => {
    const { clock, store, subject } = await setup();
    await fill(store, clock, subject, 1);
    const r = rec(clock, { subject });
    const bytes = new Uint8Array(r.payload);
    const limit = { max: 2, evict: 'refuse' as 'oldest' | 'refuse' };
    const pending = store.insertWithLimit(r, limit);
    r.payload.fill(0);
    limit.max = 1;
    expect(await pending).toEqual({ inserted: true, evicted: [] });
    expect((await store.get(r.id))?.payload).toEqual(bytes);
  });

  it('seats and their order survive a restart', async () => {
    const { dir, clock, store, subject } = await setup();
    const [a, b, c] = await fill(store, clock, subject, 3);
    const b2 = rec(clock, { subject });
    await store.rotate({ record: { ...b!, version: 2 }, expectedVersion: 1 }, b2);
    await store.close();
    const reopened = createFsStore({ dir, clock });
    expect(await seatsOf(reopened, subject, clock.now)).toEqual([a!.id, b2.id, c!.id]);
    const d = rec(clock, { subject });
    expect(await reopened.insertWithLimit(d, oldest(2))).toEqual({
      inserted: true,
      evicted: [a!.id, b2.id],
    });
    expect(await seatsOf(reopened, subject, clock.now)).toEqual([c!.id, d.id]);
  });

  it('records written before seats (format 1) hold the earliest seats, except a record rotated away', async () => {
    const { dir, clock, store, subject } = await setup();
    const [fresh] = await fill(store, clock, subject, 1);
    // Written by an earlier version: a session, and a rotated pair (forwarder naming its successor).
    const legacy = rec(clock, { subject });
    const forwarder = rec(clock, { subject, version: 2 });
    const successor = rec(clock, { subject });
    const plant = async (r: SessionRecord, bytes: Uint8Array): Promise<void> => {
      await mkdir(join(dir, 's', r.id.slice(0, 2)), { recursive: true, mode: 0o700 });
      await writeFile(join(dir, 's', r.id.slice(0, 2), `${r.id}.rec`), bytes, { mode: 0o600 });
      await mkdir(join(dir, 'x', subject.slice(0, 2), subject), { recursive: true, mode: 0o700 });
      await writeFile(join(dir, 'x', subject.slice(0, 2), subject, r.id), '', { mode: 0o600 });
    };
    await plant(legacy, encodeFormat1(legacy));
    await plant(forwarder, encodeFormat1(forwarder, { kind: 'successor', id: successor.id }));
    await plant(successor, encodeFormat1(successor));
    expect(await store.get(legacy.id)).toEqual(legacy);
    const seats = await seatsOf(store, subject, clock.now);
    expect(seats).toHaveLength(3);
    expect(seats.slice(0, 2).sort()).toEqual([legacy.id, successor.id].sort());
    expect(seats[2]).toBe(fresh!.id);
    const n = rec(clock, { subject });
    const result = await store.insertWithLimit(n, oldest(2));
    expect(result.inserted).toBe(true);
    expect([...(result.evicted ?? [])].sort()).toEqual([legacy.id, successor.id].sort());
    expect(await store.get(forwarder.id)).toEqual(forwarder);
  });

  it('a format-1 record replaced or rotated by this version keeps its earliest seat, now written in format 2', async () => {
    const { dir, clock, store, subject } = await setup();
    const [fresh] = await fill(store, clock, subject, 1);
    const legacy = [rec(clock, { subject }), rec(clock, { subject })];
    for (const r of legacy) {
      await writeFile(join(dir, 's', r.id.slice(0, 2), `${r.id}.rec`), encodeFormat1(r), {
        mode: 0o600,
      }).catch(async () => {
        await mkdir(join(dir, 's', r.id.slice(0, 2)), { recursive: true, mode: 0o700 });
        await writeFile(join(dir, 's', r.id.slice(0, 2), `${r.id}.rec`), encodeFormat1(r), {
          mode: 0o600,
        });
      });
      await writeFile(join(dir, 'x', subject.slice(0, 2), subject, r.id), '', { mode: 0o600 });
    }
    expect(await store.replace({ ...legacy[0]!, version: 2 }, 1)).toBe(true);
    const next = rec(clock, { subject });
    expect(
      await store.rotate({ record: { ...legacy[1]!, version: 2 }, expectedVersion: 1 }, next),
    ).toBe(true);
    const file = (id: string) => readFile(join(dir, 's', id.slice(0, 2), `${id}.rec`));
    expect((await file(legacy[0]!.id))[4]).toBe(2);
    expect(await seatsOf(store, subject, clock.now)).toEqual(
      expect.arrayContaining([legacy[0]!.id, next.id]),
    );
    expect((await seatsOf(store, subject, clock.now))[2]).toBe(fresh!.id);
    const n = rec(clock, { subject });
    const result = await store.insertWithLimit(n, oldest(2));
    expect([...(result.evicted ?? [])].sort()).toEqual([legacy[0]!.id, next.id].sort());
  });
});

describe('fs store: insertWithLimit under concurrency (one process)', () => {
  it('refuse: of many concurrent calls through two stores on one directory, exactly max insert', async () => {
    const { dir, clock, store, subject } = await setup({ durability: 'none' });
    const second = createFsStore({ dir, clock, durability: 'none' });
    const records = Array.from({ length: 24 }, () => rec(clock, { subject }));
    const results = await Promise.all(
      records.map((r, i) => (i % 2 ? second : store).insertWithLimit(r, refuse(5))),
    );
    expect(results.filter((r) => r.inserted)).toHaveLength(5);
    for (const r of results) if (r.inserted) expect(r.evicted).toEqual([]);
    const winners = records.filter((_, i) => results[i]!.inserted).map((r) => r.id);
    expect((await seatsOf(store, subject, clock.now)).sort()).toEqual(winners.sort());
  });

  it('oldest: concurrent calls and rotates never leave more than max seats; each seat is evicted once, one per insert once full', async () => {
    const { dir, clock, store, subject } = await setup({ durability: 'none' });
    const second = createFsStore({ dir, clock, durability: 'none' });
    const max = 3;
    const inserted: string[] = [];
    const evicted: string[] = [];
    const perCall: number[] = [];
    let rotations = 0;
    const insertOne = async (i: number): Promise<void> => {
      const r = rec(clock, { subject });
      const res = await (i % 2 ? second : store).insertWithLimit(r, oldest(max));
      expect(res.inserted).toBe(true);
      inserted.push(r.id);
      evicted.push(...(res.evicted ?? []));
      perCall.push(res.evicted?.length ?? 0);
    };
    // Meanwhile seated records are rotated (their seats handed to successors).
    let stop = false;
    const rotator = (async () => {
      while (!stop) {
        const live = (await store.listBySubject(subject)).filter((r) => r.version === 1);
        const pick = live[Math.floor(Math.random() * live.length)];
        if (pick === undefined) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        const next = rec(clock, { subject });
        if (await second.rotate({ record: { ...pick, version: 2 }, expectedVersion: 1 }, next))
          rotations++;
      }
    })();
    await Promise.all(Array.from({ length: 30 }, (_, i) => insertOne(i)));
    stop = true;
    await rotator;
    expect(new Set(evicted).size).toBe(evicted.length);
    // Seats are only added by these inserts and only removed by their evictions (rotate moves
    // them): max left, and no call had to evict more than one (which would mean a subject
    // that had been over the limit).
    expect(await seatsOf(store, subject, clock.now)).toHaveLength(max);
    expect(evicted).toHaveLength(30 - max);
    expect(Math.max(...perCall)).toBe(1);
    expect(rotations).toBeGreaterThan(0);
  }, 60_000);
});

/** The real file system, recording unlinks, renames and fsyncs; `failUnlink` makes chosen unlinks fail with EIO. */
function tracingIo(failUnlink?: (path: string) => boolean) {
  const events: string[] = [];
  const io = {
    ...fsp,
    open: async (path: string, flags?: string, mode?: number) => {
      const handle = await fsp.open(path, flags, mode);
      return new Proxy(handle, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop === 'sync') {
            return async () => {
              await target.sync();
              events.push(`synced ${path}`);
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
    rename: async (from: string, to: string) => {
      events.push(`rename ${to}`);
      return fsp.rename(from, to);
    },
    // A new id's record is put in place by a hard link (exclusive), not a rename.
    link: async (from: string, to: string) => {
      events.push(`rename ${to}`);
      return fsp.link(from, to);
    },
    unlink: async (path: string) => {
      if (failUnlink?.(path))
        throw Object.assign(new Error(`EIO: injected unlink`), { code: 'EIO' });
      events.push(`unlink ${path}`);
      return fsp.unlink(path);
    },
  } as Io;
  return { io, events };
}

describe('fs store: insertWithLimit crash guarantees', () => {
  it('every evicted record is unlinked and its directory fsynced before the new record is put in place', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const { io, events } = tracingIo();
    const store = createFsStoreWithIo({ dir, clock }, io);
    const subject = key();
    const [a, b] = await fill(store, clock, subject, 3);
    events.length = 0;
    const n = rec(clock, { subject });
    expect(await store.insertWithLimit(n, oldest(2))).toEqual({
      inserted: true,
      evicted: [a!.id, b!.id],
    });
    const at = (event: string): number => {
      const i = events.indexOf(event);
      expect(i, `${event} in\n${events.join('\n')}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const recPath = (id: string): string => join(store.dir, 's', id.slice(0, 2), `${id}.rec`);
    const rename = at(`rename ${recPath(n.id)}`);
    for (const victim of [a!, b!]) {
      const unlinked = at(`unlink ${recPath(victim.id)}`);
      const synced = events.indexOf(
        `synced ${join(store.dir, 's', victim.id.slice(0, 2))}`,
        unlinked,
      );
      expect(synced).toBeGreaterThan(unlinked);
      expect(synced).toBeLessThan(rename);
    }
  });

  it('an eviction that fails leaves the new record out (never max + 1 seats); the call reports StoreUnavailable', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    let failing = '';
    const { io } = tracingIo((path) => failing !== '' && path.endsWith(`${failing}.rec`));
    const store = createFsStoreWithIo({ dir, clock }, io);
    const subject = key();
    const [a, b, c] = await fill(store, clock, subject, 3);
    failing = a!.id;
    const n = rec(clock, { subject });
    await expect(store.insertWithLimit(n, oldest(3))).rejects.toBeInstanceOf(StoreUnavailable);
    expect(await store.get(n.id)).toBeNull();
    expect(await seatsOf(store, subject, clock.now)).toEqual([a!.id, b!.id, c!.id]);
    // Two to evict, one of them failing: the other may be gone, the new record is not in.
    const m = rec(clock, { subject });
    await expect(store.insertWithLimit(m, oldest(2))).rejects.toBeInstanceOf(StoreUnavailable);
    expect(await store.get(m.id)).toBeNull();
    expect(await seatsOf(store, subject, clock.now)).toEqual([a!.id, c!.id]);
    // Once the disk recovers, the next call finishes the job.
    failing = '';
    expect(await store.insertWithLimit(n, oldest(3))).toEqual({ inserted: true, evicted: [] });
    expect(await store.insertWithLimit(m, oldest(2))).toEqual({
      inserted: true,
      evicted: [a!.id, c!.id],
    });
    expect(await seatsOf(store, subject, clock.now)).toEqual([n.id, m.id]);
  });

  it('sweep removes an abandoned subject lock; a live one is waited for', async () => {
    const { dir, clock, store, subject } = await setup();
    await store.insertWithLimit(rec(clock, { subject }), oldest(2));
    const lockPath = join(dir, 'x', subject.slice(0, 2), `${subject}.lock`);
    // A lock left by a process that is gone (this host, a pid that cannot exist).
    await symlink(
      JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), t: Date.now(), nonce: 'dead.1' }),
      lockPath,
    );
    await store.sweep(clock.now);
    expect((await walk(dir)).filter((f) => f.includes('.lock'))).toEqual([]);
    // A live owner's lock holds insertWithLimit off until it times out.
    const held = createFsStore({ dir, clock, lockTimeoutMs: 200 });
    await symlink(
      JSON.stringify({ pid: process.pid, host: hostname(), t: Date.now(), nonce: 'live.1' }),
      lockPath,
    );
    await expect(held.insertWithLimit(rec(clock, { subject }), oldest(2))).rejects.toBeInstanceOf(
      StoreUnavailable,
    );
    await store.sweep(clock.now);
    expect((await walk(dir)).filter((f) => f.includes('.lock'))).toEqual([lockPath]);
  });
});
