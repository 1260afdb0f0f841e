import { type LimitedInsert, StoreConflict, StoreFull, type SessionRecord } from '@cloakroom/core';
import { ExpiryHeap } from './expiry-heap';
import { type ArenaLimits, DEFAULT_LIMITS, PayloadArena, type PayloadSlot } from './payload-arena';
import { ScanIndex } from './scan-index';
import { SubjectIndex } from './subject-index';

/** `expiresAt` is kept as `hi * EXP_SPLIT + lo`, both halves small integers. */
const EXP_SPLIT = 2 ** 30;

/**
 * One stored record. A class (one hidden class, nine in-object fields, no
 * closures) keeps it at ~96 bytes; the id is the map key and not repeated.
 * The payload bytes live in the table's {@link PayloadArena}; the entry is
 * their slot (chunk, offset, length: small integers the arena maintains,
 * compaction included).
 *
 * An epoch-ms expiry does not fit V8's small integers, so a plain number
 * field would point to a separate 16-byte box: one more object per record
 * for the GC, and one more cache miss per lookup in a large store (~0.3 µs
 * of a ~3.5 µs `get` at 1M records). Two small-integer halves avoid both.
 */
class Entry implements PayloadSlot {
  chunk = -1;
  offset = 0;
  length = 0;
  private expHi: number;
  private expLo: number;
  /**
   * Place in the order seats were taken, or 0 for no seat (a rotated-away
   * record kept as a forwarder). An inserted record's seat is its `seq`;
   * `rotate` hands the old record's seat, number and all, to the next one,
   * so the session keeps its place (see {@link RecordTable.insertWithLimit}).
   */
  seat: number;
  constructor(
    public subject: string,
    expiresAt: number,
    public version: number,
    public readonly seq: number,
  ) {
    this.expHi = Math.floor(expiresAt / EXP_SPLIT);
    this.expLo = expiresAt - this.expHi * EXP_SPLIT;
    this.seat = seq;
  }

  /** Exact for every safe integer (validated records carry integer expiries). */
  get expiresAt(): number {
    return this.expHi * EXP_SPLIT + this.expLo;
  }

  set expiresAt(value: number) {
    this.expHi = Math.floor(value / EXP_SPLIT);
    this.expLo = value - this.expHi * EXP_SPLIT;
  }
}

/** A seated record of one subject, as {@link RecordTable.insertWithLimit} ranks them. */
interface SeatedRecord {
  readonly id: string;
  readonly entry: Entry;
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
  private readonly records = new Map<string, Entry>();
  private readonly subjects = new SubjectIndex();
  private readonly scanIndex = new ScanIndex();
  private readonly heap = new ExpiryHeap();
  private readonly arena: PayloadArena;

  constructor(
    private readonly maxSessions: number,
    arenaLimits: ArenaLimits = DEFAULT_LIMITS,
  ) {
    this.arena = new PayloadArena(arenaLimits);
  }

  /** True when some record may have expired at `now` (the heap top is a lower bound). */
  mayHaveExpired(now: number): boolean {
    return this.heap.peek() <= now;
  }

  get(id: string, now: number): SessionRecord | null {
    const entry = this.live(id, now);
    return entry === undefined ? null : this.toRecord(id, entry);
  }

  /** @throws StoreConflict when `record.id` is live; StoreFull at capacity. */
  insert(record: SessionRecord, now: number): void {
    if (this.live(record.id, now) !== undefined) {
      throw new StoreConflict('a live record with this id already exists');
    }
    // Already dead on arrival: storing it could only cost memory.
    if (record.expiresAt <= now) return;
    this.ensureRoom(now);
    this.add(record);
  }

