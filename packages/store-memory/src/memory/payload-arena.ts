import { Buffer } from 'node:buffer';

/**
 * Where one payload lives in a {@link PayloadArena}. The record table's
 * entries carry these three small integers in place of the bytes; the arena
 * is the only code that reads or writes them.
 */
export interface PayloadSlot {
  /** Index of the chunk holding the bytes; -1 for an empty payload. */
  chunk: number;
  /** Byte offset inside that chunk. */
  offset: number;
  /** Payload length in bytes. */
  length: number;
}

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

  /** Copy `bytes` into a new slot and point `slot` at it (its previous contents are ignored). */
  place(slot: PayloadSlot, bytes: Uint8Array): void {
    this.allocate(slot, bytes.byteLength);
    if (slot.length > 0) (this.chunks[slot.chunk] as Buffer).set(bytes, slot.offset);
  }

  /**
   * Make `slot` hold `bytes` instead: overwritten in place when the length
   * is unchanged, otherwise moved to a new slot and the old one freed.
   */
  rewrite(slot: PayloadSlot, bytes: Uint8Array): void {
    if (bytes.byteLength === slot.length) {
      if (slot.length > 0) (this.chunks[slot.chunk] as Buffer).set(bytes, slot.offset);
      return;
    }
    this.release(slot);
    this.place(slot, bytes);
  }

  /** Free the bytes `slot` points at (zeroed first); `slot` becomes an empty payload. */
  release(slot: PayloadSlot): void {
    const { chunk, offset, length } = slot;
    slot.chunk = -1;
    slot.offset = 0;
    slot.length = 0;
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

  /** A fresh, caller-owned plain `Uint8Array` holding a copy of the bytes of `slot`. */
  read(slot: PayloadSlot): Uint8Array {
    const length = slot.length;
    if (length === 0) return new Uint8Array(0);
    const copy = Buffer.allocUnsafe(length);
    (this.chunks[slot.chunk] as Buffer).copy(copy, 0, slot.offset, slot.offset + length);
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
   * `slots` must be exactly the live slots (every one, each once).
   */
  compact(slots: Iterable<PayloadSlot>): void {
    const size = this.limits.chunkSize;
    const large = this.limits.largePayload;
    const order = this.shared;
    const rank = new Map<number, number>();
    for (let i = 0; i < order.length; i++) rank.set(order[i] as number, i);
    const byChunk: PayloadSlot[][] = order.map(() => []);
    for (const slot of slots) {
      if (slot.length > 0 && slot.length <= large) {
        (byChunk[rank.get(slot.chunk) as number] as PayloadSlot[]).push(slot);
      }
    }
    // The write position (w, at) never passes the read position: payloads
    // only move towards the front, so a chunk's bytes are all moved before
    // anything is written over them.
    let w = 0;
    let at = 0;
    let moved = 0;
    for (let r = 0; r < order.length; r++) {
      const group = byChunk[r] as PayloadSlot[];
      group.sort((a, b) => a.offset - b.offset);
      const source = this.chunks[order[r] as number] as Buffer;
      for (const slot of group) {
        const length = slot.length;
        if (at + length > size) {
          (this.chunks[order[w] as number] as Buffer).fill(0, at);
          w++;
          at = 0;
        }
        const targetId = order[w] as number;
        if (w === r) {
          if (at !== slot.offset) source.copyWithin(at, slot.offset, slot.offset + length);
        } else {
          source.copy(this.chunks[targetId] as Buffer, at, slot.offset, slot.offset + length);
        }
        slot.chunk = targetId;
        slot.offset = at;
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

  private allocate(slot: PayloadSlot, length: number): void {
    slot.length = length;
    slot.offset = 0;
    if (length === 0) {
      slot.chunk = -1;
      return;
    }
    if (length > this.limits.largePayload) {
      slot.chunk = this.addChunk(Buffer.alloc(length));
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
      slot.chunk = Math.floor(ref / size);
      slot.offset = ref - slot.chunk * size;
      return;
    }
    const size = this.limits.chunkSize;
    if (this.top + length > size) {
      // The rest of the current chunk stays dead until the next compaction.
      this.current = this.addChunk(Buffer.alloc(size));
      this.shared.push(this.current);
      this.top = 0;
    }
    slot.chunk = this.current;
    slot.offset = this.top;
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
