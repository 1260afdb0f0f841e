// The one canonical-base64url check used by the JWS pre-parse and the claim
// JWE parser: it must accept exactly the spelling Node itself would write.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalBase64Url, isPlainObject } from '../../src/lib/encoding';

describe('isCanonicalBase64Url', () => {
  it('SEC-24 property: a base64url string is canonical iff re-encoding its bytes gives it back', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{0,12}$/), (text) => {
        const roundTrip = Buffer.from(text, 'base64url').toString('base64url');
        expect(isCanonicalBase64Url(text)).toBe(roundTrip === text);
      }),
      { numRuns: 2000 },
    );
  });

  it('SEC-24 rejects the twin spellings of one byte and a length of 1 mod 4', () => {
    expect(isCanonicalBase64Url('AA')).toBe(true);
    expect(isCanonicalBase64Url('AB')).toBe(false);
    expect(isCanonicalBase64Url('AAA')).toBe(true);
    expect(isCanonicalBase64Url('AAB')).toBe(false);
    expect(isCanonicalBase64Url('AAAAA')).toBe(false);
    expect(isCanonicalBase64Url('')).toBe(true);
  });
});

describe('isPlainObject', () => {
  it('accepts object literals and null-prototype objects only', () => {
    expect(isPlainObject({ a: 1 })).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    for (const v of [null, [], new Map(), new Date(0), 'x', 1, Object.create({})]) {
      expect(isPlainObject(v)).toBe(false);
    }
  });
});
