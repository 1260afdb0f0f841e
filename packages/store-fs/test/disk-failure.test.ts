import { spawnSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreUnavailable } from '@cloakroom/core';
import { createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { createFsKeySetStoreWithIo } from '../src/key-set-store';
import { createFsStoreWithIo } from '../src/session-store';
import type { Io } from '../src/fs/io';
import { fakeClock, rec, tempDir, walk } from './helpers';

/** A record's temp file (not a lock's). */
const recordTemp = (path: string): boolean => /\.rec\.[0-9a-f]+\.tmp$/.test(path);

type Op = 'open' | 'write' | 'sync' | 'rename' | 'link' | 'read' | 'unlink' | 'symlink';

/**
 * The real file system, with a switch that makes chosen calls fail the way a
 * full or read-only disk does (tests run as root, where chmod cannot make a
 * directory read-only, and no tmpfs can be mounted).
 */
function faultyIo() {
  let fault: ((op: Op, path: string) => string | undefined) | undefined;
  const check = (op: Op, path: string): void => {
    const code = fault?.(op, path);
    if (code !== undefined)
      throw Object.assign(new Error(`${code}: injected ${op} ${path}`), { code });
  };
  const wrapHandle = (handle: FileHandle, path: string): FileHandle =>
    new Proxy(handle, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'writeFile' || prop === 'sync' || prop === 'readFile') {
          const op: Op = prop === 'writeFile' ? 'write' : prop === 'sync' ? 'sync' : 'read';
          return async (...args: unknown[]) => {
            check(op, path);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const io = {
    ...fsp,
    open: async (path: string, flags?: string, mode?: number) => {
      check('open', path);
      return wrapHandle(await fsp.open(path, flags, mode), path);
    },
    readFile: (async (path: string, options?: unknown) => {
      check('read', path);
      return fsp.readFile(path, options as never);
    }) as Io['readFile'],
    rename: async (from: string, to: string) => {
      check('rename', to);
      return fsp.rename(from, to);
    },
    unlink: async (path: string) => {
      check('unlink', path);
      return fsp.unlink(path);
    },
    symlink: async (target: string, path: string) => {
      check('symlink', path);
      return fsp.symlink(target, path);
    },
    link: async (from: string, to: string) => {
      check('link', to);
      return fsp.link(from, to);
    },
  } as Io;
  return {
    io,
    arm(f: (op: Op, path: string) => string | undefined) {
      fault = f;
    },
    disarm() {
      fault = undefined;
    },
  };
}

/** A store over faulty I/O holding one record, and a successor of the same subject for it. */
async function rotateSetup() {
  const dir = await tempDir();
  const clock = fakeClock();
  const faults = faultyIo();
  const store = createFsStoreWithIo({ dir, clock }, faults.io);
  const old = rec(clock);
  const next = rec(clock, { subject: old.subject });
  await store.insert(old);
  return { dir, faults, store, old, next };
}

async function expectUnavailable(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreUnavailable);
  expect((err as Error).message).toContain(code);
  expect(((err as Error).cause as { code?: string }).code).toBe(code);
}

describe('fs store: disk full, read-only, I/O errors', () => {
  it('disk full (ENOSPC) during replace: StoreUnavailable, previous version intact, no temp file left', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const faults = faultyIo();
    const store = createFsStoreWithIo({ dir, clock }, faults.io);
    const r = rec(clock);
    await store.insert(r);
    faults.arm((op, path) => (op === 'write' && recordTemp(path) ? 'ENOSPC' : undefined));
    await expectUnavailable(
      store.replace({ ...r, version: 2, payload: new Uint8Array(9) }, 1),
      'ENOSPC',
    );
    // Even the lock cannot be created: still a clean failure.
    faults.arm((op) => (op === 'symlink' ? 'ENOSPC' : undefined));
    await expectUnavailable(
      store.replace({ ...r, version: 2, payload: new Uint8Array(9) }, 1),
      'ENOSPC',
    );
    faults.disarm();
    expect(await store.get(r.id)).toEqual(r);
    expect((await walk(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The lock was released: the next write goes through.
    expect(await store.replace({ ...r, version: 2 }, 1)).toBe(true);
  });

  it('read-only file system (EROFS): insert, replace and delete throw StoreUnavailable and change nothing', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const faults = faultyIo();
    const store = createFsStoreWithIo({ dir, clock }, faults.io);
    const r = rec(clock);
    await store.insert(r);
    faults.arm((op) =>
      op === 'open' || op === 'rename' || op === 'link' || op === 'unlink' || op === 'symlink'
        ? 'EROFS'
        : undefined,
    );
    await expectUnavailable(store.insert(rec(clock)), 'EROFS');
    await expectUnavailable(store.replace({ ...r, version: 2 }, 1), 'EROFS');
    await expectUnavailable(store.delete(r.id), 'EROFS');
    faults.disarm();
    expect(await store.get(r.id)).toEqual(r);
  });

  it('insert failing at its link (a new id’s record is linked into place): StoreUnavailable, no record, no index marker, no temp file; the id can be inserted after', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const faults = faultyIo();
    const store = createFsStoreWithIo({ dir, clock }, faults.io);
    const r = rec(clock);
    for (const code of ['ENOSPC', 'EIO']) {
      faults.arm((op, path) => (op === 'link' && path.endsWith(`${r.id}.rec`) ? code : undefined));
      await expectUnavailable(store.insert(r), code);
      faults.disarm();
      expect(await store.get(r.id)).toBeNull();
      // The marker the insert made is taken back (under the id's lock), so the index lists nothing.
      const left = (await walk(dir)).map((f) => f.slice(dir.length));
      expect(
        left.filter((f) => f.startsWith('/x/') || f.endsWith('.tmp') || f.endsWith('.rec')),
      ).toEqual([]);
    }
    await store.insert(r);
    expect(await store.listBySubject(r.subject)).toEqual([r]);
  });

  it('fsync failure (EIO) is reported, never taken for success', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const faults = faultyIo();
    const store = createFsStoreWithIo({ dir, clock }, faults.io);
    const r = rec(clock);
    await store.insert(r);
    faults.arm((op, path) => (op === 'sync' && recordTemp(path) ? 'EIO' : undefined));
    await expectUnavailable(store.replace({ ...r, version: 2 }, 1), 'EIO');
    faults.disarm();
    expect(await store.get(r.id)).toEqual(r);
  });

  it('a read error makes get throw StoreUnavailable rather than report the session missing', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const faults = faultyIo();
    const store = createFsStoreWithIo({ dir, clock }, faults.io);
    const r = rec(clock);
    await store.insert(r);
    faults.arm((op, path) => (op === 'open' && path.endsWith('.rec') ? 'EIO' : undefined));
    await expectUnavailable(store.get(r.id), 'EIO');
    await expectUnavailable(store.listBySubject(r.subject), 'EIO');
  });

  it('rotate failing at its commit write changes nothing: old at its old version, successor invisible', async () => {
    const { faults, store, old, next } = await rotateSetup();
    // Fail the commit point: the rename of the parent's new version.
    faults.arm((op, path) =>
      op === 'rename' && path.endsWith(`${old.id}.rec`) ? 'ENOSPC' : undefined,
    );
    await expectUnavailable(
      store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next),
      'ENOSPC',
    );
    faults.disarm();
    expect(await store.get(old.id)).toEqual(old);
    expect(await store.get(next.id)).toBeNull();
    expect(await store.listBySubject(old.subject)).toEqual([old]);
    expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next)).toBe(
      true,
    );
    expect(await store.get(next.id)).toEqual(next);
  });

  it('rotate failing at any temp-file write before its commit changes nothing', async () => {
    for (let failAt = 1; failAt <= 3; failAt++) {
      const { dir, faults, store, old, next } = await rotateSetup();
      let writes = 0;
      faults.arm((op, path) =>
        op === 'write' && recordTemp(path) && ++writes === failAt ? 'ENOSPC' : undefined,
      );
      await expectUnavailable(
        store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next),
        'ENOSPC',
      );
      faults.disarm();
      expect(await store.get(old.id)).toEqual(old);
      expect(await store.get(next.id)).toBeNull();
      expect((await walk(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
  });

  it('rotate interrupted after its commit still shows both halves, and later writes settle the successor', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const faults = faultyIo();
    const store = createFsStoreWithIo({ dir, clock }, faults.io);
    const old = rec(clock);
    const next = rec(clock);
    await store.insert(old);
    // The successor is linked into place pending (next.id had no file); its
    // one rename, after the commit, rewrites it final: fail that.
    faults.arm((op, path) =>
      op === 'rename' && path.endsWith(`${next.id}.rec`) ? 'ENOSPC' : undefined,
    );
    const tomb = { ...old, version: 2 };
    await expectUnavailable(store.rotate({ record: tomb, expectedVersion: 1 }, next), 'ENOSPC');
    faults.disarm();
    expect(await store.get(old.id)).toEqual(tomb);
    expect(await store.get(next.id)).toEqual(next);
    // Deleting the parent first rewrites the successor without its pending link.
    expect(await store.delete(old.id)).toBe(true);
    expect(await store.get(next.id)).toEqual(next);
  });

  it('key-set write on a full disk: StoreUnavailable, previous document intact', async () => {
    const dir = await tempDir();
    const faults = faultyIo();
    const keySets = createFsKeySetStoreWithIo({ dir }, faults.io);
    expect(await keySets.write('default', Uint8Array.of(1), null)).toBe(true);
    faults.arm((op, path) => (op === 'write' && path.endsWith('.tmp') ? 'ENOSPC' : undefined));
    await expectUnavailable(keySets.write('default', Uint8Array.of(2), 1), 'ENOSPC');
    faults.disarm();
    expect(await keySets.read('default')).toEqual({ version: 1, document: Uint8Array.of(1) });
  });
});

