// Where symbolic links cannot be made (Windows without the privilege, some
// network or FUSE file systems), locks fall back to regular files linked
// into place, and compare-and-swap still holds.
import * as fsp from 'node:fs/promises';
import { StoreConflict } from '@cloakroom/core';
import { afterEach, describe, expect, it } from 'vitest';
import { resetLockKind } from '../src/fs/file-lock';
import { resetLinkKind } from '../src/fs/record-files';
import { createFsStoreWithIo } from '../src/session-store';
import type { Io } from '../src/fs/io';
import { fakeClock, rec, tempDir, walk } from './helpers';

/** The real file system, except that `symlink` fails with `code`; counts `link` calls. */
function noSymlinks(code: string) {
  const calls = { symlink: 0, link: 0 };
  const io = {
    ...fsp,
    symlink: async () => {
      calls.symlink++;
      throw Object.assign(new Error(`${code}: symlink refused`), { code });
    },
    link: async (from: string, to: string) => {
      calls.link++;
      return fsp.link(from, to);
    },
  } as unknown as Io;
  return { io, calls };
}

afterEach(() => {
  resetLockKind();
  resetLinkKind();
});

describe('locks without symbolic links', () => {
  for (const code of ['EPERM', 'EOPNOTSUPP']) {
    it(`${code} from symlink: every write still works, under hard-linked lock files`, async () => {
      const dir = await tempDir();
      const clock = fakeClock();
      const { io, calls } = noSymlinks(code);
      const store = createFsStoreWithIo({ dir, clock }, io);
      const a = rec(clock);
      const b = rec(clock, { subject: a.subject });
      await store.insert(a);
      expect(await store.replace({ ...a, version: 2 }, 1)).toBe(true);
      expect(await store.rotate({ record: { ...a, version: 3 }, expectedVersion: 2 }, b)).toBe(
        true,
      );
      expect(await store.get(b.id)).toEqual(b);
      expect(await store.delete(b.id)).toBe(true);
      // One refused symlink switches the process over; the rest go straight to link.
      expect(calls.symlink).toBe(1);
      expect(calls.link).toBeGreaterThanOrEqual(4);
      // No lock or lock temp file is left behind.
      expect((await walk(dir)).filter((f) => f.endsWith('.lock') || f.endsWith('.tmp'))).toEqual(
        [],
      );
      await store.close();
    });
  }

  it('compare-and-swap holds: of 20 concurrent replaces at one version, exactly one wins', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const { io } = noSymlinks('EPERM');
    const store = createFsStoreWithIo({ dir, clock }, io);
    const a = rec(clock);
    await store.insert(a);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.replace({ ...a, version: 2, payload: new Uint8Array([i, 1, 2, 3]) }, 1),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect((await store.get(a.id))?.payload).toEqual(new Uint8Array([winner, 1, 2, 3]));
    await store.close();
  });

  it('another errno from symlink is a store failure, not a silent switch', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const { io, calls } = noSymlinks('EIO');
    const store = createFsStoreWithIo({ dir, clock }, io);
    const a = rec(clock);
    // A fresh id's insert takes no lock: it links its record into place.
    await store.insert(a);
    expect(calls).toEqual({ symlink: 0, link: 1 });
    await expect(store.replace({ ...a, version: 2 }, 1)).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
    await expect(store.insert(a)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    // The lock was never switched to a linked file (the second insert found the id's marker,
    // so it went straight to the lock).
    expect(calls).toEqual({ symlink: 2, link: 1 });
    expect(await store.get(a.id)).toEqual(a);
    await store.close();
  });
});

describe('records without hard links', () => {
  it("EPERM from link: inserts take the id's lock and rename, and of concurrent inserts of one id exactly one wins", async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    let links = 0;
    const io = {
      ...fsp,
      link: async () => {
        links++;
        throw Object.assign(new Error('EPERM: link refused'), { code: 'EPERM' });
      },
    } as unknown as Io;
    const store = createFsStoreWithIo({ dir, clock }, io);
    const a = rec(clock);
    await store.insert(a);
    expect(await store.get(a.id)).toEqual(a);
    // One refused link switches the process over: later inserts never try one.
    const b = rec(clock);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.insert({ ...b, payload: new Uint8Array([i]) })),
    );
    expect(links).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StoreConflict);
    }
    expect(await store.listBySubject(b.subject)).toHaveLength(1);
    expect((await walk(dir)).filter((f) => f.endsWith('.lock') || f.endsWith('.tmp'))).toEqual([]);
    await store.close();
  });
});
