// Issue #14: sweep removes what killed writers leave behind (abandoned locks
// and old temp files), and never a lock that a live owner holds or a writer
// takes while sweep is at work.
import * as fsp from 'node:fs/promises';
import { lstat, mkdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../src/codec';
import { acquireLock } from '../src/fs/file-lock';
import { type Io, nodeIo } from '../src/fs/io';
import { createFsStoreWithIo } from '../src/session-store';
import { type Child, spawnFixture } from './child';
import { key, tempDir, walk } from './helpers';

const isLock = (f: string): boolean => f.endsWith('.lock') || f.endsWith('.lock.break');
const isTemp = (f: string): boolean => basename(f).startsWith('.') && f.endsWith('.tmp');

/** Every lock, break lock and temp file under the store (records, key sets, root). */
async function leftovers(dir: string): Promise<{ locks: string[]; temps: string[] }> {
  const files = await walk(dir);
  return { locks: files.filter(isLock).sort(), temps: files.filter(isTemp).sort() };
}

/** A lock as this store writes it: a symbolic link whose target text is the owner. */
async function plantLock(
  path: string,
  owner: { pid: number; host: string; t: number },
): Promise<string> {
  const text = JSON.stringify({ ...owner, nonce: `planted.${key().slice(0, 8)}` });
  await symlink(text, path);
  return text;
}

function lockPathOf(dir: string, id: string): string {
  return join(dir, 's', id.slice(0, 2), `${id}.lock`);
}

describe('fs store: sweep removes what killed writers leave behind (#14)', () => {
  it('after writers are SIGKILLed mid-write, sweep leaves no abandoned lock and no temp file older than staleLockMs; a live process’s lock and a fresh lock of another host survive', async () => {
    const STALE = 1500;
    const ROUNDS = 3;
    const WORKERS = 4;
    const dir = await tempDir();
    createFsStore({ dir }); // the root, before any writer races to create it
    const deadPids: number[] = [];
    let ops = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const writers: Child[] = Array.from({ length: WORKERS }, (_, w) =>
        spawnFixture('litter-writer.ts', [dir, String(w)]),
      );
      for (const child of writers) await child.waitFor((l) => l === 'loaded', 20_000);
      for (const child of writers) child.proc.stdin!.write('go\n');
      // Each has acknowledged a write, so each is busy in its loop when killed.
      for (const child of writers) await child.waitFor((l) => /^[TRK] /.test(l), 20_000);
      await delay(Math.random() * 40);
      for (const child of writers) child.proc.kill('SIGKILL');
      for (const child of writers) {
        const exit = await child.exited;
        expect(exit.signal, exit.stderr).toBe('SIGKILL');
        deadPids.push(child.proc.pid!);
        ops += child.lines.filter((l) => /^[TRK] /.test(l)).length;
      }
    }
    const killedAt = Date.now();

    // What the kills left: locks of dead owners on this host, and temp files.
    const left = await leftovers(dir);
    const deadLocks: string[] = [];
    for (const path of left.locks) {
      const owner = JSON.parse(await readlink(path)) as { pid: number; host: string };
      if (owner.host === hostname() && deadPids.includes(owner.pid)) deadLocks.push(path);
    }
    expect(
      deadLocks.length,
      `${ops} writes, no lock left by ${deadPids.length} kills`,
    ).toBeGreaterThan(0);

    // Planted next to them: a dead breaker's break lock with the dead lock it was breaking;
    // an old lock of another host (stale by age); a key-set lock of a dead owner.
    const deadPid = deadPids[0]!;
    const broken = key();
    await mkdir(join(dir, 's', broken.slice(0, 2)), { recursive: true, mode: 0o700 });
    await plantLock(lockPathOf(dir, broken), { pid: deadPid, host: hostname(), t: Date.now() });
    await plantLock(`${lockPathOf(dir, broken)}.break`, {
      pid: deadPid,
      host: hostname(),
      t: Date.now(),
    });
    const oldRemote = key();
    await mkdir(join(dir, 's', oldRemote.slice(0, 2)), { recursive: true, mode: 0o700 });
    await plantLock(lockPathOf(dir, oldRemote), {
      pid: deadPid,
      host: 'elsewhere.invalid',
      t: Date.now() - 10 * STALE,
    });
    await plantLock(join(dir, 'k', 'planted.lock'), {
      pid: deadPid,
      host: hostname(),
      t: Date.now(),
    });
    const oldTemp = join(dir, 'k', `.planted.ks.${'0'.repeat(12)}.tmp`);
    await writeFile(oldTemp, 'x', { mode: 0o600 });

    // A live process about to hold a real lock.
    const holder = spawnFixture('hold-lock.ts', []);
    try {
      await holder.waitFor((l) => l === 'loaded', 20_000);
      // Until every leftover of the kills is older than staleLockMs.
      await delay(Math.max(0, killedAt + STALE + 200 - Date.now()));
      const held = key();
      await mkdir(join(dir, 's', held.slice(0, 2)), { recursive: true, mode: 0o700 });
      holder.proc.stdin!.write(`take ${lockPathOf(dir, held)}\n`);
      await holder.waitFor((l) => l === 'held', 10_000);
      // Fresh: a lock of another host whose pid means nothing here, and a temp file.
      const remote = key();
      await mkdir(join(dir, 's', remote.slice(0, 2)), { recursive: true, mode: 0o700 });
      const remoteText = await plantLock(lockPathOf(dir, remote), {
        pid: deadPid,
        host: 'elsewhere.invalid',
        t: Date.now(),
      });
      const freshTemp = join(dir, 's', remote.slice(0, 2), `.${remote}.rec.abcdef1.tmp`);
      await writeFile(freshTemp, 'partial', { mode: 0o600 });

      const sweeper = createFsStore({ dir, staleLockMs: STALE });
      await sweeper.sweep(Date.now());

      const after = await leftovers(dir);
      expect(after.locks).toEqual([lockPathOf(dir, held), lockPathOf(dir, remote)].sort());
      expect(after.temps).toEqual([freshTemp]);
      expect(await readlink(lockPathOf(dir, remote))).toBe(remoteText);
      // Every record file is still whole.
      for (const file of (await walk(join(dir, 's'))).filter((f) => f.endsWith('.rec'))) {
        expect(decodeRecord(await readFile(file)), file).toBeDefined();
      }
      console.log(
        `sweep after ${deadPids.length} kills (${ops} writes): removed ${left.locks.length} locks ` +
          `(${deadLocks.length} of dead owners) and ${left.temps.length} temp files left by the kills, ` +
          'plus 4 planted locks and 1 old temp file',
      );

      // Once its owner is gone, the held lock is abandoned: the next sweep removes it at once.
      holder.proc.kill('SIGKILL');
      await holder.exited;
      await sweeper.sweep(Date.now());
      expect((await leftovers(dir)).locks).toEqual([lockPathOf(dir, remote)]);
    } finally {
      holder.proc.kill('SIGKILL');
    }
  }, 120_000);

  it('a lock a writer takes while sweep is breaking the abandoned one it replaced is kept', async () => {
    const dir = await tempDir();
    let hook: (() => Promise<void>) | undefined;
    const io = {
      ...fsp,
      symlink: async (target: string, path: string) => {
        const run = path.endsWith('.lock.break') ? hook : undefined;
        hook = undefined;
        await run?.();
        return fsp.symlink(target, path);
      },
    } as Io;
    const sweeper = createFsStoreWithIo({ dir, staleLockMs: 60_000 }, io);
    const id = key();
    await mkdir(join(dir, 's', id.slice(0, 2)), { recursive: true, mode: 0o700 });
    const path = lockPathOf(dir, id);
    const deadText = await plantLock(path, { pid: 2 ** 22 + 1, host: hostname(), t: Date.now() });
    let release: (() => Promise<void>) | undefined;
    // Sweep has judged the dead lock abandoned and is about to take the break lock:
    // a writer breaks the dead lock first and takes the lock for itself.
    hook = async () => {
      release = await acquireLock(nodeIo, path, { timeoutMs: 1000, staleMs: 60_000 });
    };
    await sweeper.sweep(Date.now());
    expect(release).toBeDefined();
    const text = await readlink(path);
    expect(text).not.toBe(deadText);
    expect(JSON.parse(text)).toMatchObject({ pid: process.pid });
    await release!();
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a newer lock found where an abandoned one was judged is put back, never deleted', async () => {
    const dir = await tempDir();
    let hook: (() => Promise<void>) | undefined;
    const io = {
      ...fsp,
      rename: async (from: string, to: string) => {
        const run = from.endsWith('.lock') ? hook : undefined;
        hook = undefined;
        await run?.();
        return fsp.rename(from, to);
      },
    } as Io;
    const sweeper = createFsStoreWithIo({ dir, staleLockMs: 60_000 }, io);
    const id = key();
    await mkdir(join(dir, 's', id.slice(0, 2)), { recursive: true, mode: 0o700 });
    const path = lockPathOf(dir, id);
    await plantLock(path, { pid: 2 ** 22 + 1, host: hostname(), t: Date.now() });
    let newer = '';
    // The one interleaving the break lock cannot exclude on its own (a breaker
    // killed holding it, then two breakers at once): right before sweep moves
    // the dead lock away, it has been replaced by a live writer's lock.
    hook = async () => {
      await fsp.unlink(path);
      newer = await plantLock(path, { pid: process.pid, host: hostname(), t: Date.now() });
    };
    await sweeper.sweep(Date.now());
    expect(newer).not.toBe('');
    expect(await readlink(path)).toBe(newer);
    expect((await leftovers(dir)).temps).toEqual([]);
  });

  it('temp files are removed only once older than staleLockMs, wherever they are', async () => {
    const STALE = 300;
    const dir = await tempDir();
    const store = createFsStore({ dir, staleLockMs: STALE });
    const id = key();
    await mkdir(join(dir, 's', id.slice(0, 2)), { recursive: true, mode: 0o700 });
    const paths = [
      join(dir, 's', id.slice(0, 2), `.${id}.rec.1a2b3c.tmp`),
      join(dir, 's', id.slice(0, 2), `.${id}.lock.AbC.7.tmp`),
      join(dir, 'k', '.default.ks.4d5e6f.tmp'),
      join(dir, '.case-probe-0a0b0c-Aa.tmp'),
    ];
    for (const p of paths) await writeFile(p, 'x', { mode: 0o600 });
    const old = new Date(Date.now() - 10 * STALE);
    for (const p of paths) await utimes(p, old, old);
    // utimes leaves ctime at now, and the newer of mtime and ctime counts: still young.
    await store.sweep(Date.now());
    expect((await leftovers(dir)).temps).toEqual([...paths].sort());
    await delay(STALE + 100);
    await store.sweep(Date.now());
    expect((await leftovers(dir)).temps).toEqual([]);
  });

  it('a directory named like a lock or a temp file is left alone and does not stop the sweep', async () => {
    const STALE = 200;
    const dir = await tempDir();
    const store = createFsStore({ dir, staleLockMs: STALE });
    const id = key();
    const shard = join(dir, 's', id.slice(0, 2));
    await mkdir(join(shard, `${id}.lock`), { recursive: true, mode: 0o700 });
    await mkdir(join(shard, `.${id}.rec.0a.tmp`), { mode: 0o700 });
    const other = key();
    await mkdir(join(dir, 's', other.slice(0, 2)), { recursive: true, mode: 0o700 });
    await plantLock(lockPathOf(dir, other), { pid: 2 ** 22 + 1, host: hostname(), t: 0 });
    await delay(STALE + 50);
    await store.sweep(Date.now());
    await expect(lstat(lockPathOf(dir, other))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await lstat(join(shard, `${id}.lock`))).isDirectory()).toBe(true);
    expect((await lstat(join(shard, `.${id}.rec.0a.tmp`))).isDirectory()).toBe(true);
  });

  it('a subject directory that a sweep removes between its mkdir and the marker’s creation is made again: the write goes through', async () => {
    const dir = await tempDir();
    let raced = 0;
    // What a concurrent sweep does to a new, still empty subject directory: rmdir it.
    const io = {
      ...fsp,
      open: async (path: string, flags?: string, mode?: number) => {
        const parent = dirname(path);
        if (
          raced < 2 &&
          flags === 'wx' &&
          parent.startsWith(`${dir}/x/`) &&
          basename(parent).length === 43
        ) {
          raced++;
          await fsp.rmdir(parent);
        }
        return fsp.open(path, flags, mode);
      },
    } as Io;
    const store = createFsStoreWithIo({ dir }, io);
    const record = {
      id: key(),
      subject: key(),
      expiresAt: Date.now() + 60_000,
      version: 1,
      payload: new Uint8Array(),
    };
    await store.insert(record);
    expect(raced).toBe(2);
    expect(await store.listBySubject(record.subject)).toHaveLength(1);
  });
});
