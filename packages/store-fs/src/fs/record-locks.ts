import { dirname } from 'node:path';
import { StoreUnavailable } from '@cloakroom/core';
import { isMissing } from '../errors';
import { acquireLock, type LockTiming } from './file-lock';
import type { Io } from './io';
import type { Layout } from './layout';
import type { NewDirs } from './new-dirs';
import { settled } from './settled';

type Release = () => Promise<void>;

/**
 * Run `fn`, then every release (in the order given), whatever `fn` did. The
 * first error wins: `fn`'s, else the first release's that failed.
 */
async function thenRelease<T>(releases: readonly Release[], fn: () => Promise<T>): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await fn() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  for (const release of releases) {
    try {
      await release();
    } catch (error) {
      if (outcome.ok) outcome = { ok: false, error };
    }
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * The cross-process locks of the file-system store: one per record id
 * (`file-lock.ts` says how a lock file works), and one per subject that only
 * `insertWithLimit` takes. A lock's shard directory is made on first use.
 */
export class RecordLocks {
  constructor(
    private readonly io: Io,
    private readonly layout: Layout,
    private readonly timing: LockTiming,
    private readonly dirs: NewDirs,
  ) {}

  /** Run `fn` holding the locks of these ids, taken in sorted order so two callers never deadlock. */
  async withLocks<T>(ids: readonly string[], fn: () => Promise<T>): Promise<T> {
    const releases: Release[] = [];
    try {
      for (const id of [...new Set(ids)].sort()) releases.push(await this.#lock(id));
    } catch (error) {
      // Release what was taken; the lock error is the one to report.
      return thenRelease(releases.reverse(), () => Promise.reject(error));
    }
    return thenRelease(releases.reverse(), fn);
  }

  /**
   * Take the locks of these ids while the caller holds others, out of
   * sorted order: so each is waited for at most `waitMs` (a cycle of
   * waiters ends there instead of at `lockTimeoutMs`). Any id whose lock
   * is still held elsewhere by then: nothing is kept, `null`.
   * @returns the release function of the locks taken.
   */
  async tryLocks(ids: readonly string[], waitMs: number): Promise<Release | null> {
    const releases: Release[] = [];
    const releaseAll = async (): Promise<void> => {
      await settled(releases.reverse().map((release) => release()));
    };
    try {
      for (const id of [...new Set(ids)].sort()) {
        const timing = { ...this.timing, timeoutMs: Math.min(waitMs, this.timing.timeoutMs) };
        try {
          releases.push(await acquireLock(this.io, this.layout.lockPath(id), timing));
        } catch (err) {
          if (!(err instanceof StoreUnavailable) && !isMissing(err)) throw err;
          await releaseAll();
          return null;
        }
      }
    } catch (err) {
      await releaseAll();
      throw err;
    }
    return releaseAll;
  }

  /**
   * Run `fn` holding the subject's lock (`x/<sub[0..2]>/<sub>.lock`), which
   * only `insertWithLimit` takes, always before any record lock: limited
   * inserts into one subject run one at a time, in every process.
   */
  async withSubjectLock<T>(subject: string, fn: () => Promise<T>): Promise<T> {
    const lockPath = this.layout.subjectLockPath(subject);
    let release: Release;
    try {
      release = await acquireLock(this.io, lockPath, this.timing);
    } catch (err) {
      if (!isMissing(err)) throw err;
      // The subject shard is new. Its entry in `x` is made durable before
      // anything is written under it: markers made there later wait only
      // for the directories they create themselves.
      await this.dirs.make(dirname(lockPath));
      await this.dirs.synced(dirname(lockPath));
      release = await acquireLock(this.io, lockPath, this.timing);
    }
    return thenRelease([release], fn);
  }

  async #lock(id: string): Promise<Release> {
    const lockPath = this.layout.lockPath(id);
    try {
      return await acquireLock(this.io, lockPath, this.timing);
    } catch (err) {
      if (!isMissing(err)) throw err;
      // A lock needs no durability; the shard's entry does, before a record
      // written in it is acknowledged (`commit` waits for it).
      await this.dirs.make(dirname(lockPath));
      return acquireLock(this.io, lockPath, this.timing);
    }
  }
}
