import type {
  LimitedInsert,
  ScanOptions,
  ScanPage,
  SessionRecord,
  SessionStore,
  SubjectLimit,
} from '@cloakroom/core';
import {
  assertRecordVersion,
  assertSessionRecord,
  assertSubjectLimit,
  Closed,
  InvalidArgument,
  isStoreKey,
  StoreConflict,
} from '@cloakroom/core';
import type { StoredRecord } from './codec';
import { corruptRecord, unavailable } from './errors';
import { loadCursorKey } from './fs/cursor-key';
import { type Io, nodeIo } from './fs/io';
import { layoutOf } from './fs/layout';
import { NotCreated, RecordFiles, type RecordState } from './fs/record-files';
import { settled } from './fs/settled';
import { prepareRoot } from './fs/root';
import { scanRecords } from './fs/scan';
import { sweepRecords } from './fs/sweep';
import { type FsStoreOptions, resolveStoreOptions } from './options';
import { decodeCursor, encodeCursor } from './scan-cursor';
import { insertRecord } from './fs/insert';
import { insertUnderSubjectLock } from './fs/subject-limit';
import { seatStamp } from './seat';

/**
 * A {@link SessionStore} over a directory. `sweep` is always present: the
 * store has no native expiry, so call it periodically.
 *
 * @example
 * ```ts
 * const store: FsStore = createFsStore({ dir: '/var/lib/myapp/cloakroom' });
 * const removed = await store.sweep(Date.now());
 * ```
 */
export interface FsStore extends SessionStore {
  readonly name: 'fs';
  /**
   * {@link SessionStore.insertWithLimit}, always present. Seats are kept in
   * the record files (format 2), so they survive restarts; records written
   * by earlier versions hold a seat taken before all others (unless rotated
   * away). Limited inserts into one subject take that subject's lock, then
   * the lock of every record in its index, so each one sees and changes the
   * subject alone, in every process sharing the directory. Evicted records
   * are deleted durably before the new record is renamed into place.
   * @throws StoreConflict when a live record with the same id exists (nothing evicted).
   * @throws InvalidArgument for a malformed record or limit.
   */
  insertWithLimit(record: SessionRecord, limit: SubjectLimit): Promise<LimitedInsert>;
  /** Absolute path of the root directory. */
  readonly dir: string;
  /**
   * Remove records expired at `now`, plus what crashed or killed writers
   * left behind: uncommitted rotate halves, stale index markers and empty
   * subject directories, abandoned locks (owner process gone on this host, or
   * older than `staleLockMs`; a live owner's lock is never broken early) and
   * temp files older than `staleLockMs`. Works `sweepBatchSize` files at a
   * time; safe to run from several processes while others write.
   * @returns the number of expired records removed (leftovers are not counted).
   */
  sweep(now: number): Promise<number>;
}

/**
 * A crash-safe, multi-process-safe session store over a local directory.
 *
 * Each record is one checksummed file named by its session id, sharded by the
 * id's first two characters; writes are atomic (temp file, fsync, rename,
 * fsync directory). `replace`, `rotate` and `delete` take per-id lock files,
 * so several processes may share the directory. A subject index of empty
 * marker files serves `listBySubject` and `deleteBySubject`.
 * No native expiry: call `sweep` periodically to reclaim space.
 *
 * Edge behaviour: an id or subject that is not 43 characters of
 * `[A-Za-z0-9_-]` makes `get` return `null`, `delete` `false`,
 * `deleteBySubject` `0` and `listBySubject` `[]` without touching the disk;
 * `insert`, `replace` and `rotate` throw `InvalidArgument`. A scan cursor
 * that no store over this directory issued throws `InvalidArgument`. After
 * `close()` every method but `close` rejects with `Closed`.
 *
 * @throws ConfigInvalid when `dir` is unsafe (group/world-writable, owned by another user).
 * @example
 * ```ts
 * import { createFsStore } from '@cloakroom/store-fs';
 * const store = createFsStore({ dir: '/var/lib/myapp/sessions' });
 * setInterval(() => void store.sweep(Date.now()), 60_000).unref();
 * ```
 */
export function createFsStore(options: FsStoreOptions): FsStore {
  return createFsStoreWithIo(options, nodeIo);
}

