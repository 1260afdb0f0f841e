import { InvalidArgument } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../src/scan-cursor';

// An internal module, tested directly (unit, no network); scan itself is
// covered through the package in test/integration and the conformance suite.

describe('scan cursor', () => {
  it('round-trips every non-empty id PostgreSQL can store', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (id) => {
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
    for (const wrongType of [undefined, null, 5, {}, ['pg2.']]) {
      expect(() => decodeCursor(wrongType)).toThrow(InvalidArgument);
    }
  });

  it('rejects a cursor altered in any one character (no silent resume elsewhere)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        fc.nat(),
        fc.constantFrom(...'abcXYZ019_-.'),
        (id, position, replacement) => {
          const cursor = encodeCursor(id);
          const at = position % cursor.length;
          fc.pre(cursor[at] !== replacement);
          const altered = cursor.slice(0, at) + replacement + cursor.slice(at + 1);
          expect(() => decodeCursor(altered)).toThrow(InvalidArgument);
        },
      ),
    );
  });

  it('rejects a cursor of no id (which would restart the scan) and of ids PostgreSQL cannot hold', () => {
    expect(() => decodeCursor(encodeCursor(''))).toThrow(InvalidArgument);
    expect(() => decodeCursor(encodeCursor('a\0'))).toThrow(InvalidArgument);
  });
});
