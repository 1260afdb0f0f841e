import { Buffer } from 'node:buffer';

/*
 * Where one payload lives in a PayloadArena: a slot, three consecutive
 * int32 of a caller's row array starting at an index `at` (chunk, offset,
 * length). The record table keeps them at the start of each record's row in
 * place of the bytes; the arena is the only code that writes them.
 */
/** Slot field: index of the chunk holding the bytes; -1 for an empty payload. */
export const SLOT_CHUNK = 0;
/** Slot field: byte offset inside that chunk. */
export const SLOT_OFFSET = 1;
/** Slot field: payload length in bytes. */
export const SLOT_LENGTH = 2;

/** Sizes an arena works with; tests shrink them to reach every path with a few bytes. */
export interface ArenaLimits {
  /** Bytes per shared chunk. At most 2^30. */
  readonly chunkSize: number;
  /** Payloads longer than this get a chunk of their own. Below `chunkSize`. */
  readonly largePayload: number;
  /** Dead bytes always tolerated before compacting, whatever the live size. */
  readonly minDeadBytes: number;
}

export const DEFAULT_LIMITS: ArenaLimits = {
  chunkSize: 1 << 20,
  largePayload: 64 * 1024,
  minDeadBytes: 1 << 20,
};

/** Counters for tests and diagnostics. */
export interface ArenaStats {
  /** Chunks held, shared and dedicated. */
  readonly chunks: number;
  /** Bytes held in chunks of every kind. */
  readonly capacityBytes: number;
  /** Bytes of live payloads. */
  readonly liveBytes: number;
  /**
   * Bytes in shared chunks that hold no live payload and are not the
   * untouched end of the chunk being filled: freed slots and abandoned
   * chunk tails, reclaimed by reuse or compaction.
   */
  readonly deadBytes: number;
  /** Freed slots waiting for a payload of their exact length. */
  readonly freeSlots: number;
}

/*
 * Why an arena: payloads used to be one-byte strings on the V8 heap. A
 * rewrap replaces every payload, and a million dropped ~1 KiB strings are
 * old-space garbage that V8 returns only after a major GC, whose trigger
 * grows with the live heap: RSS grew by ~480 MiB for 1M records. Here the
 * bytes live off-heap in large chunks, a record holds three small integers,
 * and a payload rewritten with the same length (a rewrap under a key id of
 * the same length, any touch) is overwritten in place: no garbage at all.
 *
 * Layout and reuse:
 * - Payloads up to `largePayload` bytes are bump-allocated in shared chunks
 *   of `chunkSize` bytes. A payload that does not fit the rest of the
 *   current chunk starts a new one; the tail left behind is dead space.
 * - A freed shared slot is zeroed and kept on a free list for its exact
 *   length: the sessions of one application mostly share a few lengths, so
 *   a churn of creates and deletes reuses slots without compacting.
 * - Dead space (freed slots not reused, abandoned tails) is bounded: once
 *   it exceeds a quarter of the live bytes (and `minDeadBytes`), the owner
 *   calls {@link PayloadArena.compact}, which slides every live payload
 *   down in place, chunk by chunk, and drops the emptied chunks. No second
 *   copy of the data is ever allocated, so compaction does not spike RSS;
 *   each compaction is paid for by the quarter of the live size freed
 *   since the last one (amortised O(1) per freed byte).
 * - Larger payloads get a chunk of exactly their size, dropped when freed.
 *
 * Copies: a write copies the caller's bytes into the arena; a read copies
 * them out through Buffer's 8 KiB allocation pool (~0.35 µs for 1 KiB) and
 * hands back a plain Uint8Array view of the copy. A fresh `new
 * Uint8Array(n)` per read would allocate and register its own off-heap
 * backing store (~3-4 µs under load). No view of a chunk ever leaves the
 * arena, so neither side can change the other's bytes.
 */
export class PayloadArena {
  private chunks: Array<Buffer | undefined> = [];
  /** Indexes of `chunks` whose chunk was dropped, to reuse. */
  private spareIds: number[] = [];
  /** Shared chunk ids in fill order: compaction slides payloads along this order. */
  private shared: number[] = [];
  /** Shared chunk being bump-allocated, or -1. */
  private current = -1;
  /** Next free offset in `current` (`chunkSize` when there is none). */
  private top: number;
  /** Exact length → freed slots of that length, each `chunk * chunkSize + offset`. */
  private readonly free = new Map<number, number[]>();
  private freeSlotCount = 0;
  private sharedLive = 0;
  private dedicatedBytes = 0;
  private dedicatedCount = 0;
  /**
   * Dead bytes the last compaction could not remove (chunk tails too short
   * for the payload that came next): only dead space beyond it counts
   * towards the next compaction, so one never follows another for nothing.
   */
  private deadFloor = 0;

