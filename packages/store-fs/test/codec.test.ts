import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  encodeRecord,
  LEGACY_SEAT,
  RECORD_OVERHEAD,
  type StoredRecord,
} from '../src/codec';
import { encodeFormat1 } from './legacy';

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
    seat: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
  })
  .map(({ record, link, seat }): StoredRecord => {
    const base = seat === undefined ? { record } : { record, seat };
    if (link === undefined) return base;
    return link[0] ? { ...base, pendingParent: link[1] } : { ...base, successor: link[1] };
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

  it('reads format 1 (written before seats): seated earliest, unless it names a successor; round-trips as format 2', () => {
    fc.assert(
      fc.property(stored, (s) => {
        const link =
          s.pendingParent !== undefined
            ? ({ kind: 'pending', id: s.pendingParent } as const)
            : s.successor !== undefined
              ? ({ kind: 'successor', id: s.successor } as const)
              : undefined;
        const { seat: _ignored, ...rest } = s;
        const legacy = decodeRecord(encodeFormat1(s.record, link));
        // A record rotated away gave its seat to its successor; every other one holds a seat from before all others.
        expect(legacy).toEqual(s.successor !== undefined ? rest : { ...rest, seat: LEGACY_SEAT });
        expect(decodeRecord(encodeRecord(legacy!))).toEqual(legacy);
      }),
    );
  });

  it('a seat stamp that is not a non-negative safe integer, or a stamp on a record without a seat, is rejected', () => {
    const record = {
      id: 'a'.repeat(43),
      subject: 'b'.repeat(43),
      expiresAt: 1,
      version: 1,
      payload: new Uint8Array(3),
    };
    const reseal = (bytes: Uint8Array, edit: (buf: Buffer) => void): Uint8Array => {
      const buf = Buffer.from(bytes);
      edit(buf);
      createHash('sha256')
        .update(buf.subarray(0, buf.length - 32))
        .digest()
        .copy(buf, buf.length - 32);
      return buf;
    };
    const seated = encodeRecord({ record, seat: 5 });
    expect(decodeRecord(seated)).toEqual({ record, seat: 5 });
    for (const bad of [-1, 0.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY]) {
      const bytes = reseal(seated, (b) => b.writeDoubleBE(bad, 151));
      expect(decodeRecord(bytes), String(bad)).toBeUndefined();
    }
    const unseated = encodeRecord({ record });
    expect(decodeRecord(unseated)).toEqual({ record });
    expect(decodeRecord(reseal(unseated, (b) => b.writeDoubleBE(7, 151)))).toBeUndefined();
    // Format 1 has no seat flag.
    expect(decodeRecord(reseal(encodeFormat1(record), (b) => b.writeUInt8(4, 5)))).toBeUndefined();
  });

  it('garbage never decodes and never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (junk) => {
        expect(decodeRecord(junk)).toBeUndefined();
      }),
    );
  });
});
