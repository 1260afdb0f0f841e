import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Closed,
  ConfigInvalid,
  InvalidArgument,
  StoreConflict,
  StoreDataInvalid,
} from '@cloakroom/core';
import { createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { fakeClock, key, rec, tempDir, walk } from './helpers';

async function setup(options: { durability?: 'fsync' | 'none' } = {}) {
  const dir = await tempDir();
  const clock = fakeClock();
  const store = createFsStore({ dir, clock, ...options });
  return { dir, clock, store };
}

describe('fs store: session contract', () => {
  it('inserts and gets a record as a copy', async () => {
    const { clock, store } = await setup();
    const r = rec(clock, { payload: new Uint8Array(70_000).fill(7) });
    await store.insert(r);
    const got = await store.get(r.id);
    expect(got).toEqual(r);
    got!.payload[0] = 1;
    expect((await store.get(r.id))!.payload[0]).toBe(7);
    expect(store.name).toBe('fs');
    expect(store.capabilities).toEqual({ nativeExpiry: false, shared: true });
  });

  it('insert over a live id throws StoreConflict and leaves it untouched; over an expired id it succeeds', async () => {
    const { clock, store } = await setup();
    const r = rec(clock, { ttl: 1000 });
    await store.insert(r);
    await expect(store.insert({ ...r, payload: new Uint8Array([9]) })).rejects.toBeInstanceOf(
      StoreConflict,
    );
    expect(await store.get(r.id)).toEqual(r);
    clock.now += 1000;
    const again = { ...r, subject: key(), expiresAt: clock.now + 5000 };
    await store.insert(again);
    expect(await store.get(r.id)).toEqual(again);
    expect(await store.listBySubject(r.subject)).toEqual([]);
    expect(await store.listBySubject(again.subject)).toEqual([again]);
  });

  it('an insert that conflicts leaves no index marker behind: the marker it made for its own subject is removed, one already there is kept', async () => {
    const { dir, clock, store } = await setup();
    const r = rec(clock);
    await store.insert(r);
    const other = key();
    // Same id, another subject: the check overlaps the marker's creation, and undoes it.
    await expect(store.insert({ ...r, subject: other })).rejects.toBeInstanceOf(StoreConflict);
    await expect(store.insert(r)).rejects.toBeInstanceOf(StoreConflict);
    const files = (await walk(dir)).map((f) => f.slice(dir.length));
    expect(files.sort()).toEqual(
      [
        '/cursor.key',
        `/s/${r.id.slice(0, 2)}/${r.id}.rec`,
        `/x/${r.subject.slice(0, 2)}/${r.subject}/${r.id}`,
      ].sort(),
    );
    expect(await store.get(r.id)).toEqual(r);
    expect(await store.listBySubject(r.subject)).toEqual([r]);
  });

  it('get never returns a record at or past expiresAt', async () => {
    const { clock, store } = await setup();
    const r = rec(clock, { ttl: 10 });
    await store.insert(r);
    clock.now += 9;
    expect(await store.get(r.id)).not.toBeNull();
    clock.now += 1;
    expect(await store.get(r.id)).toBeNull();
    expect(await store.listBySubject(r.subject)).toEqual([]);
    expect((await store.scan({ limit: 10 })).records).toEqual([]);
  });

  it('replace is a compare-and-swap and moves the subject index', async () => {
    const { clock, store } = await setup();
    const r = rec(clock);
    await store.insert(r);
    expect(await store.replace({ ...r, version: 2 }, 2)).toBe(false);
    const moved = { ...r, version: 2, subject: key(), payload: new Uint8Array([1]) };
    expect(await store.replace(moved, 1)).toBe(true);
    expect(await store.replace({ ...r, version: 2 }, 1)).toBe(false);
    expect(await store.get(r.id)).toEqual(moved);
    expect(await store.listBySubject(r.subject)).toEqual([]);
    expect(await store.listBySubject(moved.subject)).toEqual([moved]);
    expect(await store.replace(rec(clock), 1)).toBe(false);
    clock.now = r.expiresAt;
    expect(await store.replace({ ...moved, version: 3 }, 2)).toBe(false);
  });

  it('rotate writes both records, or neither when the version check fails or next exists', async () => {
    const { clock, store } = await setup();
    const old = rec(clock);
    const next = rec(clock, { subject: old.subject });
    await store.insert(old);
    expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 5 }, next)).toBe(
      false,
    );
    expect(await store.get(next.id)).toBeNull();
    const taken = rec(clock);
    await store.insert(taken);
    await expect(
      store.rotate(
        { record: { ...old, version: 2 }, expectedVersion: 1 },
        { ...next, id: taken.id },
      ),
    ).rejects.toBeInstanceOf(StoreConflict);
    expect(await store.get(old.id)).toEqual(old);
    expect(await store.get(taken.id)).toEqual(taken);
    const tomb = { ...old, version: 2, expiresAt: clock.now + 100 };
    expect(await store.rotate({ record: tomb, expectedVersion: 1 }, next)).toBe(true);
    expect(await store.get(old.id)).toEqual(tomb);
    expect(await store.get(next.id)).toEqual(next);
    const ids = (await store.listBySubject(old.subject)).map((r) => r.id).sort();
    expect(ids).toEqual([old.id, next.id].sort());
  });

  it('delete returns true once, then false; expired records delete as false', async () => {
    const { clock, store } = await setup();
    const r = rec(clock);
    const short = rec(clock, { ttl: 5 });
    await store.insert(r);
    await store.insert(short);
    expect(await store.delete(r.id)).toBe(true);
    expect(await store.delete(r.id)).toBe(false);
    expect(await store.get(r.id)).toBeNull();
    clock.now += 5;
    expect(await store.delete(short.id)).toBe(false);
  });

  it('SEC-07 deleteBySubject removes every live record of the subject and counts only live ones', async () => {
    const { clock, store } = await setup();
    const subject = key();
    const mine = [
      rec(clock, { subject }),
      rec(clock, { subject }),
      rec(clock, { subject, ttl: 5 }),
    ];
    const other = rec(clock);
    for (const r of [...mine, other]) await store.insert(r);
    clock.now += 5;
    expect(await store.deleteBySubject(subject)).toBe(2);
    for (const r of mine) expect(await store.get(r.id)).toBeNull();
    expect(await store.get(other.id)).toEqual(other);
    expect(await store.deleteBySubject(subject)).toBe(0);
  });

  it('listBySubject returns no ghosts: a stale marker for a record of another subject is ignored', async () => {
    const { dir, clock, store } = await setup();
    const subject = key();
    const a = rec(clock, { subject });
    const b = rec(clock);
    await store.insert(a);
    await store.insert(b);
    // Plant index markers pointing at b (another subject) and at a missing id.
    const index = join(dir, 'x', subject.slice(0, 2), subject);
    await writeFile(join(index, b.id), '');
    await writeFile(join(index, key()), '');
    expect(await store.listBySubject(subject)).toEqual([a]);
    expect(await store.deleteBySubject(subject)).toBe(1);
    expect(await store.get(b.id)).toEqual(b);
  });

  it('scan returns every live record exactly once across pages', async () => {
    const { clock, store } = await setup({ durability: 'none' });
    const records = Array.from({ length: 37 }, () => rec(clock));
    for (const r of records) await store.insert(r);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.scan(cursor === undefined ? { limit: 5 } : { limit: 5, cursor });
      expect(page.records.length).toBeLessThanOrEqual(5);
      seen.push(...page.records.map((r) => r.id));
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined);
    expect(seen.sort()).toEqual(records.map((r) => r.id).sort());
    expect(pages).toBeGreaterThanOrEqual(8);
    await expect(store.scan({ limit: 5, cursor: '../etc' })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(store.scan({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgument);
  });

  it('sweep removes expired records (and their index markers) and keeps live ones', async () => {
    const { dir, clock, store } = await setup({ durability: 'none' });
    const subject = key();
    const dead = Array.from({ length: 12 }, () => rec(clock, { subject, ttl: 10 }));
    const live = rec(clock, { subject, ttl: 1000 });
    for (const r of [...dead, live]) await store.insert(r);
    expect(await store.sweep(clock.now + 10)).toBe(12);
    expect(await store.sweep(clock.now + 10)).toBe(0);
    const recordFiles = (await walk(join(dir, 's'))).filter((f) => f.endsWith('.rec'));
    expect(recordFiles).toHaveLength(1);
    expect(await readdir(join(dir, 'x', subject.slice(0, 2), subject))).toEqual([live.id]);
  });

  it('sweep drops ghost index markers (one without a record once older than staleLockMs), then empty subject directories once idle for staleLockMs, keeping real ones', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, durability: 'none', staleLockMs: 40 });
    const moved = rec(clock);
    await store.insert(moved);
    const first = moved.subject;
    await store.replace({ ...moved, version: 2, subject: key() }, 1);
    const ghostSubject = key();
    const ghostDir = join(dir, 'x', ghostSubject.slice(0, 2), ghostSubject);
    await mkdir(ghostDir, { recursive: true });
    await writeFile(join(ghostDir, key()), '');
    await writeFile(join(dir, 'x', first.slice(0, 2), first, moved.id), '');
    const ghost = (await readdir(ghostDir))[0]!;
    expect(await store.sweep(clock.now)).toBe(0);
    // The marker of a record that moved is gone; a young marker without any
    // record may be an insert in flight (marker first, record after), so it stays.
    expect(await readdir(ghostDir)).toEqual([ghost]);
    expect(await readdir(join(dir, 'x', first.slice(0, 2), first))).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    // Older than staleLockMs: a ghost. The directory emptied by the first sweep is idle: removed.
    expect(await store.sweep(clock.now)).toBe(0);
    expect(await readdir(ghostDir)).toEqual([]);
    await expect(stat(join(dir, 'x', first.slice(0, 2), first))).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 80));
    expect(await store.sweep(clock.now)).toBe(0);
    await expect(stat(ghostDir)).rejects.toThrow();
    expect((await store.listBySubject(key())).length).toBe(0);
    expect(await store.get(moved.id)).toMatchObject({ version: 2 });
  });

  it('sweep leaves a just-made, still empty subject directory to the writer that made it', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, durability: 'none' });
    // What a writer has done between its mkdir and its marker's open.
    const subject = key();
    const subjectDir = join(dir, 'x', subject.slice(0, 2), subject);
    await store.insert(rec(clock));
    await mkdir(subjectDir, { recursive: true });
    await store.sweep(clock.now);
    expect(await readdir(subjectDir)).toEqual([]);
  });

  it('sweep works in bounded batches', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, durability: 'none', sweepBatchSize: 3 });
    for (let i = 0; i < 20; i++) await store.insert(rec(clock, { ttl: 1 }));
    expect(await store.sweep(clock.now + 1)).toBe(20);
  });

  it('every method after close rejects with Closed; close is idempotent', async () => {
    const { clock, store } = await setup();
    const r = rec(clock);
    await store.insert(r);
    await store.close();
    await store.close();
    const calls: (() => Promise<unknown>)[] = [
      () => store.get(r.id),
      () => store.insert(rec(clock)),
      () => store.replace({ ...r, version: 2 }, 1),
      () => store.rotate({ record: { ...r, version: 2 }, expectedVersion: 1 }, rec(clock)),
      () => store.delete(r.id),
      () => store.deleteBySubject(r.subject),
      () => store.listBySubject(r.subject),
      () => store.scan({ limit: 1 }),
      () => store.sweep(clock.now),
    ];
    for (const call of calls) await expect(call()).rejects.toBeInstanceOf(Closed);
  });

  it('scan rejects a cursor it did not issue (made up, altered, another directory, wrong type) with InvalidArgument', async () => {
    const { clock, store } = await setup({ durability: 'none' });
    for (let i = 0; i < 4; i++) await store.insert(rec(clock));
    const page = await store.scan({ limit: 1 });
    const cursor = page.cursor!;
    expect(typeof cursor).toBe('string');
    // The genuine cursor resumes, also in another store over the same directory (a new process).
    expect((await store.scan({ limit: 10, cursor })).records).toHaveLength(3);
    const again = createFsStore({ dir: store.dir, clock });
    expect((await again.scan({ limit: 10, cursor })).records).toHaveLength(3);
    const other = await setup();
    await other.store.insert(rec(clock));
    await other.store.insert(rec(clock));
    const foreign = (await other.store.scan({ limit: 1 })).cursor!;
    const last = cursor.at(-1) === 'A' ? 'B' : 'A';
    const idAt = cursor.indexOf('.') + 1;
    const forged = [
      key(), // a bare id: what earlier versions issued, and what a guess looks like
      `${cursor.slice(0, -1)}${last}`, // tag altered
      `${cursor.slice(0, idAt)}${cursor[idAt] === 'A' ? 'B' : 'A'}${cursor.slice(idAt + 1)}`, // id altered
      foreign,
      '',
      '../etc',
      5,
      null,
      {},
    ];
    for (const bad of forged) {
      await expect(store.scan({ limit: 1, cursor: bad as never })).rejects.toBeInstanceOf(
        InvalidArgument,
      );
    }
  });

  it('takes its copy of a record when the method is called: later changes to the payload never reach the disk', async () => {
    const { clock, store } = await setup();
    const r = rec(clock, { payload: new Uint8Array([1, 2, 3]) });
    const inserted = store.insert(r);
    r.payload[0] = 9;
    await inserted;
    expect((await store.get(r.id))?.payload).toEqual(new Uint8Array([1, 2, 3]));
    const v2 = { ...r, version: 2, payload: new Uint8Array([4, 5, 6]) };
    const replaced = store.replace(v2, 1);
    v2.payload[0] = 9;
    expect(await replaced).toBe(true);
    expect((await store.get(r.id))?.payload).toEqual(new Uint8Array([4, 5, 6]));
    const tomb = { ...v2, version: 3, payload: new Uint8Array([7]) };
    const next = rec(clock, { payload: new Uint8Array([8]) });
    const rotated = store.rotate({ record: tomb, expectedVersion: 2 }, next);
    tomb.payload[0] = 9;
    next.payload[0] = 9;
    expect(await rotated).toBe(true);
    expect((await store.get(r.id))?.payload).toEqual(new Uint8Array([7]));
    expect((await store.get(next.id))?.payload).toEqual(new Uint8Array([8]));
  });

  it('rejects invalid records and options', async () => {
    const { clock, store } = await setup();
    await expect(store.insert({ ...rec(clock), version: 0 })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(store.insert({ ...rec(clock), expiresAt: 1.5 })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(store.insert({ ...rec(clock), payload: 'x' as never })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(store.replace(rec(clock), 0)).rejects.toBeInstanceOf(InvalidArgument);
    const dir = await tempDir();
    expect(() => createFsStore({ dir: '' })).toThrow(ConfigInvalid);
    expect(() => createFsStore({ dir, durability: 'maybe' as never })).toThrow(ConfigInvalid);
    expect(() => createFsStore({ dir, lockTimeoutMs: -1 })).toThrow(ConfigInvalid);
    expect(() => createFsStore({ dir, clock: 5 as never })).toThrow(ConfigInvalid);
  });
});

describe('fs store: corrupt files', () => {
  it('a garbage or truncated record file gives StoreDataInvalid from get, never a crash, and delete removes it', async () => {
    const { dir, clock, store } = await setup();
    const a = rec(clock);
    const b = rec(clock);
    await store.insert(a);
    await store.insert(b);
    const pathA = join(dir, 's', a.id.slice(0, 2), `${a.id}.rec`);
    const pathB = join(dir, 's', b.id.slice(0, 2), `${b.id}.rec`);
    await writeFile(pathA, 'garbage');
    const bytes = await readFile(pathB);
    await writeFile(pathB, bytes.subarray(0, bytes.length - 1));
    await expect(store.get(a.id)).rejects.toBeInstanceOf(StoreDataInvalid);
    await expect(store.get(b.id)).rejects.toBeInstanceOf(StoreDataInvalid);
    await expect(store.replace({ ...a, version: 2 }, 1)).rejects.toBeInstanceOf(StoreDataInvalid);
    await expect(store.insert(a)).rejects.toBeInstanceOf(StoreDataInvalid);
    // One corrupt file does not hide other records from scan or listBySubject.
    const c = rec(clock, { subject: a.subject });
    await store.insert(c);
    expect((await store.scan({ limit: 10 })).records).toEqual([c]);
    expect(await store.listBySubject(a.subject)).toEqual([c]);
    expect(await store.delete(a.id)).toBe(false);
    expect(await store.get(a.id)).toBeNull();
  });

  it('a flipped byte anywhere in a record file is detected by the checksum', async () => {
    const { dir, clock, store } = await setup();
    const r = rec(clock);
    await store.insert(r);
    const path = join(dir, 's', r.id.slice(0, 2), `${r.id}.rec`);
    const good = await readFile(path);
    for (const at of [0, 10, 60, 140, 150, 160, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x01;
      await writeFile(path, bad);
      await expect(store.get(r.id)).rejects.toBeInstanceOf(StoreDataInvalid);
    }
    await writeFile(path, good);
    expect(await store.get(r.id)).toEqual(r);
  });

  it('a valid record file copied under another id is not returned as that id', async () => {
    const { dir, clock, store } = await setup();
    const r = rec(clock);
    await store.insert(r);
    const other = key();
    await store.insert(rec(clock, { id: other }));
    await writeFile(
      join(dir, 's', other.slice(0, 2), `${other}.rec`),
      await readFile(join(dir, 's', r.id.slice(0, 2), `${r.id}.rec`)),
    );
    await expect(store.get(other)).rejects.toBeInstanceOf(StoreDataInvalid);
  });

  it('an oversized file is treated as corrupt without being read', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, maxPayloadBytes: 1024 });
    const r = rec(clock);
    await store.insert(r);
    await writeFile(join(dir, 's', r.id.slice(0, 2), `${r.id}.rec`), Buffer.alloc(10_000));
    await expect(store.get(r.id)).rejects.toBeInstanceOf(StoreDataInvalid);
    await expect(
      store.insert(rec(clock, { payload: new Uint8Array(1025) })),
    ).rejects.toBeInstanceOf(InvalidArgument);
  });
});

describe('fs store: at rest', () => {
  it('stores the record fields and payload bytes only, under names derived from ids', async () => {
    const { dir, clock, store } = await setup();
    const r = rec(clock);
    await store.insert(r);
    const files = (await walk(dir)).map((f) => f.slice(dir.length));
    expect(files.sort()).toEqual(
      [
        '/cursor.key',
        `/s/${r.id.slice(0, 2)}/${r.id}.rec`,
        `/x/${r.subject.slice(0, 2)}/${r.subject}/${r.id}`,
      ].sort(),
    );
    const st = await stat(join(dir, files.find((f) => f.endsWith('.rec'))!));
    // Format 2: a 163-byte header (with the seat) and a 32-byte checksum.
    expect(st.size).toBe(195 + r.payload.byteLength);
  });
});
