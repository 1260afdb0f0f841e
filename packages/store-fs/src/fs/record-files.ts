import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StoreUnavailable } from '@cloakroom/core';
import {
  commitTemp,
  discardTemp,
  FILE_MODE,
  prepareTemp,
  syncDir,
  type TempFile,
} from './atomic-write';
import type { LockTiming } from './file-lock';
import { decodeRecord, encodeRecord, RECORD_OVERHEAD, type StoredRecord } from '../codec';
import { errnoOf, isMissing } from '../errors';
import type { Io } from './io';
import { readBounded, syncAndClose } from './file-read';
import type { Layout } from './layout';
import { NewDirs } from './new-dirs';
import { RecordLocks } from './record-locks';
import { settled } from './settled';

/** What a record file means right now. */
export type RecordState =
  | { readonly kind: 'missing' }
  /** Not a valid record file (checksum, format, or named for another id). */
  | { readonly kind: 'invalid' }
  /** The successor half of a `rotate` that never committed: does not exist. */
  | { readonly kind: 'orphan'; readonly stored: StoredRecord }
  | { readonly kind: 'expired'; readonly stored: StoredRecord }
  | { readonly kind: 'live'; readonly stored: StoredRecord };

export interface RecordFilesConfig {
  readonly io: Io;
  readonly layout: Layout;
  readonly durable: boolean;
  readonly lock: LockTiming;
  readonly maxPayloadBytes: number;
  /** Files opened 0600 and directories made 0700 come out so (the umask keeps the owner's bits): skip `chmod`. */
  readonly openModeExact: boolean;
}

/**
 * The file-level mechanics of the session store: read and classify a record
 * file, write one atomically, keep the subject index, lock ids. All paths come
 * from validated ids (see `layout.ts`).
 */
export class RecordFiles {
  readonly #c: RecordFilesConfig;
  /** Directories this process made, and the pending fsync of their parents. */
  readonly #dirs: NewDirs;
  /** The per-id and per-subject locks (record-locks.ts). */
  readonly locks: RecordLocks;

