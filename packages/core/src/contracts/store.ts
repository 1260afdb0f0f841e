/**
 * The record a {@link SessionStore} keeps. Everything in it is either a hash,
 * an HMAC, a number or sealed bytes: a store never sees a ticket, token,
 * claim or plaintext subject.
 */
export interface SessionRecord {
  /**
   * Session id: base64url (no padding) SHA-256 of the ticket, exactly 43
   * characters from `[A-Za-z0-9_-]` (core's `isStoreKey` / `assertStoreKey`
   * test exactly that). The only lookup key. A store may build file names,
   * keys or literals from an id that passed `isStoreKey`; anything else it is
   * handed is untrusted text (see the rules on {@link SessionStore}).
   */
  readonly id: string;
  /**
   * Subject index: base64url HMAC-SHA-256 of the subject under the index
   * key, exactly 43 characters from `[A-Za-z0-9_-]`, like {@link SessionRecord.id}. Groups a subject's records for
   * {@link SessionStore.listBySubject} and {@link SessionStore.deleteBySubject}.
   */
  readonly subject: string;
  /**
   * Epoch milliseconds (integer). The record is dead at `now >= expiresAt`:
   * from that instant no method may return it.
   */
  readonly expiresAt: number;
  /**
   * Positive integer. Inserted records carry 1; every successful
   * {@link SessionStore.replace} or {@link SessionStore.rotate} writes the
   * caller's record, whose version is `expectedVersion + 1`.
   */
  readonly version: number;
  /** Sealed bytes, opaque to the store; any length from 0 up to at least 64 KiB, any byte values. */
  readonly payload: Uint8Array;
}

/** What a store declares about itself. Declared, never probed. */
export interface StoreCapabilities {
  /**
   * True when the backend drops expired records by itself (Redis TTLs, memory
   * timers). False means the operator must call {@link SessionStore.sweep}
   * periodically to reclaim space; expired records are still never returned.
   */
  readonly nativeExpiry: boolean;
  /**
   * True when several processes (or machines) can share the store and see
   * each other's writes atomically: required for a fleet and for rotating
   * key sets shared through a {@link KeySetStore}.
   */
  readonly shared: boolean;
}

/** Options for {@link SessionStore.scan}. */
export interface ScanOptions {
  /**
   * Opaque cursor from a previous page of this store; absent for the first
   * page. A cursor the store did not produce (forged, altered, cut, or not a
   * string) rejects with `InvalidArgument`: never a crash, never a silent
   * restart from the beginning.
   */
  readonly cursor?: string;
  /**
   * Upper bound on records per page: a positive safe integer (anything else
   * rejects with `InvalidArgument`). A page may hold fewer, even zero, before the end.
   */
  readonly limit: number;
}

/** One page of {@link SessionStore.scan}. */
export interface ScanPage {
  readonly records: readonly SessionRecord[];
  /** Cursor for the next page; `undefined` when the scan is complete. */
  readonly cursor?: string;
}

/**
 * A cap on how many records of one subject index hold a seat at once, for
 * {@link SessionStore.insertWithLimit}.
 */
export interface SubjectLimit {
  /** Positive safe integer: the most seated records this subject index may have. */
  readonly max: number;
  /**
   * When the subject is full: `'oldest'` deletes the seated records that took
   * their seats first, as many as needed, and inserts; `'refuse'` inserts nothing.
   */
  readonly evict: 'oldest' | 'refuse';
}

/** What {@link SessionStore.insertWithLimit} did. */
export type LimitedInsert =
  /** Inserted; `evicted` holds the ids of the records deleted to make room (oldest first, `[]` when none). */
  | { readonly inserted: true; readonly evicted: readonly string[] }
  /** The subject was full and the limit says `'refuse'`: nothing changed. */
  | { readonly inserted: false; readonly evicted?: undefined };

/**
 * Where sessions live. Implementations must pass `@cloakroom/conformance`.
 *
 * Rules every method follows (the conformance suite checks each):
 * - A record at or past its `expiresAt` does not exist: no method returns it,
 *   `replace` and `rotate` treat it as missing, `insert` may overwrite it.
 * - Backend failures (unreachable, timed out, I/O error) throw
 *   `StoreUnavailable` (from `@cloakroom/core`) with the driver error as
 *   `cause`, within a bounded time; never `null` or `false` as if the record
 *   were missing, never a hang.
 * - Returned records are copies, and the store keeps no reference to a record
 *   or payload it was given: it takes its copy of a payload when the method is
 *   called (synchronously, before its first `await`), so a caller that reuses
 *   its buffer as soon as the call returns changes nothing.
 * - An `id` or `subject` that is not exactly 43 characters of `[A-Za-z0-9_-]`
 *   (`isStoreKey` false) never reaches a path, key or query and never matches
 *   a record: `get` answers `null`, `delete` `false`, `deleteBySubject` `0`,
 *   and `listBySubject` `[]` or `InvalidArgument` (each store documents
 *   which). `insert`, `replace` and `rotate` reject a malformed record with
 *   `InvalidArgument` (`assertSessionRecord`).
 * - After {@link SessionStore.close}, every method except `close` rejects
 *   with `Closed`.
 * - No error message (nor any message in its `cause` chain) includes payload
 *   bytes, in any encoding.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from '@cloakroom/store-memory';
 * const store: SessionStore = createMemoryStore();
 * ```
 */
