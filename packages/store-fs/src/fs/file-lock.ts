import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { StoreUnavailable } from '@cloakroom/core';
import { FILE_MODE } from './atomic-write';
import { errnoOf, isMissing } from '../errors';
import type { Io } from './io';
import { BREAK_SUFFIX, TEMP_SUFFIX } from './layout';

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
 * in between (the argument is at `breakLock`).
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
    const held = await readLock(io, lockPath);
    // Retry at once only after removing it: a break lock held elsewhere (by a
    // breaker on another host, say) must not make this loop spin past its deadline.
    if (
      held !== null &&
      (await isAbandoned(io, lockPath, held, timing.staleMs)) &&
      (await breakLock(io, lockPath, held, timing.staleMs))
    ) {
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

/** A lock as read from disk: its owner text exactly as stored, and what that text says. */
interface HeldLock {
  /** The owner text; two reads of one lock are the same lock exactly when these match (nonces are unique). */
  readonly text: string;
  /** A symbolic link (the owner is its target), or a regular file holding the owner. */
  readonly symbolic: boolean;
  /** The parsed owner; fields are missing when the text is not one this code wrote. */
  readonly owner: Partial<Owner>;
}

/** Read the lock at `path`; `null` when there is none. */
async function readLock(io: Io, path: string): Promise<HeldLock | null> {
  let text: string;
  let symbolic = true;
  try {
    text = await io.readlink(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return null;
    // EINVAL: not a symbolic link, so a lock file holding its owner as content.
    if (errnoOf(err) !== 'EINVAL') throw err;
    symbolic = false;
    try {
      text = await io.readFile(path, 'utf8');
    } catch (err2) {
      if (isMissing(err2)) return null;
      throw err2;
    }
  }
  let owner: Partial<Owner> = {};
  try {
    const parsed = JSON.parse(text) as Partial<Owner>;
    if (typeof parsed === 'object' && parsed !== null) owner = parsed;
  } catch {
    // An owner this code did not write: judged by the lock's age alone.
  }
  return { text, symbolic, owner };
}

/**
 * The one definition of an abandoned lock, used by writers waiting for a lock
 * and by `sweep` alike: its owner process is gone (trusted only when the
 * owner ran on this host: a pid says nothing about another host's
 * processes), or it is older than `staleMs` (its owner's time, else the
 * link's own mtime).
 */
async function isAbandoned(
  io: Io,
  path: string,
  held: HeldLock,
  staleMs: number,
): Promise<boolean> {
  const { pid, host, t } = held.owner;
  if (typeof pid === 'number' && host === HOST && pid !== process.pid && !alive(pid)) {
    return true;
  }
  let since = t;
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

/*
 * Why breaking a lock never removes a lock someone else has just taken.
 *
 * A lock is only ever removed by its owner (`release`, which first checks
 * that the lock still names it) or by a breaker that judged it abandoned.
 * Breakers take `<lock>.break` first, so they act one at a time. Holding it,
 * a breaker re-reads the lock and goes on only if it still holds the very
 * owner text it judged abandoned (nonces are unique, so equal text means the
 * same lock, never a newer one with the same owner). From that re-read to the
 * removal nothing else can change the lock: other breakers wait on the break
 * lock; a writer cannot create a lock while one exists (`symlink`/`link`
 * fail with EEXIST); and the owner cannot release it, because it is dead (a
 * same-host pid that is gone) or, for a lock judged by age, because it has
 * held it past `staleLockMs`, which the options require to exceed any write.
 * So a writer that takes the lock "at that moment" can only do so after the
 * removal, and its fresh lock is never touched.
 *
 * The removal itself is a rename to a unique name followed by a check of
 * what was moved (see `removeIfUnchanged`), not a bare unlink: if the break
 * lock was ever not exclusive (its holder was killed and it was cleared as
 * abandoned while a second breaker took a new one), the rename takes whatever
 * lock is there as a whole, and a newer owner's lock is put straight back
 * with an exclusive create (never over another) instead of being lost.
 */
async function breakLock(io: Io, path: string, held: HeldLock, staleMs: number): Promise<boolean> {
  const breakPath = path + BREAK_SUFFIX;
  const nonce = nextNonce();
  if (!(await tryCreate(io, breakPath, nonce))) {
    const breaker = await readLock(io, breakPath);
    // A breaker holds its lock for a few system calls; one that is gone or
    // old died mid-break and is removed so breaking can proceed.
    if (breaker !== null && (await isAbandoned(io, breakPath, breaker, staleMs))) {
      await removeIfUnchanged(io, breakPath, breaker);
    }
    return false;
  }
  try {
    const now = await readLock(io, path);
    return now !== null && now.text === held.text && (await removeIfUnchanged(io, path, held));
  } finally {
    await release(io, breakPath, nonce);
  }
}

/**
 * Remove the lock at `path` only if it is still `held`: rename it to a unique
 * temp name (atomic: whatever lock is at `path` moves as a whole), read what
 * moved, and delete it when it is `held`. Anything else is put back with an
 * exclusive create (`symlink`, or `link` for a lock file), which fails
 * harmlessly if the path was taken meanwhile. A remover killed between the
 * rename and the delete leaves a `.tmp` file, which `sweep` removes by age.
 * @returns whether `held` was removed.
 */
async function removeIfUnchanged(io: Io, path: string, held: HeldLock): Promise<boolean> {
  const tomb = join(dirname(path), `.${basename(path)}.${nextNonce()}${TEMP_SUFFIX}`);
  try {
    await io.rename(path, tomb);
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
  try {
    const moved = await readLock(io, tomb);
    if (moved === null) return false;
    if (moved.text === held.text) return true;
    try {
      if (moved.symbolic) await io.symlink(moved.text, path);
      else await io.link(tomb, path);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
    return false;
  } finally {
    await io.unlink(tomb).catch(swallowMissing);
  }
}

/**
 * `sweep`'s half of lock breaking: remove the lock (or break lock) at `path`
 * when it is abandoned by the same definition writers use, and safely against
 * a writer or breaker acting on it at the same moment (see `breakLock`).
 * A lock whose owner is alive and younger than `staleMs`, on this host or
 * another, is left alone.
 * @returns whether a lock was removed.
 */
export async function removeAbandonedLock(io: Io, path: string, staleMs: number): Promise<boolean> {
  const held = await readLock(io, path);
  if (held === null || !(await isAbandoned(io, path, held, staleMs))) return false;
  // A break lock is held for a few system calls and has no break lock of its own.
  if (path.endsWith(BREAK_SUFFIX)) return removeIfUnchanged(io, path, held);
  return breakLock(io, path, held, staleMs);
}

async function release(io: Io, path: string, nonce: string): Promise<void> {
  const held = await readLock(io, path);
  // Ours may have been broken as stale (we held it past staleMs): leave the new owner's alone.
  // A break landing between this read and the unlink would need us to be past
  // staleMs already, when mutual exclusion is lost anyway: not worth an extra
  // rename on every write.
  if (held?.owner.nonce === nonce) await io.unlink(path).catch(swallowMissing);
}

function swallowMissing(err: unknown): void {
  if (!isMissing(err)) throw err;
}

function nextNonce(): string {
  lockCounter = (lockCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS_TAG}.${lockCounter}`;
}
