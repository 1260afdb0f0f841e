import { randomBytes } from 'node:crypto';
import { InvalidArgument } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../src/scan-cursor';

const key = new Uint8Array(randomBytes(32));
const position = fc.oneof(
  fc.record({ bucket: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    bucket: fc.integer({ min: 0, max: 255 }),
    after: fc.record({
      score: fc.integer({ min: -(2 ** 52), max: 2 ** 52 }).map(String),
      id: fc.string({ minLength: 43, maxLength: 43 }),
    }),
  }),
);

describe('scan cursor', () => {
  it('round-trips every position under the same key', () => {
    fc.assert(
      fc.property(position, (p) => {
        expect(decodeCursor(key, encodeCursor(key, p), 256)).toEqual(p);
      }),
    );
  });

  it('an altered cursor (any one character changed) throws InvalidArgument, never resumes elsewhere', () => {
    fc.assert(
      fc.property(position, fc.nat(), fc.constantFrom(...'0123456789aZ_-.'), (p, at, c) => {
        const cursor = encodeCursor(key, p);
        const i = at % cursor.length;
        fc.pre(cursor[i] !== c);
        const altered = cursor.slice(0, i) + c + cursor.slice(i + 1);
        expect(() => decodeCursor(key, altered, 256)).toThrow(InvalidArgument);
      }),
    );
  });

  it('a cursor signed under another key, a made-up one, or a non-string throws InvalidArgument', () => {
    const other = new Uint8Array(randomBytes(32));
    expect(() => decodeCursor(key, encodeCursor(other, { bucket: 3 }), 256)).toThrow(
      InvalidArgument,
    );
    for (const forged of [
      '',
      'r1.3',
      'r2.3',
      'r2.3.AAAAAAAAAAAAAAAA',
      '../x',
      7,
      null,
      {},
      ['r2.0'],
    ]) {
      expect(() => decodeCursor(key, forged, 256)).toThrow(InvalidArgument);
    }
    // Signed but out of range (a key that once signed a wider layout).
    expect(() => decodeCursor(key, encodeCursor(key, { bucket: 300 }), 256)).toThrow(
      InvalidArgument,
    );
  });
});