  replace(record: SessionRecord, expectedVersion: number, now: number): boolean {
    const entry = this.live(record.id, now);
    if (entry === undefined || entry.version !== expectedVersion) return false;
    this.overwrite(record.id, entry, record, now);
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
    if (this.live(record.id, now) !== undefined) {
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
    seated.sort((a, b) => a.entry.seat - b.entry.seat);
    const evicted: string[] = [];
    for (let i = 0; i <= seated.length - max; i++) {
      const { id, entry } = seated[i] as SeatedRecord;
      this.remove(id, entry);
      evicted.push(id);
    }
    // At least one record went, so there is room: no StoreFull after an eviction.
    this.add(record);
    return { inserted: true, evicted };
  }

  /** @throws StoreConflict when `next.id` is live; StoreFull at capacity (nothing changes). */
  rotate(old: SessionRecord, expectedVersion: number, next: SessionRecord, now: number): boolean {
    const entry = this.live(old.id, now);
    if (entry === undefined || entry.version !== expectedVersion) return false;
    if (this.live(next.id, now) !== undefined) {
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
    const seat = entry.seat;
    entry.seat = 0;
    this.overwrite(old.id, entry, old, now);
    if (storeNext) {
      const successor = this.add(next);
      if (seat > 0) successor.seat = seat;
    }
    return true;
  }

  delete(id: string, now: number): boolean {
    const entry = this.live(id, now);
    if (entry === undefined) return false;
    this.remove(id, entry);
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
      const entry = this.live(id, now);
      if (entry !== undefined) out.push(this.toRecord(id, entry));
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
    while (position < end && records.length < limit && examined < budget) {
      const seq = index.seqAt(position);
      const id = index.idAt(position);
      position++;
      examined++;
      lastSeq = seq;
      const entry = this.records.get(id);
      if (entry === undefined || entry.seq !== seq) continue;
      if (entry.expiresAt <= now) expired.push(id);
      else records.push(this.toRecord(id, entry));
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
      const entry = this.records.get(id);
      // A stale heap entry (record gone, or its expiry since changed) is skipped.
      if (entry !== undefined && entry.expiresAt === exp) {
        this.remove(id, entry);
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
  }

  /** Counters of the payload arena, for tests. */
  arenaStats(): ReturnType<PayloadArena['stats']> {
    return this.arena.stats();
  }

  /** The entry for `id` if live at `now`; an expired one is reclaimed on the way. */
  private live(id: string, now: number): Entry | undefined {
    const entry = this.records.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(id, entry);
      return undefined;
    }
    return entry;
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

  /** Store `record` (live, id free, room made) with a seat of its own, and return its entry. */
  private add(record: SessionRecord): Entry {
    const id = record.id;
    const seq = this.scanIndex.add(id);
    const entry = new Entry(this.intern(record.subject), record.expiresAt, record.version, seq);
    this.arena.place(entry, record.payload);
    this.records.set(id, entry);
    this.subjects.add(entry.subject, id);
    this.pushExpiry(record.expiresAt, id);
    return entry;
  }

  /** The live records of `subject` that hold a seat; expired ones are reclaimed on the way. */
  private seatedOf(subject: string, now: number): SeatedRecord[] {
    const out: SeatedRecord[] = [];
    for (const id of this.subjects.ids(subject)) {
      const entry = this.live(id, now);
      if (entry !== undefined && entry.seat > 0) out.push({ id, entry });
    }
    return out;
  }

  private overwrite(id: string, entry: Entry, record: SessionRecord, now: number): void {
    if (record.expiresAt <= now) {
      // Written dead: equivalent to a delete, and cheaper to hold.
      this.remove(id, entry);
      return;
    }
    if (record.subject !== entry.subject) {
      this.subjects.remove(entry.subject, id);
      entry.subject = this.intern(record.subject);
      this.subjects.add(entry.subject, id);
    }
    if (record.expiresAt !== entry.expiresAt) {
      entry.expiresAt = record.expiresAt;
      this.pushExpiry(record.expiresAt, id);
    }
    entry.version = record.version;
    // Same length (a touch, a rewrap under a same-length key id): in place, no garbage.
    const moved = record.payload.byteLength !== entry.length;
    this.arena.rewrite(entry, record.payload);
    if (moved) this.compactPayloadsIfNeeded();
  }

  private remove(id: string, entry: Entry): void {
    this.records.delete(id);
    this.arena.release(entry);
    this.subjects.remove(entry.subject, id);
    this.scanIndex.noteRemoved();
    if (this.scanIndex.shouldCompact()) {
      this.scanIndex.compact((liveId, seq) => this.records.get(liveId)?.seq === seq);
    }
    this.compactPayloadsIfNeeded();
  }

  /**
   * Called once the records and the arena agree again (every live entry's
   * slot valid, every freed one released), so compaction sees exactly the
   * live slots.
   */
  private compactPayloadsIfNeeded(): void {
    if (this.arena.needsCompaction()) this.arena.compact(this.records.values());
  }

  private pushExpiry(expiresAt: number, id: string): void {
    this.heap.push(expiresAt, id);
    // Stale entries (deleted records, changed expiries) are bounded to about
    // the live count; the rebuild is O(n) once per ~n pushes.
    if (this.heap.size > 2 * this.records.size + 1024) {
      const entries = this.records;
      this.heap.rebuild(
        (function* () {
          for (const [liveId, e] of entries) yield [e.expiresAt, liveId] as const;
        })(),
      );
    }
  }

  private toRecord(id: string, entry: Entry): SessionRecord {
    return {
      id,
      subject: entry.subject,
      expiresAt: entry.expiresAt,
      version: entry.version,
      payload: this.arena.read(entry),
    };
  }

  /** Share one string per subject across its records (~64 bytes saved per extra session). */
  private intern(subject: string): string {
    const sibling = this.subjects.anyId(subject);
    return sibling === undefined ? subject : (this.records.get(sibling)?.subject ?? subject);
  }
}