  constructor(private readonly limits: ArenaLimits = DEFAULT_LIMITS) {
    if (
      !Number.isSafeInteger(limits.chunkSize) ||
      limits.chunkSize < 1 ||
      limits.chunkSize > 2 ** 30 ||
      !Number.isSafeInteger(limits.largePayload) ||
      limits.largePayload < 0 ||
      limits.largePayload >= limits.chunkSize
    ) {
      throw new RangeError('invalid arena limits');
    }
    this.top = limits.chunkSize;
  }

  /** Copy `bytes` into a new slot and point the slot at `rows[at..at+2]` to it (its previous contents are ignored). */
  place(rows: Int32Array, at: number, bytes: Uint8Array): void {
    this.allocate(rows, at, bytes.byteLength);
    if (bytes.byteLength > 0) {
      (this.chunks[rows[at] as number] as Buffer).set(bytes, rows[at + SLOT_OFFSET] as number);
    }
  }

  /**
   * Make `slot` hold `bytes` instead: overwritten in place when the length
   * is unchanged, otherwise moved to a new slot and the old one freed.
   */
  rewrite(rows: Int32Array, at: number, bytes: Uint8Array): void {
    const length = bytes.byteLength;
    if (length === rows[at + SLOT_LENGTH]) {
      if (length > 0) {
        (this.chunks[rows[at] as number] as Buffer).set(bytes, rows[at + SLOT_OFFSET] as number);
      }
      return;
    }
    this.release(rows, at);
    this.place(rows, at, bytes);
  }

  /** Free the bytes the slot at `rows[at..]` points at (zeroed first); the slot becomes an empty payload. */
  release(rows: Int32Array, at: number): void {
    const chunk = rows[at] as number;
    const offset = rows[at + SLOT_OFFSET] as number;
    const length = rows[at + SLOT_LENGTH] as number;
    rows[at] = -1;
    rows[at + SLOT_OFFSET] = 0;
    rows[at + SLOT_LENGTH] = 0;
    if (length === 0) return;
    if (length > this.limits.largePayload) {
      this.dropChunk(chunk);
      this.dedicatedBytes -= length;
      this.dedicatedCount--;
      return;
    }
    (this.chunks[chunk] as Buffer).fill(0, offset, offset + length);
    this.sharedLive -= length;
    const ref = chunk * this.limits.chunkSize + offset;
    const list = this.free.get(length);
    if (list === undefined) this.free.set(length, [ref]);
    else list.push(ref);
    this.freeSlotCount++;
  }

  /** A fresh, caller-owned plain `Uint8Array` holding a copy of the bytes of the slot at `rows[at..]`. */
  read(rows: Int32Array, at: number): Uint8Array {
    const length = rows[at + SLOT_LENGTH] as number;
    if (length === 0) return new Uint8Array(0);
    const offset = rows[at + SLOT_OFFSET] as number;
    const copy = Buffer.allocUnsafe(length);
    (this.chunks[rows[at] as number] as Buffer).copy(copy, 0, offset, offset + length);
    return new Uint8Array(copy.buffer, copy.byteOffset, length);
  }

  /**
   * True when the dead space added since the last compaction exceeds a
   * quarter of the live bytes in shared chunks (and `minDeadBytes`): time
   * to {@link compact}.
   */
  needsCompaction(): boolean {
    const dead = this.deadBytes() - this.deadFloor;
    return dead > this.limits.minDeadBytes && dead * 4 > this.sharedLive;
  }

