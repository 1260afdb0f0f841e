import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ArenaLimits,
  DEFAULT_LIMITS,
  PayloadArena as RowArena,
  SLOT_CHUNK,
  SLOT_LENGTH,
  SLOT_OFFSET,
} from '../../src/memory/payload-arena';

/** Every slot of these tests: three int32 of one shared row array, as the record table keeps them. */
let rows = new Int32Array(3 * 1024);
let slotCount = 0;
/** One slot, named by where it starts in `rows`, its fields read back from there. */
class PayloadSlot {
  constructor(readonly at: number) {}
  get chunk(): number {
    return rows[this.at + SLOT_CHUNK] as number;
  }
  get offset(): number {
    return rows[this.at + SLOT_OFFSET] as number;
  }
  get length(): number {
    return rows[this.at + SLOT_LENGTH] as number;
  }
}
const slot = (): PayloadSlot => {
  const at = 3 * slotCount++;
  if (at + 3 > rows.length) {
    const grown = new Int32Array(rows.length * 2);
    grown.set(rows);
    rows = grown;
  }
  rows[at] = -1;
  return new PayloadSlot(at);
};
/** The arena under test, called with slot objects: each call passes the shared rows and the slot's start. */
class PayloadArena {
  readonly inner: RowArena;
  constructor(limits?: ArenaLimits) {
    this.inner = new RowArena(limits);
  }
  place(s: PayloadSlot, data: Uint8Array): void {
    this.inner.place(rows, s.at, data);
  }
  rewrite(s: PayloadSlot, data: Uint8Array): void {
    this.inner.rewrite(rows, s.at, data);
  }
  release(s: PayloadSlot): void {
    this.inner.release(rows, s.at);
  }
  read(s: PayloadSlot): Uint8Array {
    return this.inner.read(rows, s.at);
  }
  compact(slots: Iterable<PayloadSlot>): void {
    this.inner.compact(
      rows,
      [...slots].map((s) => s.at),
    );
  }
  needsCompaction(): boolean {
    return this.inner.needsCompaction();
  }
  stats(): ReturnType<RowArena['stats']> {
    return this.inner.stats();
  }
  clear(): void {
    this.inner.clear();
  }
}
const bytes = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7 + 1) & 0xff);
/** Tiny chunks so a few payloads reach chunk changes, dedicated chunks and compaction. */
const TINY: ArenaLimits = { chunkSize: 64, largePayload: 24, minDeadBytes: 0 };