export interface SessionStore {
  /** Human-readable adapter name, e.g. `"memory"` or `"redis"`. */
  readonly name: string;
  /** What this store declares about itself. */
  readonly capabilities: StoreCapabilities;

  /**
   * Insert a new record. A record whose `expiresAt` is already past is
   * accepted (and is never returned); a dead record with the same id is overwritten.
   * @throws StoreConflict when a live record with the same id exists (the existing record is left untouched).
   */
  insert(record: SessionRecord): Promise<void>;

  /**
   * Optional: {@link insert} under a per-subject limit, atomically. Core
   * needs it for `sessionLimit` (a store without it is refused with
   * `ConfigInvalid`). A store that has it keeps seats:
   * - a record takes a seat when it is inserted (by `insert` or
   *   `insertWithLimit`); `rotate`'s `next` takes over `old`'s seat, with
   *   its place in the order, and `old` stays live without one (it is a
   *   forwarder for a grace window, not a session); when `old` has no seat,
   *   `next` takes a fresh one, last in the order, so no live record escapes
   *   the count by being rotated;
   * - a record written before the store kept seats holds one only when the
   *   store can tell it was never a `rotate`'s `old` (otherwise it holds
   *   none, and its successor takes a fresh seat as above): a forwarder must
   *   never take a user's seat;
   * - `replace` keeps the record's seat and place (moving it with the
   *   record when the subject changes);
   * - deletion and expiry free the seat: a record at or past `expiresAt`
   *   never counts;
   * - the order is the order in which seats were taken (ties in any order).
   *
   * `insertWithLimit` counts the live seated records of `record.subject`. Below
   * `limit.max` it inserts. At or above it, with `'refuse'` it changes nothing
   * and answers `{ inserted: false }`; with `'oldest'` it deletes the
   * earliest-seated records until one seat is free, then inserts. All of it is
   * one atomic step: however many calls run at once, in one process or many,
   * a subject never has more than `max` live seated records because of them,
   * and a record this call evicts is gone before it answers.
   * @throws StoreConflict when a live record with the same id exists (nothing changes, nothing evicted).
   * @throws InvalidArgument for a malformed record or limit (`assertSubjectLimit`).
   */
  insertWithLimit?(record: SessionRecord, limit: SubjectLimit): Promise<LimitedInsert>;

  /** The live record with this id, or `null` when missing or expired. */
  get(id: string): Promise<SessionRecord | null>;

  /**
   * Compare-and-swap: write `record` in place of the live record with the
   * same id if and only if its stored version equals `expectedVersion`.
   * The subject index follows `record.subject` if it changed.
   * @returns `true` when written; `false` when the record is missing, expired, or at another version (nothing changes).
   */
  replace(record: SessionRecord, expectedVersion: number): Promise<boolean>;

  /**
   * Atomically: compare-and-swap `old.record` over the stored record (as
   * {@link replace}) and insert `next`. Either both happen or neither does.
   * Of N concurrent calls with the same `expectedVersion`: exactly one
   * returns true when the stored version equals `expectedVersion`, its
   * `next.id` is free and nothing else writes the record meanwhile; in
   * general, at most one.
   * @returns `true` when both were written; `false` when the version check failed (nothing changes).
   * @throws StoreConflict when `next.id` already exists live (nothing changes).
   */
  rotate(
    old: { readonly record: SessionRecord; readonly expectedVersion: number },
    next: SessionRecord,
  ): Promise<boolean>;

  /**
   * Delete the record with this id.
   * @returns `true` when a live record was deleted, `false` when there was none (repeat deletes return false).
   */
  delete(id: string): Promise<boolean>;

  /**
   * Delete every record whose `subject` equals this subject index.
   * @returns the number of live records deleted (0 when none).
   */
  deleteBySubject(subject: string): Promise<number>;

  /** Every live record of this subject index, in no particular order; `[]` when none. */
  listBySubject(subject: string): Promise<SessionRecord[]>;

