import { Buffer } from 'node:buffer';
import { type LimitedInsert, StoreConflict, StoreFull, type SessionRecord } from '@cloakroom/core';
import { ExpiryHeap } from './expiry-heap';
import { IdIndex } from './id-index';
import { type ArenaLimits, DEFAULT_LIMITS, PayloadArena, SLOT_LENGTH } from './payload-arena';
import {
  F64_ROW,
  F_EXPIRES,
  F_SEAT,
  F_SEQ,
  F_VERSION,
  I32_ROW,
  I_SLOT,
  KEY_CHARS,
  ID_AT,
  ROW_BYTES,
  SUBJECT_AT,
  keyEquals,
  putKey,
} from './row-layout';
import { ScanIndex } from './scan-index';
import { SubjectIndex } from './subject-index';

// Records live in rows of one buffer (row-layout.ts): the id maps to its
// row number through an open-addressed index that confirms a hit against
// the id's bytes in the row (id-index.ts). Rows of removed records are
// reused; the buffer grows by half when full and never shrinks.
const INITIAL_ROWS = 1024;

/** A seated record of one subject, as {@link RecordTable.insertWithLimit} ranks them. */
interface SeatedRecord {
  readonly id: string;
  readonly row: number;
  readonly seat: number;
}

/** One page of {@link RecordTable.scanPage}: live records plus where to resume. */
export interface TablePage {
  readonly records: SessionRecord[];
  /** Last seq this page covered, or `undefined` when the scan reached the end. */
  readonly lastSeq: number | undefined;
}

/**
 * The synchronous heart of the memory store: records by id, the subject
 * index, the scan index and the expiry heap, always updated together.
 *
 * Every method runs to completion without yielding, so in one process each
 * call is atomic with respect to every other: that is what makes `replace`
 * and `rotate` real compare-and-swaps. Inputs are assumed validated.
 */
export class RecordTable {
  /** id → row number. */
  private readonly records = new IdIndex();
  private readonly subjects = new SubjectIndex();
  private readonly scanIndex = new ScanIndex();
  private readonly heap = new ExpiryHeap();
  private readonly arena: PayloadArena;
  /** The views of the row buffer; replaced together when it grows. */
  private i32: Int32Array;
  private f64: Float64Array;
  private bytes: Buffer;
  /** Rows below this have been handed out at least once. */
  private rowTop = 0;
  /** Rows handed out and since freed, to reuse first. */
  private freeRows: number[] = [];

  constructor(
    private readonly maxSessions: number,
    arenaLimits: ArenaLimits = DEFAULT_LIMITS,
  ) {
    this.arena = new PayloadArena(arenaLimits);
    const buffer = new ArrayBuffer(INITIAL_ROWS * ROW_BYTES);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.bytes = Buffer.from(buffer);
  }

  /** True when some record may have expired at `now` (the heap top is a lower bound). */
  mayHaveExpired(now: number): boolean {
    return this.heap.peek() <= now;
  }

  get(id: string, now: number): SessionRecord | null {
    const row = this.live(id, now);
    return row < 0 ? null : this.toRecord(id, row);
  }

  /** @throws StoreConflict when `record.id` is live; StoreFull at capacity. */
  insert(record: SessionRecord, now: number): void {
    if (this.live(record.id, now) >= 0) {
      throw new StoreConflict('a live record with this id already exists');
    }
    // Already dead on arrival: storing it could only cost memory.
    if (record.expiresAt <= now) return;
    this.ensureRoom(now);
    this.add(record);
  }

  replace(record: SessionRecord, expectedVersion: number, now: number): boolean {
    const row = this.live(record.id, now);
    if (row < 0 || this.f64[row * F64_ROW + F_VERSION] !== expectedVersion) return false;
    this.overwrite(record.id, row, record, now);
    return true;
  }

