import { InvalidArgument } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../src/scan-cursor';

// An internal module, tested directly; scan itself is covered through the
// package in session-store.test.ts and the conformance suite.

const id = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);

describe('scan cursor', () => {
  it('round-trips every id', () => {
    fc.assert(
      fc.property(id, (i) => {
        expect(decodeCursor(encodeCursor(i))).toBe(i);
      }),
    );
  });

  it('rejects anything encodeCursor did not produce with InvalidArgument', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        let decoded: string | undefined;
        try {
          decoded = decodeCursor(junk);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgument);
          return;
        }
        expect(encodeCursor(decoded)).toBe(junk);
      }),
    );
    for (const wrongType of [undefined, null, 5, {}, ['sq1.']]) {
      expect(() => decodeCursor(wrongType)).toThrow(InvalidArgument);
    }
  });

  it('rejects a cursor altered in any one character', () => {
    fc.assert(
      fc.property(id, fc.nat(), fc.constantFrom(...'aZ09_-.'), (i, position, replacement) => {
        const cursor = encodeCursor(i);
        const at = position % cursor.length;
        fc.pre(cursor[at] !== replacement);
        const altered = cursor.slice(0, at) + replacement + cursor.slice(at + 1);
        expect(() => decodeCursor(altered)).toThrow(InvalidArgument);
      }),
    );
  });
});
