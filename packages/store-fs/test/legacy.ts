import { hash } from 'node:crypto';
import type { SessionRecord } from '@cloakroom/core';

/**
 * A record file exactly as versions before subject limits wrote it (format
 * 1, no seat field), built by hand from the layout documented in codec.ts so
 * the tests do not depend on the current encoder.
 */
export function encodeFormat1(
  record: SessionRecord,
  link?: { readonly kind: 'pending' | 'successor'; readonly id: string },
): Uint8Array {
  const n = record.payload.byteLength;
  const buf = Buffer.alloc(155 + n + 32);
  buf.writeUInt32BE(0x43524653, 0);
  buf.writeUInt8(1, 4);
  buf.writeUInt8(link === undefined ? 0 : link.kind === 'pending' ? 1 : 2, 5);
  buf.write(record.id, 6, 43, 'latin1');
  buf.write(record.subject, 49, 43, 'latin1');
  if (link !== undefined) buf.write(link.id, 92, 43, 'latin1');
  buf.writeDoubleBE(record.expiresAt, 135);
  buf.writeDoubleBE(record.version, 143);
  buf.writeUInt32BE(n, 151);
  buf.set(record.payload, 155);
  hash('sha256', buf.subarray(0, 155 + n), 'buffer').copy(buf, 155 + n);
  return new Uint8Array(buf);
}
