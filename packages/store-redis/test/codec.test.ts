import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodePending, encodeRecord } from '../src/codec';

const text = fc.string({ minLength: 1, maxLength: 256, unit: 'grapheme' });
const record = fc.record({
  id: text,
  subject: text,
  expiresAt: fc.maxSafeInteger().filter((n) => n >= -(2 ** 53) + 1),
  version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  payload: fc.uint8Array({ maxLength: 2048 }),
});

describe('record encoding', () => {
  it('a live record round-trips exactly, any payload bytes, every safe integer', () => {
    fc.assert(
      fc.property(record, (r) => {
        const decoded = decodeRecord(encodeRecord(r));
        expect(decoded).toEqual({
          expiresAt: r.expiresAt,
          version: r.version,
          subject: r.subject,
          payload: r.payload,
        });
      }),
    );
  });

  it('a pending successor round-trips with its transaction and old id', () => {
    fc.assert(
      fc.property(record, text, (r, oldId) => {
        const decoded = decodeRecord(encodePending(r, 'tx-0123456789ab', oldId));
        expect(decoded?.pending).toEqual({ tx: 'tx-0123456789ab', oldId });
        expect(decoded?.payload).toEqual(r.payload);
        expect(decoded?.subject).toBe(r.subject);
      }),
    );
  });

  it('the value holds no id: a dump shows the subject index and sealed payload only', () => {
    const r = {
      id: 'ID-MARKER',
      subject: 's',
      expiresAt: 1,
      version: 1,
      payload: new Uint8Array(3),
    };
    expect(encodeRecord(r).toString('latin1')).not.toContain('ID-MARKER');
  });

  it('garbage never throws: any bytes decode to a record or to undefined (StoreDataInvalid upstream)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buf = Buffer.from(bytes);
        expect(() => decodeRecord(buf)).not.toThrow();
      }),
    );
    expect(decodeRecord(Buffer.from('garbage'))).toBeUndefined();
    expect(
      decodeRecord(
        encodeRecord({
          id: 'i',
          subject: 's',
          expiresAt: 5,
          version: 1,
          payload: new Uint8Array(4),
        }).subarray(0, 20),
      ),
    ).toBeUndefined();
  });

  it('truncating or re-tagging a valid value is detected', () => {
    fc.assert(
      fc.property(record, fc.nat(), (r, cut) => {
        const buf = encodeRecord(r);
        const headerAndSubject = 20 + Buffer.byteLength(r.subject);
        expect(decodeRecord(buf.subarray(0, cut % headerAndSubject))).toBeUndefined();
        const retagged = Buffer.from(buf);
        retagged[1] = 9;
        expect(decodeRecord(retagged)).toBeUndefined();
      }),
    );
  });
});