/** Internal: the store over an injectable file system (tests inject disk failures). */
export function createFsStoreWithIo(options: FsStoreOptions, io: Io): FsStore {
  const resolved = resolveStoreOptions(options);
  const { clock, maxPayloadBytes, sweepBatchSize } = resolved;
  const { root, openModeExact } = prepareRoot(resolved.dir, ['s', 'x', 'k']);
  const cursorKey = loadCursorKey(root);
  const layout = layoutOf(root);
  const files = new RecordFiles({
    io,
    layout,
    durable: resolved.durable,
    lock: resolved.lock,
    maxPayloadBytes,
    openModeExact,
  });
  let closed = false;

  function open(): void {
    if (closed) throw new Closed('fs store: closed');
  }

  /**
   * Check a record and take the store's own copy, synchronously, before the
   * method's first await: bytes the caller changes afterwards never reach
   * the disk. The id and subject become file names (SEC-03).
   */
  function take(value: SessionRecord, what = 'record'): SessionRecord {
    assertSessionRecord(value, what);
    if (value.payload.byteLength > maxPayloadBytes) {
      throw new InvalidArgument(
        `fs store: ${what}.payload is ${value.payload.byteLength} bytes, over maxPayloadBytes (${maxPayloadBytes})`,
      );
    }
    const { id, subject, expiresAt, version } = value;
    return { id, subject, expiresAt, version, payload: new Uint8Array(value.payload) };
  }

  async function run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(operation, err);
    }
  }

  function liveOrThrow(id: string, state: RecordState): SessionRecord | null {
    if (state.kind === 'invalid') throw corruptRecord(id);
    return state.kind === 'live' ? state.stored.record : null;
  }

  /** Remove a record and its marker, under its lock. */
  async function removeLocked(
    id: string,
    state: RecordState,
    held: readonly string[],
  ): Promise<void> {
    if (state.kind === 'missing') return;
    if (state.kind !== 'invalid') await files.settleSuccessor(state.stored, held);
    await files.remove(id);
    if (state.kind !== 'invalid') await files.removeMarker(state.stored.record.subject, id);
  }

  /** The ids in a subject's index (possibly ghosts, moved or expired records). */
  async function indexed(subject: string): Promise<string[]> {
    return (await files.markers(subject)).filter(isStoreKey);
  }

  return {
    name: 'fs',
    dir: root,
    capabilities: { nativeExpiry: false, shared: true },

    async insert(given) {
      open();
      const record = take(given);
      return run('insert', async () => {
        const { durable } = await insertRecord({ files, clock }, record);
        // The lock is released already: it orders the record's versions, not their fsyncs.
        await durable;
      });
    },

    async insertWithLimit(given, limitGiven) {
      open();
      const record = take(given);
      assertSubjectLimit(limitGiven);
      const limit: SubjectLimit = { max: limitGiven.max, evict: limitGiven.evict };
      const { subject } = record;
      return run('insertWithLimit', () =>
        files.locks.withSubjectLock(subject, () =>
          insertUnderSubjectLock({ files, clock, indexed, removeLocked }, record, limit),
        ),
      );
    },

    async get(id) {
      open();
      if (!isStoreKey(id)) return null;
      return run('get', async () => {
        // Decoded from a fresh read: nothing else holds it, so no copy.
        return liveOrThrow(id, await files.state(id, clock()));
      });
    },

    async replace(given, expectedVersion) {
      open();
      const record = take(given);
      assertRecordVersion(expectedVersion, 'expectedVersion');
      return run('replace', () =>
        files.locks.withLocks([record.id], async () => {
          const state = await files.state(record.id, clock(), true);
          const current = liveOrThrow(record.id, state);
          if (current === null || state.kind !== 'live' || current.version !== expectedVersion)
            return false;
          if (current.subject !== record.subject) await files.addMarker(record.subject, record.id);
          await files.settleSuccessor(state.stored, [record.id]);
          // The record keeps its seat (or its lack of one), and its place in the order.
          await files.write(seated(record, state.stored.seat));
          if (current.subject !== record.subject)
            await files.removeMarker(current.subject, record.id);
          return true;
        }),
      );
    },

    async rotate(given, nextGiven) {
      open();
      if (typeof given !== 'object' || given === null)
        throw new InvalidArgument('fs store: old must be an object');
      const old = {
        record: take(given.record, 'old.record'),
        expectedVersion: given.expectedVersion,
      };
      assertRecordVersion(old.expectedVersion, 'old.expectedVersion');
      const next = take(nextGiven, 'next');
      if (next.id === old.record.id)
        throw new InvalidArgument('fs store: next.id must differ from old.record.id');
      const oldId = old.record.id;
      return run('rotate', () =>
        files.locks.withLocks([oldId, next.id], async () => {
          const now = clock();
          const oldState = await files.state(oldId, now, true);
          const current = liveOrThrow(oldId, oldState);
          if (
            current === null ||
            oldState.kind !== 'live' ||
            current.version !== old.expectedVersion
          ) {
            return false;
          }
          const nextState = await files.state(next.id, now, true);
          if (nextState.kind === 'invalid') throw corruptRecord(next.id);
          if (nextState.kind === 'live')
            throw new StoreConflict('fs store: a live record with next.id exists');
          const held = [oldId, next.id];
          if (nextState.kind !== 'missing') await files.settleSuccessor(nextState.stored, held);
          await files.settleSuccessor(oldState.stored, held);
          // Commit protocol: the successor is written pending, the parent's
          // rename (naming the successor) is the commit point, then the
          // successor is rewritten without the pending link. Everything before
          // the commit rename is independent, so it overlaps: the index
          // markers, the pending successor, and the temp files (written and
          // fsynced) of the parent and of the final successor.
          // `next` takes over old's seat and its place in the order; old keeps
          // none. The successor of a record without a seat (a forwarder)
          // takes a new one, last, so no live record escapes the count by
          // being rotated (as the other stores do).
          const seat = oldState.stored.seat ?? seatStamp();
          const parent = files.prepare({ record: old.record, successor: next.id });
          const final = files.prepare(seated(next, seat));
          try {
            await settled([
              files.addMarker(next.subject, next.id),
              old.record.subject === current.subject
                ? undefined
                : files.addMarker(old.record.subject, oldId),
              // Where next.id has no file, an insert without the lock may make one meanwhile.
              files.write(
                { ...seated(next, seat), pendingParent: oldId },
                nextState.kind === 'missing',
              ),
              parent,
              final,
            ]);
            await files.commit(await parent);
          } catch (err) {
            await files.discard([parent, final]);
            if (err instanceof NotCreated)
              throw new StoreConflict('fs store: a live record with next.id exists');
            throw err;
          }
          await files.commit(await final);
          if (old.record.subject !== current.subject)
            await files.removeMarker(current.subject, oldId);
          if (nextState.kind !== 'missing' && nextState.stored.record.subject !== next.subject) {
            await files.removeMarker(nextState.stored.record.subject, next.id);
          }
          return true;
        }),
      );
    },

    async delete(id) {
      open();
      if (!isStoreKey(id)) return false;
      return run('delete', () =>
        files.locks.withLocks([id], async () => {
          const state = await files.state(id, clock(), true);
          await removeLocked(id, state, [id]);
          return state.kind === 'live';
        }),
      );
    },

    async deleteBySubject(subject) {
      open();
      if (!isStoreKey(subject)) return 0;
      return run('deleteBySubject', async () => {
        let count = 0;
        for (const id of await files.markers(subject)) {
          if (!isStoreKey(id)) continue;
          const deleted = await files.locks.withLocks([id], async () => {
            const state = await files.state(id, clock(), true);
            // A record that moved to another subject keeps its file; its marker here is a ghost.
            const ours =
              state.kind !== 'missing' &&
              state.kind !== 'invalid' &&
              state.stored.record.subject === subject;
            if (ours) await removeLocked(id, state, [id]);
            if (ours) await files.removeMarker(subject, id);
            else if (state.kind === 'missing') await files.removeGhostMarker(subject, id);
            return ours && state.kind === 'live';
          });
          if (deleted) count++;
        }
        return count;
      });
    },

    async listBySubject(subject) {
      open();
      if (!isStoreKey(subject)) return [];
      return run('listBySubject', async () => {
        const now = clock();
        const ids = (await files.markers(subject)).filter(isStoreKey);
        const out: SessionRecord[] = [];
        for (const id of ids) {
          const state = await files.state(id, now);
          // Corrupt files are left to `get`/`delete`; one must not hide a subject's other sessions.
          if (state.kind === 'live' && state.stored.record.subject === subject) {
            out.push(state.stored.record);
          }
        }
        return out;
      });
    },

    async scan(options: ScanOptions): Promise<ScanPage> {
      open();
      if (typeof options !== 'object' || options === null)
        throw new InvalidArgument('fs store: scan options required');
      if (!Number.isSafeInteger(options.limit) || options.limit < 1) {
        throw new InvalidArgument('fs store: scan limit must be a positive integer');
      }
      const after =
        options.cursor === undefined ? undefined : decodeCursor(cursorKey, options.cursor);
      return run('scan', async () => {
        const page = await scanRecords(io, layout, files, options.limit, after, clock());
        return page.last === undefined
          ? { records: page.records }
          : { records: page.records, cursor: encodeCursor(cursorKey, page.last) };
      });
    },

    async sweep(now) {
      open();
      if (typeof now !== 'number' || !Number.isFinite(now)) {
        throw new InvalidArgument('fs store: sweep(now) needs a finite epoch-ms number');
      }
      return run('sweep', () =>
        sweepRecords(io, layout, files, now, sweepBatchSize, resolved.lock.staleMs),
      );
    },

    async close() {
      closed = true;
    },
  };
}

/** A record to write with this seat stamp, or without a seat. */
function seated(record: SessionRecord, seat: number | undefined): StoredRecord {
  return seat === undefined ? { record } : { record, seat };
}
