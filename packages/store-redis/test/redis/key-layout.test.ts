import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUCKETS,
  bucketOf,
  bucketTags,
  crc16,
  keyLayout,
  slotOfTag,
} from '../../src/redis/key-layout';

describe('key layout (part of the on-Redis format)', () => {
  it('crc16 is the XMODEM CRC Redis Cluster uses (reference value from the cluster spec)', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(slotOfTag('123456789')).toBe(0x31c3 % 16384);
  });

  it('bucket b has a tag hashing into slots [64b, 64b+63], so buckets spread evenly over the slot range', () => {
    const tags = bucketTags();
    expect(tags).toHaveLength(BUCKETS);
    expect(new Set(tags).size).toBe(BUCKETS);
    tags.forEach((tag, b) => {
      expect(tag).toMatch(/^[a-z0-9]+$/);
      expect(Math.floor(slotOfTag(tag) / 64)).toBe(b);
    });
  });

  it('tags and bucket function are pinned: changing them would orphan stored sessions', () => {
    expect(bucketTags().slice(0, 4)).toMatchInlineSnapshot(`
      [
        "cv",
        "14",
        "6y",
        "10",
      ]
    `);
    expect(bucketOf('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toMatchInlineSnapshot(`6`);
    expect(keyLayout('app:').recordKey('abc')).toMatchInlineSnapshot(`"app:{6e}:s:abc"`);
  });

  it('every key of a bucket carries the bucket tag first, whatever the id or subject contains', () => {
    const layout = keyLayout('p:');
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 300, unit: 'binary' }),
        fc.string({ minLength: 1 }),
        (id, subject) => {
          const b = bucketOf(id);
          expect(b).toBeGreaterThanOrEqual(0);
          expect(b).toBeLessThan(BUCKETS);
          const base = layout.bucketBase(b);
          expect(base).toBe(`p:{${bucketTags()[b]}}:`);
          expect(layout.recordKey(id).startsWith(base)).toBe(true);
          expect(layout.subjectIndexKey(b, subject).startsWith(base)).toBe(true);
          expect(layout.allIndexKey(b).startsWith(base)).toBe(true);
        },
      ),
    );
  });

  it('random session ids spread over all buckets (no bucket is more than 3x its share)', () => {
    const counts = new Array<number>(BUCKETS).fill(0);
    for (let i = 0; i < 256 * 200; i++) {
      counts[
        bucketOf(Buffer.from(Float64Array.of(Math.random(), i).buffer).toString('base64url'))
      ]! += 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(200 / 3);
    expect(Math.max(...counts)).toBeLessThan(200 * 3);
  });
});