  /**
   * `insert` under a per-subject cap on seated records, in one synchronous
   * step. Counts the live seated records of `record.subject` (reclaiming
   * expired ones on the way): below `max` it inserts; at or above it,
   * `'refuse'` changes nothing and `'oldest'` deletes the earliest-seated
   * records until one seat is free, then inserts. O(k log k) for the k
   * records of the subject, and the per-subject limit keeps k small.
   *
   * A record already expired on arrival is accepted like `insert` accepts
   * it: it is not stored, needs no seat, and evicts nothing.
   * @throws StoreConflict when `record.id` is live (nothing evicted); StoreFull at capacity with nothing to evict.
   */
  insertWithLimit(
    record: SessionRecord,
    max: number,
    evict: 'oldest' | 'refuse',
    now: number,
  ): LimitedInsert {
    if (this.live(record.id, now) >= 0) {
      throw new StoreConflict('a live record with this id already exists');
    }
    if (record.expiresAt <= now) return { inserted: true, evicted: [] };
    const seated = this.seatedOf(record.subject, now);
    if (seated.length < max) {
      this.ensureRoom(now);
      this.add(record);
      return { inserted: true, evicted: [] };
    }
    if (evict === 'refuse') return { inserted: false };
    seated.sort((a, b) => a.seat - b.seat);
    const evicted: string[] = [];
    for (let i = 0; i <= seated.length - max; i++) {
      const { id, row } = seated[i] as SeatedRecord;
      this.remove(id, row);
      evicted.push(id);
    }
    // At least one record went, so there is room: no StoreFull after an eviction.
    this.add(record);
    return { inserted: true, evicted };
  }

  /** @throws StoreConflict when `next.id` is live; StoreFull at capacity (nothing changes). */
  rotate(old: SessionRecord, expectedVersion: number, next: SessionRecord, now: number): boolean {
    const row = this.live(old.id, now);
    if (row < 0 || this.f64[row * F64_ROW + F_VERSION] !== expectedVersion) return false;
    if (this.live(next.id, now) >= 0) {
      throw new StoreConflict('a live record with the next id already exists');
    }
    const storeNext = next.expiresAt > now;
    // Room is checked before either write so a refusal changes nothing; the
    // old record is live, so reclaiming expired records cannot remove it.
    if (storeNext) this.ensureRoom(now);
    // The successor takes over the seat and its place; the old record stays
    // as a forwarder without one. A forwarder has no seat to hand over, so
    // its successor takes a new one, last in the order: a live session never
    // escapes the count by being rotated out of a forwarder.
    const seat = this.f64[row * F64_ROW + F_SEAT] as number;
    this.f64[row * F64_ROW + F_SEAT] = 0;
    this.overwrite(old.id, row, old, now);
    if (storeNext) {
      // Read the view after add: adding may have grown (replaced) the buffer.
      const successor = this.add(next);
      if (seat > 0) this.f64[successor * F64_ROW + F_SEAT] = seat;
    }
    return true;
  }

  delete(id: string, now: number): boolean {
    const row = this.live(id, now);
    if (row < 0) return false;
    this.remove(id, row);
    return true;
  }

  deleteBySubject(subject: string, now: number): number {
    let count = 0;
    for (const id of this.subjects.ids(subject)) {
      if (this.delete(id, now)) count++;
    }
    return count;
  }