/** Every byte the arena holds, chunk after chunk (reads a private field on purpose). */
function rawMemory(arena: PayloadArena): Buffer {
  const chunks = (arena.inner as unknown as { chunks: Array<Buffer | undefined> }).chunks;
  return Buffer.concat(chunks.filter((c): c is Buffer => c !== undefined));
}
/** Byte equality without a per-element diff (vitest's toEqual takes minutes on megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
function occurrences(haystack: Buffer, needle: Uint8Array): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) {
    count++;
  }
  return count;
}

describe('PayloadArena: slots', () => {
  it('a rewrite of the same length overwrites the slot in place and allocates nothing', () => {
    const arena = new PayloadArena(TINY);
    const s = slot();
    arena.place(s, bytes(20, 1));
    const where = { ...s };
    const before = arena.stats();
    for (let k = 2; k < 50; k++) {
      arena.rewrite(s, bytes(20, k));
      expect(s).toEqual(where);
      expect(arena.read(s)).toEqual(bytes(20, k));
    }
    expect(arena.stats()).toEqual(before);
  });

  it('a freed slot is reused by the next payload of exactly its length, not by another length', () => {
    const arena = new PayloadArena(TINY);
    const a = slot();
    const b = slot();
    arena.place(a, bytes(10, 1));
    arena.place(b, bytes(10, 2));
    const freed = { chunk: a.chunk, offset: a.offset };
    arena.release(a);
    expect(arena.stats().freeSlots).toBe(1);

    const other = slot();
    arena.place(other, bytes(9, 3));
    expect({ chunk: other.chunk, offset: other.offset }).not.toEqual(freed);
    expect(arena.stats().freeSlots).toBe(1);

    const same = slot();
    arena.place(same, bytes(10, 4));
    expect({ chunk: same.chunk, offset: same.offset }).toEqual(freed);
    expect(arena.stats().freeSlots).toBe(0);
    expect(arena.read(same)).toEqual(bytes(10, 4));
    expect(arena.read(b)).toEqual(bytes(10, 2));
    expect(arena.read(other)).toEqual(bytes(9, 3));
  });

  it('a rewrite to another length moves the payload and frees the old slot for reuse', () => {
    const arena = new PayloadArena(TINY);
    const s = slot();
    arena.place(s, bytes(12, 1));
    const old = { chunk: s.chunk, offset: s.offset };
    arena.rewrite(s, bytes(13, 2));
    expect(arena.read(s)).toEqual(bytes(13, 2));
    const t = slot();
    arena.place(t, bytes(12, 3));
    expect({ chunk: t.chunk, offset: t.offset }).toEqual(old);
    expect(arena.read(s)).toEqual(bytes(13, 2));
  });

  it('released bytes are zeroed: a freed payload appears nowhere in the arena', () => {
    const arena = new PayloadArena(TINY);
    const marker = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x5a, 0xa5, 0x11, 0x22]);
    const keep = slot();
    const gone = slot();
    const moved = slot();
    arena.place(keep, bytes(16, 9));
    arena.place(gone, marker);
    arena.place(moved, marker);
    expect(occurrences(rawMemory(arena), marker)).toBe(2);
    arena.release(gone);
    expect(occurrences(rawMemory(arena), marker)).toBe(1);
    arena.rewrite(moved, bytes(5, 1));
    expect(occurrences(rawMemory(arena), marker)).toBe(0);
  });

  it('an empty payload takes no chunk and reads back as an empty plain Uint8Array', () => {
    const arena = new PayloadArena(TINY);
    const s = slot();
    arena.place(s, new Uint8Array(0));
    expect(arena.stats()).toMatchObject({ chunks: 0, capacityBytes: 0, liveBytes: 0 });
    const out = arena.read(s);
    expect(out.constructor).toBe(Uint8Array);
    expect(out.byteLength).toBe(0);

    arena.rewrite(s, bytes(7, 1));
    expect(arena.read(s)).toEqual(bytes(7, 1));
    arena.rewrite(s, new Uint8Array(0));
    expect(arena.read(s).byteLength).toBe(0);
    expect(arena.stats().liveBytes).toBe(0);
    arena.release(s);
    expect(arena.read(s).byteLength).toBe(0);
  });

  it('a payload larger than a chunk gets a chunk of its own, freed with it', () => {
    const arena = new PayloadArena();
    const small = slot();
    arena.place(small, bytes(1000, 1));
    const base = arena.stats();

    const big = slot();
    const payload = bytes(5 * DEFAULT_LIMITS.chunkSize + 3, 2);
    arena.place(big, payload);
    expect(arena.stats().capacityBytes).toBe(base.capacityBytes + payload.byteLength);
    expect(same(arena.read(big), payload)).toBe(true);

    const again = bytes(payload.byteLength, 3);
    arena.rewrite(big, again);
    expect(same(arena.read(big), again)).toBe(true);
    expect(arena.stats().capacityBytes).toBe(base.capacityBytes + payload.byteLength);

    arena.release(big);
    expect(arena.stats()).toEqual(base);
    expect(arena.read(small)).toEqual(bytes(1000, 1));
  });

  it('a payload just over the large threshold and one exactly at it both round-trip', () => {
    const arena = new PayloadArena(TINY);
    const at = slot();
    const over = slot();
    arena.place(at, bytes(TINY.largePayload, 1));
    arena.place(over, bytes(TINY.largePayload + 1, 2));
    expect(arena.read(at)).toEqual(bytes(TINY.largePayload, 1));
    expect(arena.read(over)).toEqual(bytes(TINY.largePayload + 1, 2));
    expect(arena.stats().chunks).toBe(2);
  });

  it('rejects limits it cannot work with', () => {
    expect(() => new PayloadArena({ ...TINY, largePayload: TINY.chunkSize })).toThrow(RangeError);
    expect(() => new PayloadArena({ ...TINY, chunkSize: 0 })).toThrow(RangeError);
    expect(() => new PayloadArena({ ...TINY, chunkSize: 2 ** 31 })).toThrow(RangeError);
  });
});

describe('PayloadArena: isolation', () => {
  it('mutating the inserted array afterwards never changes the stored bytes', () => {
    const arena = new PayloadArena(TINY);
    const input = bytes(20, 1);
    const s = slot();
    arena.place(s, input);
    input.fill(0xff);
    expect(arena.read(s)).toEqual(bytes(20, 1));

    const again = bytes(20, 2);
    arena.rewrite(s, again);
    again.fill(0xee);
    expect(arena.read(s)).toEqual(bytes(20, 2));
  });

  it('mutating a returned array never changes the stored bytes or another read', () => {
    const arena = new PayloadArena(TINY);
    const a = slot();
    const b = slot();
    arena.place(a, bytes(20, 1));
    arena.place(b, bytes(20, 2));
    const first = arena.read(a);
    const second = arena.read(a);
    const other = arena.read(b);
    expect(first.constructor).toBe(Uint8Array);
    first.fill(0);
    expect(second).toEqual(bytes(20, 1));
    expect(other).toEqual(bytes(20, 2));
    expect(arena.read(a)).toEqual(bytes(20, 1));
    expect(arena.read(b)).toEqual(bytes(20, 2));
  });

  it('a Buffer or a view into a larger buffer is copied by its own bytes only', () => {
    const arena = new PayloadArena(TINY);
    const backing = bytes(40, 5);
    const view = backing.subarray(10, 30);
    const s = slot();
    arena.place(s, view);
    expect(arena.read(s)).toEqual(backing.slice(10, 30));
    const t = slot();
    arena.place(t, Buffer.from(bytes(8, 6)));
    const out = arena.read(t);
    expect(out.constructor).toBe(Uint8Array);
    expect(out).toEqual(bytes(8, 6));
  });
});

describe('PayloadArena: compaction', () => {
  it('odd-length churn is compacted: live bytes kept, dead space and chunks given back', () => {
    const arena = new PayloadArena(TINY);
    const live: Array<{ slot: PayloadSlot; data: Uint8Array }> = [];
    for (let i = 0; i < 200; i++) {
      const s = slot();
      const data = bytes(1 + (i % 23), i);
      arena.place(s, data);
      live.push({ slot: s, data });
    }
    const full = arena.stats();
    // Free four of every five, all with lengths nothing reuses afterwards.
    const kept = live.filter((_, i) => i % 5 === 0);
    for (const [i, x] of live.entries()) if (i % 5 !== 0) arena.release(x.slot);
    expect(arena.needsCompaction()).toBe(true);

    arena.compact(kept.map((x) => x.slot));
    const after = arena.stats();
    // Only the tails too short for the next payload, one per chunk but the last.
    expect(after.deadBytes).toBeLessThan(after.chunks * TINY.largePayload);
    expect(after.freeSlots).toBe(0);
    expect(after.liveBytes).toBe(kept.reduce((n, x) => n + x.data.byteLength, 0));
    expect(after.chunks).toBeLessThan(full.chunks / 3);
    expect(after.capacityBytes).toBeLessThanOrEqual(after.liveBytes + 2 * TINY.chunkSize);
    expect(arena.needsCompaction()).toBe(false);
    for (const x of kept) expect(arena.read(x.slot)).toEqual(x.data);

    // Still usable: new payloads go after the compacted ones.
    const s = slot();
    arena.place(s, bytes(17, 99));
    expect(arena.read(s)).toEqual(bytes(17, 99));
    for (const x of kept) expect(arena.read(x.slot)).toEqual(x.data);
  });

  it('compaction leaves no stale copy of a moved payload behind', () => {
    const arena = new PayloadArena(TINY);
    const marker = Uint8Array.from([0xc0, 0xff, 0xee, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    const filler = Array.from({ length: 12 }, (_, i) => {
      const s = slot();
      arena.place(s, bytes(11, i));
      return s;
    });
    const marked = slot();
    arena.place(marked, marker);
    for (const s of filler) arena.release(s);
    arena.compact([marked]);
    expect(arena.read(marked)).toEqual(marker);
    expect(occurrences(rawMemory(arena), marker)).toBe(1);
  });

  it('compaction zeroes the tail it leaves in a chunk the next payload did not fit', () => {
    const arena = new PayloadArena(TINY);
    const place = (length: number, seed: number) => {
      const s = slot();
      arena.place(s, bytes(length, seed));
      return s;
    };
    // Chunk 1: p1 [0,10) p2 [10,20) p3 [20,44) p4 [44,64); chunk 2: q [0,24).
    const p1 = place(10, 1);
    const p2 = place(10, 2);
    const p3 = place(24, 3);
    const p4 = place(20, 4);
    const q = place(24, 5);
    expect(q.chunk).not.toBe(p1.chunk);
    arena.release(p2);
    // p3 and p4 slide down by 10; q does not fit the 10 bytes left and stays in chunk 2.
    arena.compact([p1, p3, p4, q]);
    expect({ chunk: p4.chunk, offset: p4.offset }).toEqual({ chunk: p1.chunk, offset: 34 });
    expect(q.chunk).not.toBe(p1.chunk);
    for (const [s, length, seed] of [
      [p1, 10, 1],
      [p3, 24, 3],
      [p4, 20, 4],
      [q, 24, 5],
    ] as const) {
      expect(arena.read(s)).toEqual(bytes(length, seed));
    }
    // The old second half of p4 sat at [54,64): it must not linger there.
    expect(occurrences(rawMemory(arena), bytes(20, 4).subarray(10))).toBe(1);
  });

  it('after a compaction, tails it could not fill do not trigger another one', () => {
    const arena = new PayloadArena(TINY);
    // Two 24-byte payloads per 64-byte chunk: every full chunk keeps a 16-byte tail.
    const slots = Array.from({ length: 10 }, (_, i) => {
      const s = slot();
      arena.place(s, bytes(24, i));
      return s;
    });
    arena.release(slots[0] as PayloadSlot);
    const live = slots.slice(1);
    expect(arena.needsCompaction()).toBe(true);
    arena.compact(live);
    expect(arena.stats().deadBytes).toBeGreaterThan(0);
    expect(arena.needsCompaction()).toBe(false);
    // Freeing more than a quarter of the live bytes again does.
    for (const s of live.splice(0, 3)) arena.release(s);
    expect(arena.needsCompaction()).toBe(true);
    arena.compact(live);
    for (const [i, s] of live.entries()) expect(arena.read(s)).toEqual(bytes(24, i + 4));
  });

  it('compacting with nothing live drops every shared chunk but keeps dedicated ones', () => {
    const arena = new PayloadArena(TINY);
    const big = slot();
    arena.place(big, bytes(100, 1));
    const smalls = Array.from({ length: 30 }, (_, i) => {
      const s = slot();
      arena.place(s, bytes(10, i));
      return s;
    });
    for (const s of smalls) arena.release(s);
    arena.compact([big]);
    expect(arena.stats()).toEqual({
      chunks: 1,
      capacityBytes: 100,
      liveBytes: 100,
      deadBytes: 0,
      freeSlots: 0,
    });
    expect(arena.read(big)).toEqual(bytes(100, 1));
    const s = slot();
    arena.place(s, bytes(10, 7));
    expect(arena.read(s)).toEqual(bytes(10, 7));
  });

  it('with the default limits, dead space under 1 MiB is tolerated (no compaction churn)', () => {
    const arena = new PayloadArena();
    const s = slot();
    arena.place(s, bytes(1000, 1));
    const t = slot();
    arena.place(t, bytes(900, 2));
    arena.release(t);
    expect(arena.needsCompaction()).toBe(false);
  });

  it('clear drops everything', () => {
    const arena = new PayloadArena(TINY);
    const s = slot();
    arena.place(s, bytes(20, 1));
    arena.place(slot(), bytes(200, 1));
    arena.clear();
    expect(arena.stats()).toEqual({
      chunks: 0,
      capacityBytes: 0,
      liveBytes: 0,
      deadBytes: 0,
      freeSlots: 0,
    });
  });
});

describe('PayloadArena: model', () => {
  type Op =
    | { kind: 'place' | 'rewrite'; k: number; length: number; seed: number }
    | { kind: 'release'; k: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom('place' as const, 'rewrite' as const),
      k: fc.nat(11),
      length: fc.oneof(fc.nat(30), fc.constantFrom(0, 8, 24, 25, 64, 65)),
      seed: fc.nat(255),
    }),
    fc.record({ kind: fc.constant('release' as const), k: fc.nat(11) }),
  );

  it('any sequence of writes, frees and compactions reads back what the model holds, within bounded memory', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.constantFrom(0, 40), (ops, minDeadBytes) => {
        const limits = { ...TINY, minDeadBytes };
        const arena = new PayloadArena(limits);
        const slots = new Map<number, PayloadSlot>();
        const model = new Map<number, Uint8Array>();
        for (const o of ops) {
          const s = slots.get(o.k);
          if (o.kind === 'release') {
            if (s !== undefined) arena.release(s);
            slots.delete(o.k);
            model.delete(o.k);
          } else {
            const data = bytes(o.length, o.seed);
            if (o.kind === 'rewrite' && s !== undefined) {
              arena.rewrite(s, data);
            } else {
              if (s !== undefined) arena.release(s);
              const fresh = slot();
              arena.place(fresh, data);
              slots.set(o.k, fresh);
            }
            model.set(o.k, data);
          }
          if (arena.needsCompaction()) arena.compact(slots.values());
          for (const [k, data] of model) {
            expect(arena.read(slots.get(k) as PayloadSlot)).toEqual(data);
          }
          const stats = arena.stats();
          const liveBytes = [...model.values()].reduce((n, d) => n + d.byteLength, 0);
          expect(stats.liveBytes).toBe(liveBytes);
          // At most a quarter of the shared live bytes, beyond the chunk
          // tails the last compaction could not fill.
          expect(stats.deadBytes).toBeLessThanOrEqual(
            Math.max(limits.minDeadBytes, (stats.liveBytes - dedicated(model)) / 4) +
              stats.chunks * TINY.largePayload,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  const dedicated = (model: Map<number, Uint8Array>) =>
    [...model.values()].reduce(
      (n, d) => n + (d.byteLength > TINY.largePayload ? d.byteLength : 0),
      0,
    );
});
