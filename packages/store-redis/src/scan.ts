import {
  InvalidArgument,
  StoreDataInvalid,
  type ScanPage,
  type SessionRecord,
} from '@cloakroom/core';
import { BUCKETS } from './key-layout';
import { type StoreContext, pairsToRecords } from './records';
import { SCRIPTS } from './scripts';

// A scan walks the buckets in order and, inside a bucket, its expiry index
// in (expiresAt, id) order. The cursor is the last position visited, so a
// record that stays live and unchanged is returned exactly once, whatever
// else happens to the bucket. Cursor text: `r1.<bucket>` (bucket start) or
// `r1.<bucket>.<expiresAt>.<base64url id>`.

interface Position {
  readonly bucket: number;
  readonly after?: { readonly score: string; readonly id: string };
}

const CURSOR = /^r1\.(\d{1,3})(?:\.(-?\d{1,16})\.([A-Za-z0-9_-]{1,1100}))?$/;
// Round trips one page may spend on a cluster (one bucket each); a page may
// hold fewer records than asked, even none, before the end.
const CLUSTER_CALLS_PER_PAGE = 16;

function decodeCursor(cursor: unknown): Position {
  const match = typeof cursor === 'string' ? CURSOR.exec(cursor) : null;
  const bucket = match === null ? Number.NaN : Number(match[1]);
  if (match === null || !(bucket < BUCKETS)) {
    throw new InvalidArgument('scan cursor is not one this store returned');
  }
  if (match[2] === undefined || match[3] === undefined) return { bucket };
  return {
    bucket,
    after: { score: match[2], id: Buffer.from(match[3], 'base64url').toString('utf8') },
  };
}

function encodeCursor(position: Position): string {
  const { bucket, after } = position;
  if (after === undefined) return `r1.${bucket}`;
  return `r1.${bucket}.${after.score}.${Buffer.from(after.id, 'utf8').toString('base64url')}`;
}

/** One page of records, see the contract of `SessionStore.scan`. */
export async function scanPage(
  ctx: StoreContext,
  cursor: string | undefined,
  limit: number,
): Promise<ScanPage> {
  const { conn, keys } = ctx;
  let position = cursor === undefined ? { bucket: 0 } : decodeCursor(cursor);
  return conn.run(async () => {
    const records: SessionRecord[] = [];
    for (let calls = 0; position.bucket < BUCKETS && records.length < limit; calls++) {
      if (conn.isCluster && calls === CLUSTER_CALLS_PER_PAGE) break;
      // A standalone server takes every remaining bucket in one script.
      const last = conn.isCluster ? position.bucket + 1 : BUCKETS;
      const indexKeys: string[] = [];
      for (let b = position.bucket; b < last; b++) indexKeys.push(keys.allIndexKey(b));
      const reply = await conn.script(SCRIPTS.scan, indexKeys, [
        String(conn.now()),
        String(limit - records.length),
        position.after?.score ?? '',
        position.after?.id ?? '',
      ]);
      if (!Array.isArray(reply) || reply.length < 4) {
        throw new StoreDataInvalid('redis store: unexpected scan reply');
      }
      const [bad, finished, score, id] = reply as [unknown, unknown, unknown, unknown];
      if (bad !== 0) {
        throw new StoreDataInvalid('redis store: a record value under the prefix is malformed');
      }
      records.push(...pairsToRecords(reply, 4, conn.now()));
      const bucket = position.bucket + Number(finished);
      position =
        Buffer.isBuffer(score) && score.length > 0 && Buffer.isBuffer(id)
          ? { bucket, after: { score: String(Number(score.toString())), id: id.toString('utf8') } }
          : { bucket };
    }
    return position.bucket >= BUCKETS ? { records } : { records, cursor: encodeCursor(position) };
  });
}