  listBySubject(subject: string, now: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const id of this.subjects.ids(subject)) {
      const row = this.live(id, now);
      if (row >= 0) out.push(this.toRecord(id, row));
    }
    return out;
  }

  /**
   * Live records with seq greater than `afterSeq`, at most `limit` of them,
   * examining at most `limit + 1024` index pairs so ghosts and expired
   * records cannot make one page cost O(n).
   */
  scanPage(afterSeq: number, limit: number, now: number): TablePage {
    const index = this.scanIndex;
    const end = index.length;
    let position = index.positionAfter(afterSeq);
    const budget = limit + 1024;
    const records: SessionRecord[] = [];
    const expired: string[] = [];
    let lastSeq = afterSeq;
    let examined = 0;
    const f64 = this.f64;
    while (position < end && records.length < limit && examined < budget) {
      const seq = index.seqAt(position);
      const id = index.idAt(position);
      position++;
      examined++;
      lastSeq = seq;
      const row = this.rowOf(id);
      if (row < 0 || f64[row * F64_ROW + F_SEQ] !== seq) continue;
      if ((f64[row * F64_ROW + F_EXPIRES] as number) <= now) expired.push(id);
      else records.push(this.toRecord(id, row));
    }
    // Reclaimed after the walk: a removal may compact the index and shift positions.
    for (const id of expired) this.live(id, now);
    return { records, lastSeq: position >= end ? undefined : lastSeq };
  }

  /**
   * Remove records expired at `now`, at most `max` of them; O(k log n) for
   * k removed. Stale heap entries popped on the way do not count.
   */
  reclaimExpired(now: number, max = Number.POSITIVE_INFINITY): number {
    const heap = this.heap;
    let removed = 0;
    while (removed < max && heap.size > 0 && heap.peek() <= now) {
      const exp = heap.peek();
      const id = heap.peekId();
      heap.pop();
      const row = this.rowOf(id);
      // A stale heap entry (record gone, or its expiry since changed) is skipped.
      if (row >= 0 && this.f64[row * F64_ROW + F_EXPIRES] === exp) {
        this.remove(id, row);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.records.clear();
    this.subjects.clear();
    this.scanIndex.clear();
    this.heap.clear();
    this.arena.clear();
    const buffer = new ArrayBuffer(INITIAL_ROWS * ROW_BYTES);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.bytes = Buffer.from(buffer);
    this.rowTop = 0;
    this.freeRows = [];
  }

  /** Counters of the payload arena, for tests. */
  arenaStats(): ReturnType<PayloadArena['stats']> {
    return this.arena.stats();
  }

  /** The row of `id` if live at `now`, else -1; an expired one is reclaimed on the way. */
  private live(id: string, now: number): number {
    const row = this.rowOf(id);
    if (row < 0) return -1;
    if ((this.f64[row * F64_ROW + F_EXPIRES] as number) <= now) {
      this.remove(id, row);
      return -1;
    }
    return row;
  }

  /**
   * Make room for one record or throw. Never evicts a live record: under a
   * flood that would log real users out; refusing new sessions instead
   * keeps every existing one working.
   */
  private ensureRoom(now: number): void {
    if (this.records.size < this.maxSessions) return;
    // heap.peek() is a lower bound on the earliest expiry, so at capacity a
    // flood costs O(1) per refused insert unless something may have expired.
    // One expired record is enough to make room; reclaiming a bounded batch
    // keeps a single insert after a mass expiry from paying for all of it.
    if (this.heap.peek() <= now) this.reclaimExpired(now, 1024);
    if (this.records.size >= this.maxSessions) {
      throw new StoreFull(`memory store is at its capacity of ${this.maxSessions} sessions`);
    }
  }

  /** Store `record` (live, id free, room made) with a seat of its own, and return its row. */
  private add(record: SessionRecord): number {
    const id = record.id;
    const seq = this.scanIndex.add(id);
    const subject = record.subject;
    const row = this.allocateRow();
    const f = row * F64_ROW;
    const f64 = this.f64;
    f64[f + F_EXPIRES] = record.expiresAt;
    f64[f + F_VERSION] = record.version;
    f64[f + F_SEQ] = seq;
    f64[f + F_SEAT] = seq;
    putKey(this.bytes, row * ROW_BYTES + ID_AT, id);
    putKey(this.bytes, row * ROW_BYTES + SUBJECT_AT, subject);
    this.arena.place(this.i32, row * I32_ROW + I_SLOT, record.payload);
    this.records.insert(id, row);
    this.subjects.add(subject, id);
    this.pushExpiry(record.expiresAt, id);
    return row;
  }

  /** A free row: a reused one, else the next never used, growing the buffer when full. */
  private allocateRow(): number {
    const reused = this.freeRows.pop();
    if (reused !== undefined) return reused;
    const row = this.rowTop;
    const capacity = this.f64.length / F64_ROW;
    if (row === capacity) {
      const grown = new ArrayBuffer((capacity + (capacity >> 1)) * ROW_BYTES);
      new Float64Array(grown).set(this.f64);
      this.i32 = new Int32Array(grown);
      this.f64 = new Float64Array(grown);
      this.bytes = Buffer.from(grown);
    }
    this.rowTop = row + 1;
    return row;
  }

  /** The live records of `subject` that hold a seat; expired ones are reclaimed on the way. */
  private seatedOf(subject: string, now: number): SeatedRecord[] {
    const out: SeatedRecord[] = [];
    for (const id of this.subjects.ids(subject)) {
      const row = this.live(id, now);
      if (row < 0) continue;
      const seat = this.f64[row * F64_ROW + F_SEAT] as number;
      if (seat > 0) out.push({ id, row, seat });
    }
    return out;
  }

  private overwrite(id: string, row: number, record: SessionRecord, now: number): void {
    if (record.expiresAt <= now) {
      // Written dead: equivalent to a delete, and cheaper to hold.
      this.remove(id, row);
      return;
    }
    const f = row * F64_ROW;
    const subjectAt = row * ROW_BYTES + SUBJECT_AT;
    if (!keyEquals(this.bytes, subjectAt, record.subject)) {
      this.subjects.remove(this.subjectAt(row), id);
      putKey(this.bytes, subjectAt, record.subject);
      this.subjects.add(record.subject, id);
    }
    if (record.expiresAt !== this.f64[f + F_EXPIRES]) {
      this.f64[f + F_EXPIRES] = record.expiresAt;
      this.pushExpiry(record.expiresAt, id);
    }
    this.f64[f + F_VERSION] = record.version;
    // Same length (a touch, a rewrap under a same-length key id): in place, no garbage.
    const at = row * I32_ROW + I_SLOT;
    const moved = record.payload.byteLength !== this.i32[at + SLOT_LENGTH];
    this.arena.rewrite(this.i32, at, record.payload);
    if (moved) this.compactPayloadsIfNeeded();
  }

  private remove(id: string, row: number): void {
    this.records.remove(id, row);
    this.arena.release(this.i32, row * I32_ROW + I_SLOT);
    this.subjects.remove(this.subjectAt(row), id);
    this.freeRows.push(row);
    this.scanIndex.noteRemoved();
    if (this.scanIndex.shouldCompact()) {
      const f64 = this.f64;
      this.scanIndex.compact((liveId, seq) => {
        const liveRow = this.rowOf(liveId);
        return liveRow >= 0 && f64[liveRow * F64_ROW + F_SEQ] === seq;
      });
    }
    this.compactPayloadsIfNeeded();
  }

  /**
   * Called once the records and the arena agree again (every live row's
   * slot valid, every freed one released), so compaction sees exactly the
   * live slots.
   */
  private compactPayloadsIfNeeded(): void {
    if (!this.arena.needsCompaction()) return;
    const rows = this.records.rows();
    this.arena.compact(
      this.i32,
      (function* () {
        for (const row of rows) yield row * I32_ROW + I_SLOT;
      })(),
    );
  }

  private pushExpiry(expiresAt: number, id: string): void {
    this.heap.push(expiresAt, id);
    // Stale entries (deleted records, changed expiries) are bounded to about
    // the live count; the rebuild is O(n) once per ~n pushes.
    if (this.heap.size > 2 * this.records.size + 1024) {
      const rows = this.records.rows();
      const f64 = this.f64;
      const idAt = (row: number) => this.idAt(row);
      this.heap.rebuild(
        (function* () {
          for (const row of rows) {
            yield [f64[row * F64_ROW + F_EXPIRES] as number, idAt(row)] as const;
          }
        })(),
      );
    }
  }

  private toRecord(id: string, row: number): SessionRecord {
    const f = row * F64_ROW;
    const f64 = this.f64;
    return {
      id,
      subject: this.subjectAt(row),
      expiresAt: f64[f + F_EXPIRES] as number,
      version: f64[f + F_VERSION] as number,
      payload: this.arena.read(this.i32, row * I32_ROW + I_SLOT),
    };
  }

  /** The row of `id`, or -1 (no expiry check). */
  private rowOf(id: string): number {
    return this.records.find(id, this.bytes);
  }

  /** The subject index held in `row`, as a string. */
  private subjectAt(row: number): string {
    const at = row * ROW_BYTES + SUBJECT_AT;
    return this.bytes.toString('latin1', at, at + KEY_CHARS);
  }

  /** The id held in `row`, as a string. */
  private idAt(row: number): string {
    const at = row * ROW_BYTES + ID_AT;
    return this.bytes.toString('latin1', at, at + KEY_CHARS);
  }
}
