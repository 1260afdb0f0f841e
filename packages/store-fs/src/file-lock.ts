import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { StoreUnavailable } from '@cloakroom/core';
import { FILE_MODE } from './atomic-write';
import { errnoOf, type Io, isMissing } from './io';
import { TEMP_SUFFIX } from './layout';

/** How long to wait for a lock and when a held lock counts as abandoned. */
export interface LockTiming {
  readonly timeoutMs: number;
  readonly staleMs: number;
}

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly t: number;
  readonly nonce: string;
}

const HOST = hostname();
/** Nonces are this process's random tag plus a counter: unique without a random draw per lock. */
const PROCESS_TAG = randomBytes(9).toString('base64url');
let lockCounter = 0;

/**
 * Take an exclusive lock shared by every process on this directory. The lock
 * is a symbolic link whose target text is its owner (pid, host, time, nonce):
 * `symlink` creates it atomically with its owner in one system call and fails
 * with EEXIST while it is held, so a crash never leaves an ownerless lock. (The
 * link is never followed; its target names no file.) Locks written as regular
 * files holding the owner, as earlier versions did, are read and broken the
 * same way. A lock is abandoned when its owner process is gone (same host,
 * pid not alive) or it is older than `staleMs`; abandoned locks are broken
 * under a short break lock so two breakers cannot remove a fresh lock taken
 * in between.
 * @returns the release function.
 * @throws StoreUnavailable when the lock is still held after `timeoutMs`.
 */
export async function acquireLock(
  io: Io,
  lockPath: string,
  timing: LockTiming,
): Promise<() => Promise<void>> {
  const nonce = nextNonce();
  const deadline = Date.now() + timing.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(io, lockPath, nonce)) return () => release(io, lockPath, nonce);
    const held = await readOwner(io, lockPath);
    if (held !== null && (await isAbandoned(io, lockPath, held, timing.staleMs))) {
      await breakLock(io, lockPath, held, timing.staleMs);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StoreUnavailable(
        `fs store: lock ${basename(lockPath)} still held after ${timing.timeoutMs} ms`,
      );
    }
    await delay(Math.min(2 ** Math.min(attempt, 5), 25) * (0.5 + Math.random()));
  }
}

// Where symbolic links cannot be made (Windows without the privilege, some
// network or FUSE file systems), a lock is a regular file holding its owner,
// hard-linked into place: the same atomicity, four more system calls.
const NO_SYMLINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
let symlinks = true;

async function tryCreate(io: Io, path: string, nonce: string): Promise<boolean> {
  const owner = JSON.stringify({ pid: process.pid, host: HOST, t: Date.now(), nonce });
  if (symlinks) {
    try {
      await io.symlink(owner, path);
      return true;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'EEXIST') return false;
      if (code === undefined || !NO_SYMLINKS.has(code)) throw err;
      symlinks = false;
    }
  }
  return tryCreateFile(io, path, owner, nonce);
}

/** The lock as a regular file: written whole under a temp name, then `link`ed (EEXIST while held). */
async function tryCreateFile(io: Io, path: string, owner: string, nonce: string): Promise<boolean> {
  const temp = join(dirname(path), `.${basename(path)}.${nonce}${TEMP_SUFFIX}`);
  try {
    const handle = await io.open(temp, 'wx', FILE_MODE);
    try {
      await handle.writeFile(owner);
    } finally {
      await handle.close();
    }
    await io.link(temp, path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await io.unlink(temp).catch(() => undefined);
  }
}

/** Tests only: forget that symbolic links failed here. */
export function resetLockKind(): void {
  symlinks = true;
}

/** The owner named by a lock; `null` when it vanished; `undefined` fields when unreadable. */
async function readOwner(io: Io, path: string): Promise<Partial<Owner> | null> {
  let text: string;
  try {
    text = await io.readlink(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return null;
    // EINVAL: not a symbolic link, so a lock file holding its owner as content.
    if (errnoOf(err) !== 'EINVAL') throw err;
    try {
      text = await io.readFile(path, 'utf8');
    } catch (err2) {
      if (isMissing(err2)) return null;
      throw err2;
    }
  }
  try {
    const parsed = JSON.parse(text) as Partial<Owner>;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

async function isAbandoned(
  io: Io,
  path: string,
  held: Partial<Owner>,
  staleMs: number,
): Promise<boolean> {
  if (
    typeof held.pid === 'number' &&
    held.host === HOST &&
    held.pid !== process.pid &&
    !alive(held.pid)
  ) {
    return true;
  }
  let since = held.t;
  if (typeof since !== 'number') {
    try {
      // lstat: the age of the lock itself, never of what a link might point to.
      since = (await io.lstat(path)).mtimeMs;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }
  return Date.now() - since > staleMs;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

async function breakLock(
  io: Io,
  path: string,
  held: Partial<Owner>,
  staleMs: number,
): Promise<void> {
  const breakPath = `${path}.break`;
  if (!(await tryCreate(io, breakPath, nextNonce()))) {
    const breaker = await readOwner(io, breakPath);
    // A breaker holds its lock for a few system calls; one that is gone or
    // old died mid-break and is removed so breaking can proceed.
    if (breaker !== null && (await isAbandoned(io, breakPath, breaker, staleMs))) {
      await io.unlink(breakPath).catch(() => undefined);
    }
    return;
  }
  try {
    const now = await readOwner(io, path);
    if (now !== null && now.nonce === held.nonce) await io.unlink(path).catch(swallowMissing);
  } finally {
    await io.unlink(breakPath).catch(swallowMissing);
  }
}

async function release(io: Io, path: string, nonce: string): Promise<void> {
  const held = await readOwner(io, path);
  // Ours may have been broken as stale (we held it past staleMs): leave the new owner's alone.
  if (held?.nonce === nonce) await io.unlink(path).catch(swallowMissing);
}

function swallowMissing(err: unknown): void {
  if (!isMissing(err)) throw err;
}

function nextNonce(): string {
  lockCounter = (lockCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS_TAG}.${lockCounter}`;
}
