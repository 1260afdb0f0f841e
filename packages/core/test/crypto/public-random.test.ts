// The pool behind GCM nonces, JWT ids and family ids (SEC-11: a fresh random
// 96-bit nonce per seal).
import { describe, expect, it } from 'vitest';
import { fillPublicRandom, publicRandomId } from '../../src/crypto/random-pool';

describe('public random pool', () => {
  it('SEC-11 hands out every byte once: 20,000 nonces across several refills are distinct', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      seen.add(Buffer.from(fillPublicRandom(new Uint8Array(12))).toString('hex'));
    }
    expect(seen.size).toBe(20_000);
  });

  it('fills views in place, odd sizes included, and bypasses the pool for large requests', () => {
    const big = new Uint8Array(40);
    const view = fillPublicRandom(big.subarray(7, 19));
    expect(view.byteLength).toBe(12);
    expect([...big.subarray(0, 7), ...big.subarray(19)].every((b) => b === 0)).toBe(true);
    const large = fillPublicRandom(new Uint8Array(64 * 1024));
    expect(new Set(large).size).toBeGreaterThan(250); // random, not a zeroed pool
    for (const n of [1, 3, 17, 1023, 1024])
      expect(fillPublicRandom(new Uint8Array(n)).byteLength).toBe(n);
  });

  it('looks uniform: byte frequencies over 1 MiB stay near 1/256 (a stuck or zeroed pool fails)', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 65_536; i++)
      for (const b of fillPublicRandom(new Uint8Array(16))) counts[b] = (counts[b] ?? 0) + 1;
    const expected = (65_536 * 16) / 256;
    // Chi-square with 255 degrees of freedom: mean 255, sd ~22.6; 400 is > 6 sd out.
    const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(400);
  });

  it('ids are base64url of the requested length', () => {
    const id = publicRandomId(16);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(publicRandomId(16)).not.toBe(id);
  });
});
