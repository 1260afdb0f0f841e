import {
  assertRecordVersion,
  assertSessionRecord,
  assertStoreKey,
  assertSubjectLimit,
  Closed,
  ConfigInvalid,
  InvalidArgument,
  type LimitedInsert,
  type ScanOptions,
  type ScanPage,
  type SessionRecord,
  type SessionStore,
  type SubjectLimit,
} from '@cloakroom/core';
import { createAnswerTurn } from './memory/answer-turn';
import { RecordTable } from './memory/record-table';
import { type MemoryStoreOptions, resolveMemoryStoreOptions } from './options';
import { decodeCursor, encodeCursor, newCursorKey } from './scan-cursor';

/** Most expired records one background sweep step removes before yielding. */
const SWEEP_BATCH = 10_000;

/**
 * A {@link SessionStore} held in this process's memory.
 *
 * Declares `nativeExpiry: true` (expired records are never returned and are
 * reclaimed on access, under capacity pressure and by a background sweep)
 * and `shared: false` (each process has its own store: use Redis or
 * PostgreSQL for a fleet). `get` reads the table when called and answers in
 * the event loop's next check phase, with the other reads of that turn, so
 * a server writes a turn's answers back to back as it does on a networked
 * store.
 *
 * @example
 * ```ts
 * const store: MemoryStore = createMemoryStore({ clock: () => now });
 * const removed = await store.sweep(now); // sweep is always present here
 * ```
 */
export interface MemoryStore extends SessionStore {
  readonly name: 'memory';
  readonly capabilities: { readonly nativeExpiry: true; readonly shared: false };
  /**
   * Remove every record expired at `now` (epoch ms) and return how many were
   * removed. O(k log n) for k expired records; the background sweep calls it
   * with `clock()`.
   * @throws InvalidArgument when `now` is not a finite number.
   */
  sweep(now: number): Promise<number>;
  /**
   * `insert` under a per-subject limit, in one step that never yields:
   * always present here. Every record takes a seat when inserted; `rotate`
   * hands it to the successor with its place in the order (a forwarder's
   * successor takes a new seat, last), `replace` keeps it, deletion and
   * expiry free it. At `limit.max` live seated
   * records, `'oldest'` deletes the earliest-seated ones (their ids come
   * back oldest first) and `'refuse'` changes nothing. A record already
   * expired on arrival is accepted without a seat, as `insert` accepts it,
   * and evicts nothing.
   * @throws StoreConflict when a live record has this id (nothing evicted).
   * @throws InvalidArgument for a malformed record or limit.
   * @throws StoreFull when the store is at `maxSessions` and nothing was evicted.
   * @example
   * ```ts
   * const r = await store.insertWithLimit(record, { max: 5, evict: 'oldest' });
   * if (r.inserted) for (const id of r.evicted) forget(id);
   * ```
   */
  insertWithLimit(record: SessionRecord, limit: SubjectLimit): Promise<LimitedInsert>;
}

/**
 * Create an in-process session store: the embedded default, and the store
 * for tests (pass a fake `clock`).
 *
 * - Atomic: every method does its checks and writes without yielding, so
 *   `replace` and `rotate` are true compare-and-swaps; of N concurrent
 *   calls with the same expected version exactly one succeeds.
 * - Bounded: at most `maxSessions` records. A full store reclaims expired
 *   records and otherwise throws `StoreFull`; it never evicts a live
 *   session. Trade-off: under a flood of new sessions, new logins (and
 *   refreshes, whose rotate inserts a successor) fail until sessions
 *   expire, but everyone already signed in stays signed in. Size the cap
 *   from memory: about the payload size plus ~350 bytes per session.
 * - Copies: payload bytes are copied on write and every returned record is
 *   a fresh copy.
 * - Validates input: malformed records, ids, versions or cursors throw
 *   `InvalidArgument` and change nothing. After `close()` every call throws
 *   `Closed`.
 *
 * @throws ConfigInvalid for an invalid option (unknown key, non-positive
 *   `maxSessions`, non-function `clock`, out-of-range `sweepIntervalMs`).
 * @example
 * ```ts
 * import { createMemoryStore } from '@cloakroom/store-memory';
 *
 * const store = createMemoryStore({ maxSessions: 50_000 });
 * // ...hand it to createCloakroom({ store, ... })
 * await store.close(); // on shutdown: stops the sweep timer
 * ```
 */