  /**
   * Page through every live record. Each record that stays live and
   * unchanged for the whole scan is returned exactly once; records inserted
   * or deleted during the scan may or may not appear. Expired records are never returned.
   * @throws InvalidArgument when `limit` is not a positive safe integer, or `cursor` is not one this store produced.
   */
  scan(options: ScanOptions): Promise<ScanPage>;

  /**
   * Remove records expired at `now` (epoch ms). Required when
   * `capabilities.nativeExpiry` is false; optional otherwise.
   * @returns the number of records removed.
   */
  sweep?(now: number): Promise<number>;

  /**
   * Optional: subscribe to the store's invalidation channel, so a near cache
   * in this process can keep resolved sessions and drop them the moment a
   * record changes anywhere in the fleet (SEC-32). A store shared by several
   * processes implements it with the server's own push (Redis `CLIENT
   * TRACKING`, PostgreSQL `LISTEN/NOTIFY`); a store without one leaves it out,
   * and gets no near cache.
   *
   * The returned channel must fail closed: whenever it cannot vouch that
   * every change since the last {@link InvalidationListener.reset} reached
   * the listener (a lost or reconnecting connection, a missed or overdue
   * liveness probe, a broken redirect), it calls `reset` and reports
   * `live === false` until it can vouch again.
   * @throws StoreUnavailable when the channel cannot be set up.
   */
  watch?(listener: InvalidationListener): Promise<InvalidationChannel>;

  /**
   * Release what the store created (timers, connections it opened). Never
   * closes a client the caller passed in. Idempotent: a second call resolves.
   * Afterwards every other method rejects with `Closed`.
   */
  close(): Promise<void>;
}

/** A stored key-set document and its version, for compare-and-swap. */
export interface KeySetEntry {
  /** Positive integer, 1 for the first write, incremented by every successful write. */
  readonly version: number;
  /** The sealed key-set document: opaque bytes. */
  readonly document: Uint8Array;
}

/**
 * One shared document per key-set name, so a fleet of app servers agrees on
 * its rotating keys. The document is already sealed under the master key;
 * the store keeps bytes.
 *
 * @example
 * ```ts
 * const entry = await keySets.read('default');          // null when absent
 * const ok = await keySets.write('default', doc, entry?.version ?? null);
 * ```
 */
export interface KeySetStore {
  /** Human-readable adapter name. */
  readonly name: string;
  /**
   * The document and its version, or `null` when no document has this name.
   * Names match `/^[A-Za-z0-9._-]{1,64}$/` (`.`, `..` and `__proto__` are
   * valid and distinct); any other name (or a non-string) rejects with
   * `InvalidArgument`, on `read` and `write` alike (`assertKeySetName`).
   */
  read(name: string): Promise<KeySetEntry | null>;
  /**
   * Compare-and-swap write. `expectedVersion` `null` means "create only if
   * absent"; a number means "replace only if the stored version equals it".
   * The stored version becomes `(expectedVersion ?? 0) + 1`. The store copies
   * `document` when called (before its first `await`). Of N concurrent
   * writers with one expectation, exactly one wins. Error messages never
   * include document bytes.
   * @returns `true` when written, `false` when the condition failed (nothing changes).
   * @throws InvalidArgument for a bad name, a document that is not a Uint8Array, or an `expectedVersion` that is neither `null` nor a positive integer.
   */
  write(name: string, document: Uint8Array, expectedVersion: number | null): Promise<boolean>;
  /**
   * Release what the store created; never a client the caller passed in.
   * Optional; idempotent. Afterwards `read` and `write` reject with `Closed`.
   */
  close?(): Promise<void>;
}

/**
 * What a store's invalidation channel calls ({@link SessionStore.watch}).
 * Both methods are called synchronously from the store's I/O callbacks, must
 * not throw, and must not block.
 */
export interface InvalidationListener {
  /**
   * The record with this session id changed or went away (replaced, rotated,
   * deleted, expired), by this process or another.
   */
  invalidate(id: string): void;
  /**
   * The channel lost track of changes (or the store cannot name the ids that
   * changed, e.g. a `deleteBySubject` or a flush): drop everything cached.
   */
  reset(): void;
}

/** A live subscription to a store's invalidations. */
export interface InvalidationChannel {
  /**
   * True only while every change to the store since the last `reset` is
   * known to reach the listener within {@link InvalidationChannel.boundMs}.
   * Read before every cached answer.
   */
  readonly live: boolean;
  /**
   * The documented bound, in milliseconds, between a change being
   * acknowledged to its writer and `invalidate` running here, while `live`.
   */
  readonly boundMs: number;
  /** Stop listening and release what the channel opened; `live` turns false. Idempotent. */
  close(): Promise<void>;
}
