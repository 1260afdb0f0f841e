import { InvalidArgument } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../src/scan-cursor';

// An internal module, tested directly (unit, no network); scan itself is
// covered through the package in test/integration and the conformance suite.

describe('scan cursor', () => {
  it('round-trips every id PostgreSQL can store', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (id) => {
        fc.pre(!id.includes('\0'));
        expect(decodeCursor(encodeCursor(id))).toBe(id);
      }),
    );
  });

  it('rejects anything it did not issue with InvalidArgument', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        let decoded: string | undefined;
        try {
          decoded = decodeCursor(junk);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgument);
          return;
        }
        // Accepted only when it is exactly what encodeCursor would have produced.
        expect(encodeCursor(decoded)).toBe(junk);
      }),
    );
    expect(() => decodeCursor(`pg1.${Buffer.from([0xff, 0xfe]).toString('base64url')}`)).toThrow(
      InvalidArgument,
    );
    expect(() => decodeCursor(`pg1.${Buffer.from('a\0').toString('base64url')}`)).toThrow(
      InvalidArgument,
    );
  });
});