  /**
   * Slide every live shared payload down to the start of the fill order,
   * update each slot, drop the chunks left empty and forget the free lists.
   * `slots` must be exactly the starts in `rows` of the live slots (every
   * one, each once).
   */
  compact(rows: Int32Array, slots: Iterable<number>): void {
    const size = this.limits.chunkSize;
    const large = this.limits.largePayload;
    const order = this.shared;
    const rank = new Map<number, number>();
    for (let i = 0; i < order.length; i++) rank.set(order[i] as number, i);
    const byChunk: number[][] = order.map(() => []);
    for (const at of slots) {
      const length = rows[at + SLOT_LENGTH] as number;
      if (length > 0 && length <= large) {
        (byChunk[rank.get(rows[at] as number) as number] as number[]).push(at);
      }
    }
    // The write position (w, at) never passes the read position: payloads
    // only move towards the front, so a chunk's bytes are all moved before
    // anything is written over them.
    let w = 0;
    let at = 0;
    let moved = 0;
    for (let r = 0; r < order.length; r++) {
      const group = byChunk[r] as number[];
      group.sort((a, b) => (rows[a + SLOT_OFFSET] as number) - (rows[b + SLOT_OFFSET] as number));
      const source = this.chunks[order[r] as number] as Buffer;
      for (const slot of group) {
        const length = rows[slot + SLOT_LENGTH] as number;
        const offset = rows[slot + SLOT_OFFSET] as number;
        if (at + length > size) {
          (this.chunks[order[w] as number] as Buffer).fill(0, at);
          w++;
          at = 0;
        }
        const targetId = order[w] as number;
        if (w === r) {
          if (at !== offset) source.copyWithin(at, offset, offset + length);
        } else {
          source.copy(this.chunks[targetId] as Buffer, at, offset, offset + length);
        }
        rows[slot] = targetId;
        rows[slot + SLOT_OFFSET] = at;
        at += length;
        moved++;
      }
    }
    if (moved === 0) {
      for (const id of order) this.dropChunk(id);
      this.shared = [];
      this.current = -1;
      this.top = size;
    } else {
      (this.chunks[order[w] as number] as Buffer).fill(0, at);
      for (const id of order.slice(w + 1)) this.dropChunk(id);
      this.shared = order.slice(0, w + 1);
      this.current = order[w] as number;
      this.top = at;
    }
    this.free.clear();
    this.freeSlotCount = 0;
    this.deadFloor = this.deadBytes();
  }

  stats(): ArenaStats {
    return {
      chunks: this.shared.length + this.dedicatedCount,
      capacityBytes: this.shared.length * this.limits.chunkSize + this.dedicatedBytes,
      liveBytes: this.sharedLive + this.dedicatedBytes,
      deadBytes: this.deadBytes(),
      freeSlots: this.freeSlotCount,
    };
  }

  /** Drop every chunk. Slots handed out before are meaningless afterwards. */
  clear(): void {
    this.chunks = [];
    this.spareIds = [];
    this.shared = [];
    this.current = -1;
    this.top = this.limits.chunkSize;
    this.free.clear();
    this.freeSlotCount = 0;
    this.sharedLive = 0;
    this.dedicatedBytes = 0;
    this.dedicatedCount = 0;
    this.deadFloor = 0;
  }

  private deadBytes(): number {
    const size = this.limits.chunkSize;
    return this.shared.length * size - this.sharedLive - (size - this.top);
  }

  private allocate(rows: Int32Array, at: number, length: number): void {
    rows[at + SLOT_LENGTH] = length;
    rows[at + SLOT_OFFSET] = 0;
    if (length === 0) {
      rows[at] = -1;
      return;
    }
    if (length > this.limits.largePayload) {
      rows[at] = this.addChunk(Buffer.alloc(length));
      this.dedicatedBytes += length;
      this.dedicatedCount++;
      return;
    }
    this.sharedLive += length;
    const list = this.free.get(length);
    if (list !== undefined) {
      const ref = list.pop() as number;
      if (list.length === 0) this.free.delete(length);
      this.freeSlotCount--;
      const size = this.limits.chunkSize;
      const chunk = Math.floor(ref / size);
      rows[at] = chunk;
      rows[at + SLOT_OFFSET] = ref - chunk * size;
      return;
    }
    const size = this.limits.chunkSize;
    if (this.top + length > size) {
      // The rest of the current chunk stays dead until the next compaction.
      this.current = this.addChunk(Buffer.alloc(size));
      this.shared.push(this.current);
      this.top = 0;
    }
    rows[at] = this.current;
    rows[at + SLOT_OFFSET] = this.top;
    this.top += length;
  }

  private addChunk(chunk: Buffer): number {
    const id = this.spareIds.pop();
    if (id !== undefined) {
      this.chunks[id] = chunk;
      return id;
    }
    this.chunks.push(chunk);
    return this.chunks.length - 1;
  }

  private dropChunk(id: number): void {
    this.chunks[id] = undefined;
    this.spareIds.push(id);
  }
}
