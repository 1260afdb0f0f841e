import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdIndex } from '../../src/memory/id-index';
import { ID_AT, ROW_BYTES, putKey } from '../../src/memory/row-layout';
import { key } from '../helpers';

/*
 * The open-addressed id index against a Map, under random inserts, removals
 * and lookups. It starts at 2 slots so every run wraps around the table,
 * grows it several times, and shifts clusters back across the end on
 * removal; ids that share all but their last characters make long runs of
 * equal prefixes (the hash covers every character).
 */

const ROWS = 64;

describe('IdIndex', () => {
  it('finds exactly the ids a Map holds, through inserts, removals, wrap-around and growth', () => {
    const pool = [
      // Same first 42 characters: only the last differs (and with it the weak hash below).
      ...Array.from({ length: 16 }, (_, i) => `${'A'.repeat(42)}${'abcdefghijklmnop'[i]}`),
      ...Array.from({ length: 24 }, (_, i) => key('id-index', i)),
    ];
    // Inserts outweigh removals, so the table runs near its half-full
    // limit, where clusters are long and cross the end of the table.
    const op = fc.oneof(
      {
        arbitrary: fc.record({ kind: fc.constant('insert' as const), id: fc.nat(pool.length - 1) }),
        weight: 3,
      },
      fc.record({ kind: fc.constant('remove' as const), id: fc.nat(pool.length - 1) }),
      fc.record({ kind: fc.constant('find' as const), id: fc.nat(pool.length - 1) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: pool.length }),
        fc.boolean(),
        fc.array(op, { maxLength: 400 }),
        (n, weak, ops) => {
          // The first n ids only: small n keeps the table at 4 to 16 slots, where every cluster wraps.
          // The weak hash gives every id one of the last four slots as its home:
          // long clusters that always run across the end of the table.
          const index = weak ? new IdIndex(2, (id) => ~(id.charCodeAt(42) & 3)) : new IdIndex(2);
          const bytes = new Uint8Array(ROWS * ROW_BYTES);
          const model = new Map<string, number>();
          const freeRows = Array.from({ length: ROWS }, (_, i) => ROWS - 1 - i);
          for (const { kind, id: k } of ops) {
            const id = pool[k % n] as string;
            const held = model.get(id);
            if (kind === 'insert' && held === undefined) {
              const row = freeRows.pop() as number;
              // A reused row still holds the previous id's bytes until now.
              putKey(bytes, row * ROW_BYTES + ID_AT, id);
              index.insert(id, row);
              model.set(id, row);
            } else if (kind === 'remove' && held !== undefined) {
              index.remove(id, held);
              model.delete(id);
              freeRows.push(held);
            }
            expect(index.find(id, bytes)).toBe(model.get(id) ?? -1);
            expect(index.size).toBe(model.size);
          }
          for (const id of pool) expect(index.find(id, bytes)).toBe(model.get(id) ?? -1);
          expect([...index.rows()].sort((a, b) => a - b)).toEqual(
            [...model.values()].sort((a, b) => a - b),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a removed id is not found even when its row bytes still spell it', () => {
    const index = new IdIndex(2);
    const bytes = new Uint8Array(4 * ROW_BYTES);
    const ids = [key('stale', 0), key('stale', 1), key('stale', 2)];
    ids.forEach((id, row) => {
      putKey(bytes, row * ROW_BYTES + ID_AT, id);
      index.insert(id, row);
    });
    index.remove(ids[1] as string, 1);
    expect(index.find(ids[1] as string, bytes)).toBe(-1);
    expect(index.find(ids[0] as string, bytes)).toBe(0);
    expect(index.find(ids[2] as string, bytes)).toBe(2);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.find(ids[0] as string, bytes)).toBe(-1);
  });

  it('refuses a table size that is not a power of two', () => {
    expect(() => new IdIndex(3)).toThrow(RangeError);
    expect(() => new IdIndex(1)).toThrow(RangeError);
  });
});
