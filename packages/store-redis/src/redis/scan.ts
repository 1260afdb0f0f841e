// One page of a scan: walk the buckets from a position (see scan-cursor.ts
// for the position and why it gives exactly-once).
import type { SessionRecord } from '@cloakroom/core';
import { pairsToRecords } from '../codec';
import { malformed } from '../errors';
import type { ScanPosition } from '../scan-cursor';
import type { Op } from './connection';
import { BUCKETS } from './key-layout';
import type { StoreContext } from './rotate-recovery';
import { SCRIPTS } from './scripts';

// Round trips one page may spend on a cluster (one bucket each); a page may
// hold fewer records than asked, even none, before the end.
const CLUSTER_CALLS_PER_PAGE = 16;

/** Up to `limit` live records from `from`, and where the next page starts (undefined at the end). */
export async function scanPage(
  ctx: StoreContext,
  op: Op,
  from: ScanPosition,
  limit: number,
): Promise<{ records: SessionRecord[]; next: ScanPosition | undefined }> {
  const { conn, keys } = ctx;
  let position = from;
  const records: SessionRecord[] = [];
  for (let calls = 0; position.bucket < BUCKETS && records.length < limit; calls++) {
    if (conn.isCluster && calls === CLUSTER_CALLS_PER_PAGE) break;
    // A standalone server takes every remaining bucket in one script.
    const last = conn.isCluster ? position.bucket + 1 : BUCKETS;
    const indexKeys: string[] = [];
    for (let b = position.bucket; b < last; b++) indexKeys.push(keys.allIndexKey(b));
    const reply = await op.script(SCRIPTS.scan, indexKeys, [
      String(conn.now()),
      String(limit - records.length),
      position.after?.score ?? '',
      position.after?.id ?? '',
    ]);
    if (!Array.isArray(reply) || reply.length < 4) throw malformed('unexpected scan reply');
    const [bad, finished, score, id] = reply as [unknown, unknown, unknown, unknown];
    if (bad !== 0) throw malformed();
    records.push(...pairsToRecords(reply, 4, conn.now()));
    const bucket = position.bucket + Number(finished);
    position =
      Buffer.isBuffer(score) && score.length > 0 && Buffer.isBuffer(id)
        ? { bucket, after: { score: String(Number(score.toString())), id: id.toString('utf8') } }
        : { bucket };
  }
  return { records, next: position.bucket >= BUCKETS ? undefined : position };
}
