import type { ScanOptions, ScanPage, SessionRecord, SessionStore } from '@cloakroom/core';
import { Closed, ConfigInvalid, InvalidArgument, StoreConflict } from '@cloakroom/core';
import { type Io, nodeIo, unavailable } from './io';
import { isKey, layoutOf } from './layout';
import { type FsCommonOptions, positiveInt, resolveCommon } from './options';
import { RecordFiles, type RecordState, settled } from './record-files';
import { prepareRoot } from './root';
import { scanRecords } from './scan';
import { sweepRecords } from './sweep';
import { checkRecord, checkVersion } from './validate';

/**
 * Options for {@link createFsStore}; see {@link FsCommonOptions} for `dir`,
 * `durability`, `lockTimeoutMs` and `staleLockMs`.
 *
 * @example
 * ```ts
 * let now = Date.now();
 * const store = createFsStore({ dir: testDir, clock: () => now }); // tests move `now`
 * ```
 */
export interface FsStoreOptions extends FsCommonOptions {
  /**
   * Source of "now" (epoch ms) for expiry checks. Lock staleness always uses
   * the real clock, since it is compared with other processes.
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * Largest payload accepted by `insert`, `replace` and `rotate`
   * (`InvalidArgument` above it). Record files larger than this plus the
   * header are treated as corrupt and never read into memory.
   * @default 1048576 (1 MiB)
   */
  readonly maxPayloadBytes?: number;
  /**
   * How many files `sweep` examines at once before yielding to the event loop.
   * @default 256
   */
  readonly sweepBatchSize?: number;
}

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
  /** Absolute path of the root directory. */
  readonly dir: string;
  /**
   * Remove records expired at `now`, plus leftovers of crashes (uncommitted
   * rotate halves, temp files older than `staleLockMs`, stale index markers),
   * `sweepBatchSize` files at a time.
   * @returns the number of expired records removed.
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
  const common = resolveCommon(options);
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new ConfigInvalid('fs store: `clock` must be a function');
  }
  const clock = options.clock ?? Date.now;
  const maxPayloadBytes = positiveInt('maxPayloadBytes', options.maxPayloadBytes, 1024 * 1024);
  const batch = positiveInt('sweepBatchSize', options.sweepBatchSize, 256);
  const { root, openModeExact } = prepareRoot(common.dir, ['s', 'x', 'k']);
  const layout = layoutOf(root);
  const files = new RecordFiles({
    io,
    layout,
    durable: common.durable,
    lock: common.lock,
    maxPayloadBytes,
    openModeExact,
  });
  let closed = false;

  function open(): void {
    if (closed) throw new Closed('fs store: closed');
  }

  async function run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(operation, err);
    }
  }

  function liveOrThrow(id: string, state: RecordState): SessionRecord | null {
    if (state.kind === 'invalid') throw files.invalid(id);
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

  return {
    name: 'fs',
    dir: root,
    capabilities: { nativeExpiry: false, shared: true },

    async insert(record) {
      open();
      checkRecord(record, maxPayloadBytes);
      return run('insert', () =>
        files.withLocks([record.id], async () => {
          const state = await files.state(record.id, clock(), true);
          if (state.kind === 'invalid') throw files.invalid(record.id);
          if (state.kind === 'live')
            throw new StoreConflict('fs store: a live record with this id exists');
          // The record's temp file is written and fsynced while its index
          // marker is made durable; the rename (the insert itself) waits for both.
          const temp = files.prepare({ record });
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

    async get(id) {
      open();
      if (!isKey(id)) return null;
      return run('get', async () => {
        // Decoded from a fresh read: nothing else holds it, so no copy.
        return liveOrThrow(id, await files.state(id, clock()));
      });
    },

    async replace(record, expectedVersion) {
      open();
      checkRecord(record, maxPayloadBytes);
      checkVersion(expectedVersion, 'expectedVersion');
      return run('replace', () =>
        files.withLocks([record.id], async () => {
          const state = await files.state(record.id, clock(), true);
          const current = liveOrThrow(record.id, state);
          if (current === null || state.kind !== 'live' || current.version !== expectedVersion)
            return false;
          if (current.subject !== record.subject) await files.addMarker(record.subject, record.id);
          await files.settleSuccessor(state.stored, [record.id]);
          await files.write({ record });
          if (current.subject !== record.subject)
            await files.removeMarker(current.subject, record.id);
          return true;
        }),
      );
    },

    async rotate(old, next) {
      open();
      if (typeof old !== 'object' || old === null)
        throw new InvalidArgument('fs store: old must be an object');
      checkRecord(old.record, maxPayloadBytes, 'old.record');
      checkVersion(old.expectedVersion, 'old.expectedVersion');
      checkRecord(next, maxPayloadBytes, 'next');
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
          if (nextState.kind === 'invalid') throw files.invalid(next.id);
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
          const parent = files.prepare({ record: old.record, successor: next.id });
          const final = files.prepare({ record: next });
          try {
            await settled([
              files.addMarker(next.subject, next.id),
              old.record.subject === current.subject
                ? undefined
                : files.addMarker(old.record.subject, oldId),
              files.write({ record: next, pendingParent: oldId }),
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
      if (!isKey(id)) return false;
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
      if (!isKey(subject)) return 0;
      return run('deleteBySubject', async () => {
        let count = 0;
        for (const id of await files.markers(subject)) {
          if (!isKey(id)) continue;
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
      if (!isKey(subject)) return [];
      return run('listBySubject', async () => {
        const now = clock();
        const ids = (await files.markers(subject)).filter(isKey);
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
      if (options.cursor !== undefined && !isKey(options.cursor)) {
        throw new InvalidArgument('fs store: scan cursor is not one this store returned');
      }
      return run('scan', () =>
        scanRecords(io, layout, files, options.limit, options.cursor, clock()),
      );
    },

    async sweep(now) {
      open();
      if (typeof now !== 'number' || !Number.isFinite(now)) {
        throw new InvalidArgument('fs store: sweep(now) needs a finite epoch-ms number');
      }
      return run('sweep', () => sweepRecords(io, layout, files, now, batch, common.lock.staleMs));
    },

    async close() {
      closed = true;
    },
  };
}
