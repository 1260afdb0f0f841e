import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, RECORD_OVERHEAD, type StoredRecord } from '../src/codec';

const key = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);
const stored: fc.Arbitrary<StoredRecord> = fc
  .record({
    record: fc.record({
      id: key,
      subject: key,
      expiresAt: fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
      version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      payload: fc.uint8Array({ maxLength: 2048 }),
    }),
    link: fc.option(fc.tuple(fc.boolean(), key), { nil: undefined }),
  })
  .map(({ record, link }) => {
    if (link === undefined) return { record };
    return link[0] ? { record, pendingParent: link[1] } : { record, successor: link[1] };
  });

describe('record file format', () => {
  it('round-trips every record, link and payload', () => {
    fc.assert(
      fc.property(stored, (s) => {
        const bytes = encodeRecord(s);
        expect(bytes.byteLength).toBe(RECORD_OVERHEAD + s.record.payload.byteLength);
        expect(decodeRecord(bytes)).toEqual(s);
      }),
    );
  });

  it('a torn file (any truncation) or any flipped bit is rejected, never decoded', () => {
    fc.assert(
      fc.property(stored, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat(), (s, at, bit, cut) => {
        const bytes = encodeRecord(s);
        const flipped = new Uint8Array(bytes);
        flipped[at % bytes.length]! ^= 1 << bit;
        expect(decodeRecord(flipped)).toBeUndefined();
        expect(decodeRecord(bytes.subarray(0, cut % bytes.length))).toBeUndefined();
      }),
    );
  });

  it('garbage never decodes and never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (junk) => {
        expect(decodeRecord(junk)).toBeUndefined();
      }),
    );
  });
});
