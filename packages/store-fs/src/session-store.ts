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
  StoreUnavailable,
} from '@cloakroom/core';
import type { StoredRecord } from './codec';
import { corruptRecord, unavailable } from './errors';
import { loadCursorKey } from './fs/cursor-key';
import { type Io, nodeIo } from './fs/io';
import { layoutOf } from './fs/layout';
import { RecordFiles, type RecordState, settled } from './fs/record-files';
import { prepareRoot } from './fs/root';
import { scanRecords } from './fs/scan';
import { sweepRecords } from './fs/sweep';
import { type FsStoreOptions, resolveStoreOptions } from './options';
import { decodeCursor, encodeCursor } from './scan-cursor';
import { seatStamp } from './seat';

/**
 * How many times `insertWithLimit` re-takes its record locks when the
 * subject's index grew while it took them (a `rotate` or `insert` landing at
 * that moment) before giving up with `StoreUnavailable`.
 */
const LIMIT_ATTEMPTS = 16;
/**
 * How long `insertWithLimit` waits for a record lock it takes out of order
 * (a successor that a rotate made while it was taking the others): long
 * enough for a rotate in flight to finish, short enough that a cycle of
 * waiters breaks quickly.
 */
const LATE_LOCK_WAIT_MS = 250;
/** How many record files `insertWithLimit` reads at once while counting a subject's seats. */
const READ_BATCH = 64;

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

  /**
   * The body of `insertWithLimit`, run holding the subject's lock and the
   * lock of every id in `held`: the new record's, and every record in the
   * subject's index (checked after taking them). No seat of this subject
   * can come or go meanwhile but by expiry (a record's seat moves only under
   * its lock), so what is counted here stays true until the insert lands.
   */
  async function limitedInsert(
    record: SessionRecord,
    limit: SubjectLimit,
    held: readonly string[],
  ): Promise<LimitedInsert> {
    const now = clock();
    const own = await files.state(record.id, now, true);
    if (own.kind === 'invalid') throw corruptRecord(record.id);
    if (own.kind === 'live') throw new StoreConflict('fs store: a live record with this id exists');
    const seats: { id: string; seat: number; state: RecordState }[] = [];
    const others = held.filter((id) => id !== record.id);
    for (let i = 0; i < others.length; i += READ_BATCH) {
      const batch = others.slice(i, i + READ_BATCH);
      const states = await Promise.all(batch.map((id) => files.state(id, now, true)));
      states.forEach((state, k) => {
        // A corrupt file is counted as nothing and never evicted (left to `get`/`delete`, as in `listBySubject`).
        if (state.kind !== 'live') return;
        const { seat, record: found } = state.stored;
        if (seat !== undefined && found.subject === record.subject) {
          seats.push({ id: batch[k]!, seat, state });
        }
      });
    }
    // A record already dead on arrival is accepted, as `insert` accepts it, but never counts: it evicts nothing.
    const excess = now >= record.expiresAt ? 0 : seats.length - limit.max + 1;
    if (excess > 0 && limit.evict === 'refuse') return { inserted: false };
    seats.sort((a, b) => a.seat - b.seat || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const victims = excess > 0 ? seats.slice(0, excess) : [];
    const latest = seats.reduce((most, s) => Math.max(most, s.seat), -1);
    // Evictions are deleted durably (each `remove` fsyncs its directory)
    // before the new record's rename: a crash at any point leaves at most
    // `max` seats, and the new record exists only once the call can answer.
    // Its temp file and index marker are written meanwhile.
    const temp = files.prepare({ record, seat: seatStamp(latest) });
    try {
      await settled([
        files.addMarker(record.subject, record.id),
        own.kind === 'missing' ? undefined : files.settleSuccessor(own.stored, held),
        temp,
        ...victims.map((v) => removeLocked(v.id, v.state, held)),
      ]);
    } catch (err) {
      await files.discard([temp]);
      throw err;
    }
    await files.commit(await temp);
    if (own.kind !== 'missing' && own.stored.record.subject !== record.subject) {
      await files.removeMarker(own.stored.record.subject, record.id);
    }
    return { inserted: true, evicted: victims.map((v) => v.id) };
  }

  return {
    name: 'fs',
    dir: root,
    capabilities: { nativeExpiry: false, shared: true },

    async insert(given) {
      open();
      const record = take(given);
      return run('insert', () =>
        files.withLocks([record.id], async () => {
          const state = await files.state(record.id, clock(), true);
          if (state.kind === 'invalid') throw corruptRecord(record.id);
          if (state.kind === 'live')
            throw new StoreConflict('fs store: a live record with this id exists');
          // The record's temp file is written and fsynced while its index
          // marker is made durable; the rename (the insert itself) waits for both.
          const temp = files.prepare({ record, seat: seatStamp() });
          try {
            await settled([
              files.addMarker(record.subject, record.id),
              state.kind === 'missing'
                ? undefined
                : files.settleSuccessor(state.stored, [record.id]),
              temp,
            ]);
          } catch (err) {
            await files.discard([temp]);
            throw err;
          }
          await files.commit(await temp);
          if (state.kind !== 'missing' && state.stored.record.subject !== record.subject) {
            await files.removeMarker(state.stored.record.subject, record.id);
          }
        }),
      );
    },

    async insertWithLimit(given, limitGiven) {
      open();
      const record = take(given);
      assertSubjectLimit(limitGiven);
      const limit: SubjectLimit = { max: limitGiven.max, evict: limitGiven.evict };
      const { subject } = record;
      return run('insertWithLimit', () =>
        files.withSubjectLock(subject, async () => {
          /*
           * Which records must be locked. A seat enters this subject by a
           * limited insert (they hold the subject lock, so one at a time),
           * by a rotate handing a seated record's seat to its successor, or
           * as a new seat no limited insert takes: a plain insert, the
           * rotate of a record without one, a record moving here from
           * another subject. Only the hand-over keeps the count while it
           * moves the seat, so the records to hold still are the seated
           * ones, and those that may yet become seated by a rotate in
           * flight: a successor not committed yet, or an indexed id with no
           * file yet (the marker is made first). A record seen expired,
           * live without a seat (a rotated-away forwarder), of another
           * subject or corrupt hands on no seat, so it is read once, not
           * locked: forwarders pile up during their grace window, and every
           * lock costs three system calls.
           */
          const passed = new Set<string>();
          const needed = async (candidates: readonly string[]): Promise<string[]> => {
            const now = clock();
            const states = await Promise.all(candidates.map((id) => files.state(id, now)));
            return candidates.filter((id, k) => {
              const state = states[k]!;
              const relevant =
                state.kind === 'missing' ||
                state.kind === 'orphan' ||
                (state.kind === 'live' &&
                  state.stored.seat !== undefined &&
                  state.stored.record.subject === subject);
              if (!relevant) passed.add(id);
              return relevant;
            });
          };
          const fresh = async (known: ReadonlySet<string>): Promise<string[]> => {
            const listed = (await indexed(subject)).filter(
              (id) => !known.has(id) && !passed.has(id),
            );
            const out: string[] = [];
            for (let i = 0; i < listed.length; i += READ_BATCH) {
              out.push(...(await needed(listed.slice(i, i + READ_BATCH))));
            }
            return out;
          };
          const ids = new Set([record.id]);
          for (const id of await fresh(ids)) ids.add(id);
          for (let attempt = 0; attempt < LIMIT_ATTEMPTS; attempt++) {
            const outcome = await files.withLocks([...ids], async () => {
              const extra: (() => Promise<void>)[] = [];
              const held = new Set(ids);
              try {
                for (let round = 0; round < LIMIT_ATTEMPTS; round++) {
                  // A record's marker is made before the record is written,
                  // and a seat moves (rotate, replace) only under its
                  // record's lock. So once these are locked, an index read
                  // that lists nothing new to lock means every record that
                  // holds or may take a seat of this subject is locked
                  // here. A rotate that finished while the locks were
                  // being taken may have added its successor: lock it
                  // too, waiting only briefly (out of order).
                  const grown = await fresh(held);
                  // `return await`: the extra locks are released (finally) only once it is done.
                  if (grown.length === 0) return await limitedInsert(record, limit, [...held]);
                  const release = await files.tryLocks(grown, LATE_LOCK_WAIT_MS);
                  // Still held elsewhere: start again, taking every lock in order.
                  if (release === null) return [...held, ...grown];
                  extra.push(release);
                  for (const id of grown) held.add(id);
                }
                return [...held];
              } finally {
                await settled(extra.map((release) => release()));
              }
            });
            if (!Array.isArray(outcome)) return outcome;
            for (const id of outcome) ids.add(id);
          }
          throw new StoreUnavailable(
            `fs store: insertWithLimit gave up after ${LIMIT_ATTEMPTS} attempts: the subject's index kept growing`,
          );
        }),
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
        files.withLocks([record.id], async () => {
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
        files.withLocks([oldId, next.id], async () => {
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
              files.write({ ...seated(next, seat), pendingParent: oldId }),
              parent,
              final,
            ]);
            await files.commit(await parent);
          } catch (err) {
            await files.discard([parent, final]);
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
        files.withLocks([id], async () => {
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
          const deleted = await files.withLocks([id], async () => {
            const state = await files.state(id, clock(), true);
            // A record that moved to another subject keeps its file; its marker here is a ghost.
            const ours =
              state.kind !== 'missing' &&
              state.kind !== 'invalid' &&
              state.stored.record.subject === subject;
            if (ours) await removeLocked(id, state, [id]);
            if (ours || state.kind === 'missing') await files.removeMarker(subject, id);
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
