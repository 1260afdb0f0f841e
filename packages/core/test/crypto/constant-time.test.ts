import { timingSafeEqual } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('SEC-04 timingSafeEqual', () => {
  it('SEC-04 equal inputs are equal, bytes or strings', () => {
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('abc', new TextEncoder().encode('abc'))).toBe(true);
    expect(timingSafeEqual('', '')).toBe(true);
    expect(timingSafeEqual(new Uint8Array(0), '')).toBe(true);
  });

  it('SEC-04 a difference in any position is detected', () => {
    const a = new Uint8Array(64).fill(7);
    for (let i = 0; i < a.length; i++) {
      const b = a.slice();
      b[i] = 8;
      expect(timingSafeEqual(a, b)).toBe(false);
    }
    expect(timingSafeEqual('zoë', 'zoe')).toBe(false);
  });

  it('SEC-04 unequal lengths return false and never throw', () => {
    expect(timingSafeEqual('abc', 'abcd')).toBe(false);
    expect(timingSafeEqual(new Uint8Array(0), new Uint8Array(1))).toBe(false);
    expect(timingSafeEqual('a'.repeat(1_000_000), 'a')).toBe(false);
    // Same UTF-16 length, different UTF-8 length.
    expect(timingSafeEqual('é', 'e')).toBe(false);
  });

  it('SEC-04 works on views into larger buffers (byteOffset respected)', () => {
    const big = new Uint8Array([9, 9, 1, 2, 3, 9]);
    expect(timingSafeEqual(big.subarray(2, 5), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqual(big.subarray(1, 4), new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it('SEC-04 property: agrees with plain equality and never throws', () => {
    const input = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 40 }));
    const bytes = (v: Uint8Array | string) =>
      typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
    fc.assert(
      fc.property(input, input, (a, b) => {
        expect(timingSafeEqual(a, b)).toBe(bytes(a).equals(bytes(b)));
        expect(timingSafeEqual(a, a)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
