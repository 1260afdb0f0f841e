// Random bytes that are unique but not secret: AES-GCM nonces (stored in the
// clear beside the ciphertext), JWT ids, refresh family ids. Internal.
//
// Each `randomFillSync` call costs ~2.5 µs here whatever its size (4 KiB
// takes ~4.7 µs), and a refresh needs five such values, so they are cut
// from one 4 KiB draw of the CSPRNG and every byte is handed out once.
// Secrets (tickets, keys) never come from here: bytes waiting in this buffer
// are future values, and only values that are public once used may wait.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let next = POOL_BYTES;

/** Fill `target` with fresh CSPRNG bytes, none handed out before. Returns `target`. */
export function fillPublicRandom<T extends Uint8Array>(target: T): T {
  const n = target.byteLength;
  if (n > POOL_BYTES / 4) return randomFillSync(target);
  if (next + n > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  target.set(pool.subarray(next, next + n));
  // Spent bytes are overwritten so a later memory read of the pool cannot
  // recover nonces or ids already in use.
  pool.fill(0, next, next + n);
  next += n;
  return target;
}

/** `n` fresh public random bytes as base64url. */
export function publicRandomId(n: number): string {
  return Buffer.from(fillPublicRandom(new Uint8Array(n))).toString('base64url');
}
