// The opaque scan cursor. A scan walks the buckets in order and, inside a
// bucket, its expiry index in (expiresAt, id) order; the cursor is the last
// position visited. It is signed (HMAC-SHA-256, cut to 96 bits) under a key
// kept in Redis next to the data and shared by every store instance on the
// prefix, so a cursor stays valid across processes and restarts (a rewrap
// resumes from it), while a made-up or altered one is refused instead of
// resuming somewhere else.
//
// Text: `r2.<bucket>.<tag>` (bucket start) or
// `r2.<bucket>.<expiresAt>.<base64url id>.<tag>`, tag over all before it.
import { createHmac } from 'node:crypto';
import { InvalidArgument, timingSafeEqual } from '@cloakroom/core';

/** Where a scan resumes: a bucket, and the last (score, id) visited in it. */
export interface ScanPosition {
  readonly bucket: number;
  readonly after?: { readonly score: string; readonly id: string };
}

const CURSOR = /^(r2\.(\d{1,3})(?:\.(-?\d{1,16})\.([A-Za-z0-9_-]{1,1100}))?)\.([A-Za-z0-9_-]{16})$/;

function tag(key: Uint8Array, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url').slice(0, 16);
}

/** The signed cursor that resumes at `position`. */
export function encodeCursor(key: Uint8Array, position: ScanPosition): string {
  const { bucket, after } = position;
  const body =
    after === undefined
      ? `r2.${bucket}`
      : `r2.${bucket}.${after.score}.${Buffer.from(after.id, 'utf8').toString('base64url')}`;
  return `${body}.${tag(key, body)}`;
}

/**
 * The position a cursor resumes at.
 * @throws InvalidArgument for anything a store on this prefix did not issue
 *   (not a string, malformed, altered, signed under another key, bucket out of range).
 */
export function decodeCursor(key: Uint8Array, cursor: unknown, buckets: number): ScanPosition {
  const match = typeof cursor === 'string' ? CURSOR.exec(cursor) : null;
  const refuse = () => new InvalidArgument('scan cursor is not one this store returned');
  if (match === null) throw refuse();
  const [, body, bucketText, score, id, given] = match as unknown as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
    string,
  ];
  if (!timingSafeEqual(tag(key, body), given)) throw refuse();
  const bucket = Number(bucketText);
  if (!(bucket < buckets)) throw refuse();
  if (score === undefined || id === undefined) return { bucket };
  return { bucket, after: { score, id: Buffer.from(id, 'base64url').toString('utf8') } };
}