  constructor(config: RecordFilesConfig) {
    this.#c = config;
    this.#dirs = new NewDirs(config.io, config.layout, config.durable, config.openModeExact);
    this.locks = new RecordLocks(config.io, config.layout, config.lock, this.#dirs);
  }

  /**
   * Read a record file; no interpretation beyond its own validity.
   * `shardKnown`: the caller holds this id's lock, whose file lives in the
   * record's shard directory, so a missing file cannot mean a vanished store.
   */
  async read(id: string, shardKnown = false): Promise<StoredRecord | 'missing' | 'invalid'> {
    const path = this.#c.layout.recordPath(id);
    let bytes: Buffer | undefined;
    try {
      const handle = await this.#c.io.open(path, 'r');
      try {
        bytes = await readBounded(handle, this.#c.maxPayloadBytes + RECORD_OVERHEAD);
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (isMissing(err)) {
        if (!shardKnown) await this.#present(this.#c.layout.records);
        return 'missing';
      }
      if (errnoOf(err) === 'EISDIR') return 'invalid';
      throw err;
    }
    // A planted multi-gigabyte file is never read into memory.
    if (bytes === undefined) return 'invalid';
    const stored = decodeRecord(bytes);
    // A file copied under another id's name is not that id's record.
    if (stored === undefined || stored.record.id !== id) return 'invalid';
    return stored;
  }

  /**
   * Classify the record with this id at `now`. A pending successor exists
   * only once its parent's file names it (the parent's rename is the commit
   * point of `rotate`).
   */
  async state(id: string, now: number, shardKnown = false): Promise<RecordState> {
    const stored = await this.read(id, shardKnown);
    if (stored === 'missing' || stored === 'invalid') return { kind: stored };
    if (stored.pendingParent !== undefined && !(await this.#committed(stored.pendingParent, id))) {
      return { kind: 'orphan', stored };
    }
    return now >= stored.record.expiresAt ? { kind: 'expired', stored } : { kind: 'live', stored };
  }

  async #committed(parentId: string, childId: string): Promise<boolean> {
    const parent = await this.read(parentId);
    return typeof parent === 'object' && parent.successor === childId;
  }

  /**
   * Write a record file atomically (creating its shard directory if needed).
   * `exclusive`: the id has no file now, and must still have none when this
   * one appears (see {@link publish}).
   */
  async write(stored: StoredRecord, exclusive = false): Promise<void> {
    await this.commit(await this.prepare(stored), exclusive);
  }

  /**
   * The first half of {@link write}: the record's temp file, complete and
   * fsynced, not yet visible. Follow with {@link commit} or {@link discard}.
   */
  async prepare(stored: StoredRecord): Promise<TempFile> {
    const id = stored.record.id;
    const dir = this.#c.layout.shardOf(id);
    const bytes = encodeRecord(stored);
    const path = this.#c.layout.recordPath(id);
    const { io, durable, openModeExact } = this.#c;
    try {
      return await prepareTemp(io, dir, path, bytes, durable, openModeExact);
    } catch (err) {
      if (!isMissing(err)) throw err;
      await this.#dirs.make(dir);
      return prepareTemp(io, dir, path, bytes, durable, openModeExact);
    }
  }

  /**
   * Rename a prepared record over its file (the atomic step), durably: the
   * shard directory is fsynced, and so is its parent if this process has just
   * created the shard (that fsync started when the shard was made).
   */
  async commit(temp: TempFile, exclusive = false): Promise<void> {
    if (!exclusive || !hardLinks) {
      await settled([commitTemp(this.#c.io, temp, this.#c.durable), this.#dirs.synced(temp.dir)]);
      return;
    }
    const { durable } = await this.publish(temp, undefined, 'locked');
    await durable;
  }

  /**
   * The shard directory of `id`, opened ahead of a rename in it, so that the
   * fsync after the rename is one call, not three (open, fsync, close). The
   * caller holds the id's lock, whose file sits in the shard, and the store
   * never removes a shard: the handle is the shard the rename lands in.
   * `undefined` when not durable. Hand it to {@link publish}, or close it.
   */
  async openShard(id: string): Promise<FileHandle | undefined> {
    return this.#c.durable ? this.#c.io.open(this.#c.layout.shardOf(id), 'r') : undefined;
  }

  /**
   * Whether an insert may skip the id's lock: records can be created
   * exclusively here (`link`), as far as this process has seen.
   */
  get exclusiveCreate(): boolean {
    return hardLinks;
  }

  /**
   * {@link commit} in two steps: rename a prepared record over its file (it
   * is visible once this returns), and `durable`, which settles once the
   * rename survives power loss: the shard fsynced through `shard` (from
   * {@link openShard}; closed here either way), and the shard's parent if
   * this process has just made the shard. The caller may release the id's
   * lock before `durable` settles, and acknowledges only after: the lock
   * orders the record's versions (every later holder reads what this rename
   * left), the fsync only decides what a power cut keeps, and a later
   * writer's own fsync of the shard, which its acknowledgement waits for,
   * keeps this rename too.
   *
   * `exclusive`: the record is created only where the id has no file, in
   * one atomic step: `link` of the temp file to the record's name, which
   * fails with `EEXIST` when any file is there (then {@link NotCreated} is
   * thrown and nothing has changed). An insert made this way needs no lock
   * (`'unlocked'`, see `insertFresh` in insert.ts), so every writer
   * holding a lock (`'locked'`) that creates a record where it found none
   * must create it this way too, never by a rename that would overwrite one
   * made meanwhile. On a file system without hard links a locked create is
   * a rename, and an unlocked one is refused (`NotCreated`, reason
   * `'no-hard-links'`): no insert runs without its lock there.
   */
  async publish(
    temp: TempFile,
    shard: FileHandle | undefined,
    exclusive: false | 'locked' | 'unlocked' = false,
  ): Promise<{ readonly durable: Promise<void> }> {
    const { io } = this.#c;
    let linked = false;
    try {
      if (exclusive !== false && hardLinks) linked = await linkOnce(io, temp.temp, temp.path);
      // Without hard links a create is a rename, and only under the id's lock.
      if (!linked && exclusive === 'unlocked') throw new NotCreated('no-hard-links');
      if (!linked) await io.rename(temp.temp, temp.path);
    } catch (err) {
      // The failure to report is this one; closing a directory opened for reading loses nothing.
      await Promise.allSettled([discardTemp(io, temp), shard?.close()]);
      if (errnoOf(err) === 'EEXIST') throw new NotCreated('exists');
      throw err;
    }
    const durable = settled([
      shard ? syncAndClose(shard) : this.#c.durable ? syncDir(io, temp.dir) : undefined,
      this.#dirs.synced(temp.dir),
      // The temp name of a linked record: its removal needs no durability (a
      // leftover is swept by age), and its failure changes nothing visible.
      linked ? io.unlink(temp.temp).catch(() => undefined) : undefined,
    ]);
    // Observed here too, so a failure while the caller releases its lock
    // never leaves it unhandled; the caller still awaits it.
    durable.catch(() => undefined);
    return { durable };
  }

  /** Remove prepared temp files that will not be committed (those that were written at all). */
  async discard(temps: readonly Promise<TempFile>[]): Promise<void> {
    for (const result of await Promise.allSettled(temps)) {
      if (result.status === 'fulfilled') await discardTemp(this.#c.io, result.value);
    }
  }

  /** Remove a record file (durably, so a revocation survives power loss). */
  async remove(id: string): Promise<void> {
    try {
      await this.#c.io.unlink(this.#c.layout.recordPath(id));
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    if (this.#c.durable) await syncDir(this.#c.io, this.#c.layout.shardOf(id));
  }

  /**
   * Add `id` to the subject's index before its record is written, so the
   * index never misses a record (ghost markers are harmless: every reader
   * checks the record itself). Durable on return: the marker's entry, and
   * those of the directories made for it.
   * @returns whether this call created the marker (`false`: it was there).
   */
  async addMarker(subject: string, id: string): Promise<boolean> {
    const path = this.#c.layout.markerPath(subject, id);
    const dir = dirname(path);
    for (let attempt = 0; ; attempt++) {
      // The subject directory first, as a subject's first session is the
      // common insert (sweep removes a subject's directory once it is empty):
      // mkdir then open, where opening first would cost a failed open.
      try {
        await this.#dirs.make(dir);
        const handle = await this.#c.io.open(path, 'wx', FILE_MODE);
        try {
          if (!this.#c.openModeExact) await handle.chmod(FILE_MODE);
        } finally {
          await handle.close();
        }
        // The marker's entry, and the entries of the directories just made
        // for it, are all in place: their fsyncs run together.
        if (this.#c.durable) await settled([syncDir(this.#c.io, dir), this.#dirs.synced(dir)]);
        return true;
      } catch (err) {
        if (errnoOf(err) === 'EEXIST') return false;
        // A sweep removed the subject directory, empty, between its mkdir and
        // this open (or its chmod): make it again.
        if (!isMissing(err) || attempt >= MARKER_ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Remove a marker whose record file is missing (a ghost), unless the
   * marker is younger than `staleLockMs`: an insert that runs without the
   * id's lock makes its marker first and its record after, so a young
   * marker without a record may be an insert in flight, whose record would
   * then escape its subject's index. `staleLockMs` already bounds any write
   * (a lock held longer counts as abandoned); the ghost is removed by a
   * later sweep. The caller holds the id's lock and saw no record.
   * @returns whether the marker was removed.
   */
  async removeGhostMarker(subject: string, id: string): Promise<boolean> {
    const path = this.#c.layout.markerPath(subject, id);
    try {
      const { mtimeMs } = await this.#c.io.lstat(path);
      if (Date.now() - mtimeMs <= this.#c.lock.staleMs) return false;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    await this.removeMarker(subject, id);
    return true;
  }

  async removeMarker(subject: string, id: string): Promise<void> {
    await this.#c.io.unlink(this.#c.layout.markerPath(subject, id)).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
  }

  /** Ids listed in a subject's index (possibly ghosts). */
  async markers(subject: string): Promise<string[]> {
    try {
      return await this.#c.io.readdir(this.#c.layout.subjectDir(subject));
    } catch (err) {
      if (!isMissing(err)) throw err;
      await this.#present(this.#c.layout.subjects);
      return [];
    }
  }

  /**
   * A missing file means "no record" only while the store's own directory is
   * there; a deleted or unmounted directory is an outage, not an empty store.
   */
  async #present(dir: string): Promise<void> {
    try {
      await this.#c.io.stat(dir);
    } catch (err) {
      throw new StoreUnavailable(`fs store: directory ${dir} is gone (deleted or unmounted?)`, {
        cause: err,
      });
    }
  }

  /**
   * Before a file that names a successor is overwritten or removed, make sure
   * that successor no longer depends on it: a crash between the commit and
   * the clean-up of `rotate` leaves the successor pending.
   * `held` lists ids whose locks the caller already holds.
   */
  async settleSuccessor(stored: StoredRecord, held: readonly string[]): Promise<void> {
    const next = stored.successor;
    if (next === undefined) return;
    const run = async (): Promise<void> => {
      const child = await this.read(next, true);
      if (typeof child === 'object' && child.pendingParent === stored.record.id) {
        await this.write(
          child.seat === undefined
            ? { record: child.record }
            : { record: child.record, seat: child.seat },
        );
      }
    };
    if (held.includes(next)) await run();
    else await this.locks.withLocks([next], run);
  }
}

/**
 * How many times `addMarker` makes the subject directory again when a sweep
 * removes it (empty) between its creation and the marker's. A sweep leaves
 * a directory made or changed within `staleLockMs` alone (sweep.ts), so one
 * sweep takes it from a writer at most once; the margin covers several
 * processes sweeping at once.
 */
const MARKER_ATTEMPTS = 8;

/**
 * Thrown by an exclusive {@link RecordFiles.publish} that created nothing:
 * the id already has a file (a record, live or not), or, unlocked, this file
 * system has no hard links. Internal: callers holding the lock turn
 * `'exists'` into a conflict; an unlocked insert retries under the lock.
 */
export class NotCreated extends Error {
  constructor(readonly reason: 'exists' | 'no-hard-links') {
    super(`fs store: record not created (${reason})`);
    this.name = 'NotCreated';
  }
}

// Where hard links cannot be made (some network and FUSE file systems), an
// exclusive create is a rename under the id's lock, and inserts take the lock.
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
let hardLinks = true;

/**
 * `link(from, to)`, unless this file system has no hard links: then it
 * remembers so for the process and returns false (the caller renames).
 */
async function linkOnce(io: Io, from: string, to: string): Promise<boolean> {
  try {
    await io.link(from, to);
    return true;
  } catch (err) {
    const code = errnoOf(err);
    if (code === undefined || !NO_LINKS.has(code)) throw err;
    hardLinks = false;
    return false;
  }
}

/** Tests only: forget that hard links failed here. */
export function resetLinkKind(): void {
  hardLinks = true;
}
