import * as fsp from 'node:fs/promises';
import { chmod, chown, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { ConfigInvalid, InvalidArgument } from '@cloakroom/core';
import { createFsKeySetStore, createFsStore } from '@cloakroom/store-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsStoreWithIo } from '../src/session-store';
import type { Io } from '../src/fs/io';
import { fakeClock, key, rec, tempDir, walk } from './helpers';

const HOSTILE = [
  '',
  '.',
  '..',
  '../../../../etc/passwd',
  '/etc/passwd',
  'a/b',
  '*',
  '?',
  '[a-z]',
  "' OR 1=1--",
  '"',
  'abc\0def',
  '\\..\\..\\x',
  'x'.repeat(1_000_000),
  '..'.padEnd(43, '/'),
  `${'A'.repeat(41)}/.`,
  `${'A'.repeat(42)}\0`,
  `${'A'.repeat(42)}.`,
  `${'A'.repeat(42)}é`,
  'A'.repeat(44),
  'A'.repeat(42),
];

/** An Io that records every path the store hands to the file system. */
function recordingIo(paths: string[]): Io {
  // First argument is a path; rename and link take a second one; symlink's first is the
  // lock owner text (never a path it follows), its second the lock's path.
  const wrap =
    <F extends (...args: never[]) => unknown>(fn: F, pathArgs = 1) =>
    (...args: Parameters<F>) => {
      for (const a of args.slice(0, pathArgs)) paths.push(String(a));
      return fn(...args);
    };
  return {
    open: wrap(fsp.open),
    readFile: wrap(fsp.readFile),
    rename: wrap(fsp.rename, 2),
    link: wrap(fsp.link, 2),
    unlink: wrap(fsp.unlink),
    symlink: (target: string, path: string) => {
      paths.push(path);
      return fsp.symlink(target, path);
    },
    readlink: wrap(fsp.readlink),
    lstat: wrap(fsp.lstat),
    mkdir: wrap(fsp.mkdir),
    chmod: wrap(fsp.chmod),
    readdir: wrap(fsp.readdir),
    stat: wrap(fsp.stat),
    rmdir: wrap(fsp.rmdir),
  } as Io;
}

describe('SEC-03 ids never reach a path outside the root', () => {
  it('SEC-03 hostile ids and subjects are rejected before any file-system call; every path stays under the root', async () => {
    const parent = await tempDir();
    const root = join(parent, 'store');
    const paths: string[] = [];
    const clock = fakeClock();
    const store = createFsStoreWithIo({ dir: root, clock }, recordingIo(paths));
    const good = rec(clock);
    await store.insert(good);
    paths.length = 0;
    for (const bad of HOSTILE) {
      expect(await store.get(bad)).toBeNull();
      expect(await store.delete(bad)).toBe(false);
      expect(await store.listBySubject(bad)).toEqual([]);
      expect(await store.deleteBySubject(bad)).toBe(0);
      await expect(store.insert({ ...good, id: bad })).rejects.toBeInstanceOf(InvalidArgument);
      await expect(store.insert({ ...good, id: key(), subject: bad })).rejects.toBeInstanceOf(
        InvalidArgument,
      );
      await expect(store.replace({ ...good, id: bad, version: 2 }, 1)).rejects.toBeInstanceOf(
        InvalidArgument,
      );
      await expect(
        store.rotate({ record: { ...good, version: 2 }, expectedVersion: 1 }, { ...good, id: bad }),
      ).rejects.toBeInstanceOf(InvalidArgument);
      await expect(store.scan({ limit: 1, cursor: bad })).rejects.toBeInstanceOf(InvalidArgument);
    }
    expect(paths).toEqual([]);
    // Normal traffic: every path the store touches is inside the root.
    await store.sweep(clock.now);
    await store.deleteBySubject(good.subject);
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) {
      // The root itself is listed by sweep (leftover temp files); nothing above it is touched.
      expect(p === root || p.startsWith(root + sep), p).toBe(true);
      expect(p.split(sep)).not.toContain('..');
    }
    expect(await readdir(parent)).toEqual(['store']);
  });

  it('SEC-03 key-set names cannot escape the key-set directory', async () => {
    const parent = await tempDir();
    const keySets = createFsKeySetStore({ dir: join(parent, 'store') });
    for (const bad of ['../x', '/etc/passwd', 'a/b', '', 'x'.repeat(65), 'a\0b', '*']) {
      await expect(keySets.read(bad)).rejects.toBeInstanceOf(InvalidArgument);
      await expect(keySets.write(bad, new Uint8Array([1]), null)).rejects.toBeInstanceOf(
        InvalidArgument,
      );
    }
    // Names the contract allows, even "." and "..", stay plain files inside <root>/k.
    for (const name of ['.', '..', '...', 'a.lock', 'default']) {
      expect(await keySets.write(name, new Uint8Array([1]), null)).toBe(true);
      expect((await keySets.read(name))?.document).toEqual(new Uint8Array([1]));
    }
    expect(await readdir(parent)).toEqual(['store']);
    for (const f of await walk(parent)) expect(dirname(f)).toBe(join(parent, 'store', 'k'));
  });
});