/** A lock planted as this store writes it (a symbolic link naming its owner) or as a file holding the owner (earlier versions). */
type LockFormat = 'symlink' | 'file';

describe.each<LockFormat>(['symlink', 'file'])('fs store: locks (%s format)', (format) => {
  const lockFile = (dir: string, id: string) => join(dir, 's', id.slice(0, 2), `${id}.lock`);
  const plant = async (path: string, owner: object): Promise<void> => {
    await fsp.rm(path, { force: true });
    if (format === 'symlink') await fsp.symlink(JSON.stringify(owner), path);
    else await fsp.writeFile(path, JSON.stringify(owner));
  };

  it('a lock held by a live process makes writers fail with StoreUnavailable after lockTimeoutMs, not hang', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, lockTimeoutMs: 150 });
    const r = rec(clock);
    await store.insert(r);
    const owner = { pid: process.pid, host: hostname(), t: Date.now(), nonce: 'someone-else' };
    await plant(lockFile(dir, r.id), owner);
    const started = Date.now();
    await expect(store.replace({ ...r, version: 2 }, 1)).rejects.toBeInstanceOf(StoreUnavailable);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await store.get(r.id)).toEqual(r);
  });

  it('a lock left by a dead process is broken at once', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, lockTimeoutMs: 150 });
    const r = rec(clock);
    await store.insert(r);
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    const owner = { pid: Number(dead), host: hostname(), t: Date.now(), nonce: 'dead' };
    await plant(lockFile(dir, r.id), owner);
    expect(await store.replace({ ...r, version: 2 }, 1)).toBe(true);
  });

  it('a lock older than staleLockMs (owner on another host) is broken', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, lockTimeoutMs: 150, staleLockMs: 1000 });
    const r = rec(clock);
    await store.insert(r);
    const owner = { pid: 1, host: 'another-host', t: Date.now() - 5000, nonce: 'old' };
    await plant(lockFile(dir, r.id), owner);
    expect(await store.replace({ ...r, version: 2 }, 1)).toBe(true);
    const fresh = { ...owner, t: Date.now() };
    await plant(lockFile(dir, r.id), fresh);
    await expect(store.replace({ ...r, version: 3 }, 2)).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('an abandoned lock whose break lock another host holds makes writers fail after lockTimeoutMs, not spin until the break lock goes stale', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, lockTimeoutMs: 150, staleLockMs: 60_000 });
    const r = rec(clock);
    await store.insert(r);
    await plant(lockFile(dir, r.id), { pid: 1, host: 'another-host', t: 0, nonce: 'old' });
    // A breaker on another host: its pid says nothing here, and it is young.
    await plant(`${lockFile(dir, r.id)}.break`, {
      pid: 1,
      host: 'another-host',
      t: Date.now(),
      nonce: 'breaking',
    });
    const started = Date.now();
    await expect(store.replace({ ...r, version: 2 }, 1)).rejects.toBeInstanceOf(StoreUnavailable);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await store.get(r.id)).toEqual(r);
  });

  it('concurrent writers in one process serialise on the lock: exactly one CAS wins', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock });
    const r = rec(clock);
    await store.insert(r);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.replace({ ...r, version: 2, payload: Uint8Array.of(i) }, 1),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const rotations = await Promise.all(
      Array.from({ length: 8 }, () =>
        store.rotate(
          { record: { ...r, version: 3 }, expectedVersion: 2 },
          rec(clock, { subject: r.subject }),
        ),
      ),
    );
    expect(rotations.filter(Boolean)).toHaveLength(1);
    expect(await store.listBySubject(r.subject)).toHaveLength(2);
  });
});