export function createMemoryStore(options?: MemoryStoreOptions): MemoryStore {
  const { maxSessions, clock, sweepIntervalMs } = resolveMemoryStoreOptions(options);
  const table = new RecordTable(maxSessions);
  const cursorKey = newCursorKey();
  // Answers of `get`, handed over once per event-loop turn (memory/answer-turn.ts).
  const answerTurn = createAnswerTurn();
  let closed = false;

  const now = (): number => {
    const t = clock();
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      throw new ConfigInvalid('memory store clock returned a non-finite time');
    }
    return t;
  };
  const open = (): void => {
    if (closed) throw new Closed('memory store is closed');
  };

  // The background sweep works in batches so that a mass expiry (a burst of
  // sign-ins an hour ago) never blocks the event loop for long: each batch
  // removes at most SWEEP_BATCH records, then yields with setImmediate.
  let timer: ReturnType<typeof setInterval> | undefined;
  let pending: ReturnType<typeof setImmediate> | undefined;
  const sweepBatch = (): void => {
    pending = undefined;
    if (closed) return;
    // A throwing fake clock must not become an uncaught exception in a timer;
    // the next call through the API reports it.
    let at: number;
    try {
      at = now();
    } catch {
      return;
    }
    table.reclaimExpired(at, SWEEP_BATCH);
    if (table.mayHaveExpired(at)) {
      pending = setImmediate(sweepBatch);
      pending.unref?.();
    }
  };
  if (sweepIntervalMs > 0) {
    timer = setInterval(() => {
      if (pending === undefined) sweepBatch();
    }, sweepIntervalMs);
    timer.unref?.();
  }

  return {
    name: 'memory',
    capabilities: Object.freeze({ nativeExpiry: true, shared: false }),

    async insert(record: SessionRecord): Promise<void> {
      open();
      assertSessionRecord(record);
      table.insert(record, now());
    },

    async insertWithLimit(record: SessionRecord, limit: SubjectLimit): Promise<LimitedInsert> {
      open();
      assertSessionRecord(record);
      // Read the limit once: what was checked is what is applied.
      const copy: unknown =
        typeof limit === 'object' && limit !== null
          ? { max: limit.max, evict: limit.evict }
          : limit;
      assertSubjectLimit(copy);
      return table.insertWithLimit(record, copy.max, copy.evict, now());
    },

    async get(id: string): Promise<SessionRecord | null> {
      open();
      assertStoreKey(id, 'id');
      // Read now (what a write made before this call is seen, what comes
      // after it is not); answered at once, or with the other reads of this
      // turn while the loop is busy (memory/answer-turn.ts).
      const record = table.get(id, now());
      const handOver = answerTurn();
      if (handOver !== undefined) await handOver;
      return record;
    },

    async replace(record: SessionRecord, expectedVersion: number): Promise<boolean> {
      open();
      assertSessionRecord(record);
      assertRecordVersion(expectedVersion, 'expectedVersion');
      return table.replace(record, expectedVersion, now());
    },

    async rotate(
      old: { readonly record: SessionRecord; readonly expectedVersion: number },
      next: SessionRecord,
    ): Promise<boolean> {
      open();
      if (typeof old !== 'object' || old === null) {
        throw new InvalidArgument('old must be { record, expectedVersion }');
      }
      assertSessionRecord(old.record, 'old.record');
      assertRecordVersion(old.expectedVersion, 'old.expectedVersion');
      assertSessionRecord(next, 'next');
      return table.rotate(old.record, old.expectedVersion, next, now());
    },

    async delete(id: string): Promise<boolean> {
      open();
      assertStoreKey(id, 'id');
      return table.delete(id, now());
    },

    async deleteBySubject(subject: string): Promise<number> {
      open();
      assertStoreKey(subject, 'subject');
      return table.deleteBySubject(subject, now());
    },

    async listBySubject(subject: string): Promise<SessionRecord[]> {
      open();
      assertStoreKey(subject, 'subject');
      return table.listBySubject(subject, now());
    },

    async scan(scanOptions: ScanOptions): Promise<ScanPage> {
      open();
      if (typeof scanOptions !== 'object' || scanOptions === null) {
        throw new InvalidArgument('scan options must be { cursor?, limit }');
      }
      const { cursor, limit } = scanOptions;
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new InvalidArgument('scan limit must be a positive integer');
      }
      const after = cursor === undefined ? 0 : decodeCursor(cursorKey, cursor);
      const page = table.scanPage(after, limit, now());
      return page.lastSeq === undefined
        ? { records: page.records }
        : { records: page.records, cursor: encodeCursor(cursorKey, page.lastSeq) };
    },

    async sweep(at: number): Promise<number> {
      open();
      if (typeof at !== 'number' || !Number.isFinite(at)) {
        throw new InvalidArgument('sweep time must be a finite number of epoch milliseconds');
      }
      return table.reclaimExpired(at);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      if (pending !== undefined) clearImmediate(pending);
      timer = undefined;
      pending = undefined;
      // Nothing can read the records any more; let the memory go now.
      table.clear();
    },
  };
}
