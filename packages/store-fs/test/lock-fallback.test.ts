// Where symbolic links cannot be made (Windows without the privilege, some
// network or FUSE file systems), locks fall back to regular files linked
// into place, and compare-and-swap still holds.
import * as fsp from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { resetLockKind } from '../src/fs/file-lock';
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

afterEach(() => resetLockKind());

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
    await expect(store.insert(a)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(calls.link).toBe(0);
    await store.close();
  });
});
