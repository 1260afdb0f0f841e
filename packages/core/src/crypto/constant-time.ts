import { timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';
import { utf8 } from '../lib/encoding';

/**
 * Compare two secrets in constant time (SEC-04). Strings are compared as
 * their UTF-8 bytes. For inputs of equal length the time does not depend on
 * where they differ; inputs of unequal length return `false` at once (the
 * length of a secret is not treated as secret) and never throw.
 *
 * @example
 * ```ts
 * if (!timingSafeEqual(presentedMac, expectedMac)) throw new AccessDenied('bad mac');
 * ```
 */
export function timingSafeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const x = typeof a === 'string' ? utf8(a) : a;
  const y = typeof b === 'string' ? utf8(b) : b;
  if (x.byteLength !== y.byteLength) return false;
  return nodeTimingSafeEqual(x, y);
}