describe('SEC-28 file modes and root checks', () => {
  let umask = 0;
  beforeEach(() => {
    umask = process.umask(0);
  });
  afterEach(() => {
    process.umask(umask);
  });

  it('SEC-28 files are 0600 and directories 0700 even under umask 000', async () => {
    const parent = await tempDir();
    const root = join(parent, 'a', 'b', 'store');
    const clock = fakeClock();
    const store = createFsStore({ dir: root, clock });
    const keySets = createFsKeySetStore({ dir: root });
    const old = rec(clock);
    await store.insert(old);
    await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, rec(clock));
    await keySets.write('default', new Uint8Array([1, 2]), null);
    const entries = await readdir(join(parent, 'a'), { recursive: true, withFileTypes: true });
    expect(entries.filter((e) => e.isFile()).length).toBeGreaterThanOrEqual(5);
    for (const dir of [join(parent, 'a'), join(parent, 'a', 'b'), root]) {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
    for (const e of entries) {
      const mode = (await stat(join(e.parentPath, e.name))).mode & 0o777;
      expect(mode, `${e.parentPath}/${e.name}`).toBe(e.isDirectory() ? 0o700 : 0o600);
    }
  });

  it("SEC-28 files are still 0600 under a umask that strips the owner's write bit (the fchmod path)", async () => {
    process.umask(0o277);
    const root = join(await tempDir(), 'store');
    const clock = fakeClock();
    const store = createFsStore({ dir: root, clock });
    const old = rec(clock);
    await store.insert(old);
    await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, rec(clock));
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    const files = entries.filter((e) => e.isFile());
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const e of files) {
      expect((await stat(join(e.parentPath, e.name))).mode & 0o777, e.name).toBe(0o600);
    }
  });

  it("SEC-28 directories are still 0700 under a umask that strips only the owner's search bit (the chmod path)", async () => {
    // Files created 0600 come out 0600 under this umask, directories made 0700 do not.
    process.umask(0o100);
    const root = join(await tempDir(), 'store');
    const clock = fakeClock();
    const store = createFsStore({ dir: root, clock });
    const old = rec(clock);
    await store.insert(old);
    await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, rec(clock));
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    expect(entries.filter((e) => e.isDirectory()).length).toBeGreaterThanOrEqual(6);
    for (const e of entries) {
      const mode = (await stat(join(e.parentPath, e.name))).mode & 0o777;
      if (!e.isSymbolicLink())
        expect(mode, `${e.parentPath}/${e.name}`).toBe(e.isDirectory() ? 0o700 : 0o600);
    }
  });

  it('SEC-28 refuses a group-writable or world-writable root with a clear ConfigInvalid', async () => {
    for (const mode of [0o770, 0o720, 0o702, 0o777]) {
      const root = await tempDir();
      await chmod(root, mode);
      expect(() => createFsStore({ dir: root })).toThrow(ConfigInvalid);
      expect(() => createFsStore({ dir: root })).toThrow(/group- or world-writable .*chmod 700/);
      expect(() => createFsKeySetStore({ dir: root })).toThrow(ConfigInvalid);
    }
  });

  it('SEC-28 refuses a group-writable subdirectory inside an otherwise safe root', async () => {
    const root = await tempDir();
    createFsStore({ dir: root });
    await chmod(join(root, 's'), 0o770);
    expect(() => createFsStore({ dir: root })).toThrow(ConfigInvalid);
  });

  it('SEC-28 refuses a root owned by another user', async () => {
    const root = await tempDir();
    const other = (process.getuid?.() ?? 0) + 4242;
    await chown(root, other, other);
    expect(() => createFsStore({ dir: root })).toThrow(ConfigInvalid);
    expect(() => createFsStore({ dir: root })).toThrow(/owned by uid 4242|owned by uid \d+/);
  });

  it('SEC-28 refuses a root that is a file', async () => {
    const parent = await tempDir();
    await mkdir(join(parent, 'd'));
    await fsp.writeFile(join(parent, 'f'), '');
    expect(() => createFsStore({ dir: join(parent, 'f') })).toThrow(ConfigInvalid);
  });
});
