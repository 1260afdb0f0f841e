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

// On a cluster every bucket is its own slot, so one script reads one bucket.
// A page reads buckets in rounds of 1, 2, 4... (up to 16) scripts sent at
// once, each asked for what the page still lacks: a dense bucket fills the
// page in one round trip with nothing read in vain, and a sparse stretch is
// crossed 16 buckets per round trip instead of one (a full scan of a small
// store: about 20 round trips instead of 256). At most ROUNDS_PER_PAGE
// rounds, so a page may hold fewer records than asked, even none, before
// the end.
const MAX_FAN_OUT = 16;
const ROUNDS_PER_PAGE = 6;

/** One SCAN reply, checked. */
function scanReply(reply: unknown): {
  finished: boolean;
  last: { score: string; id: string } | undefined;
  items: unknown[];
} {
  if (!Array.isArray(reply) || reply.length < 4) throw malformed('unexpected scan reply');
  const [bad, finished, score, id] = reply as [unknown, unknown, unknown, unknown];
  if (bad !== 0) throw malformed();
  const last =
    Buffer.isBuffer(score) && score.length > 0 && Buffer.isBuffer(id)
      ? { score: String(Number(score.toString())), id: id.toString('utf8') }
      : undefined;
  return { finished: Number(finished) > 0, last, items: reply };
}

/** Up to `limit` live records from `from`, and where the next page starts (undefined at the end). */
export async function scanPage(
  ctx: StoreContext,
  op: Op,
  from: ScanPosition,
  limit: number,
): Promise<{ records: SessionRecord[]; next: ScanPosition | undefined }> {
  const { conn, keys } = ctx;
  const args = (position: ScanPosition, want: number): string[] => [
    String(conn.now()),
    String(want),
    position.after?.score ?? '',
    position.after?.id ?? '',
  ];

  if (!conn.isCluster) {
    // A standalone server takes every remaining bucket in one script.
    const indexKeys: string[] = [];
    for (let b = from.bucket; b < BUCKETS; b++) indexKeys.push(keys.allIndexKey(b));
    const reply = scanReply(await op.script(SCRIPTS.scan, indexKeys, args(from, limit)));
    const records = pairsToRecords(reply.items, 4, conn.now());
    const bucket = from.bucket + Number((reply.items as unknown[])[1]);
    const next: ScanPosition =
      reply.last === undefined ? { bucket } : { bucket, after: reply.last };
    return { records, next: next.bucket >= BUCKETS ? undefined : next };
  }

  const records: SessionRecord[] = [];
  let position = from;
  let fanOut = 1;
  for (let round = 0; round < ROUNDS_PER_PAGE; round++) {
    if (position.bucket >= BUCKETS || records.length >= limit) break;
    const want = limit - records.length;
    const buckets: number[] = [];
    for (let b = position.bucket; b < Math.min(BUCKETS, position.bucket + fanOut); b++) {
      buckets.push(b);
    }
    const start = position;
    const replies = await Promise.all(
      buckets.map((b, i) =>
        op.script(SCRIPTS.scan, [keys.allIndexKey(b)], args(i === 0 ? start : { bucket: b }, want)),
      ),
    );
    const now = conn.now();
    let stopped = false;
    for (let i = 0; i < buckets.length && !stopped; i++) {
      const b = buckets[i] as number;
      const reply = scanReply(replies[i]);
      const got = pairsToRecords(reply.items, 4, now);
      const room = limit - records.length;
      if (got.length > room) {
        // Over-read in this round: keep what fits, resume right after it
        // (a record's index score is its expiresAt).
        const kept = got.slice(0, room);
        records.push(...kept);
        const lastKept = kept[kept.length - 1];
        position =
          lastKept === undefined
            ? { bucket: b, ...(i === 0 && start.after ? { after: start.after } : {}) }
            : { bucket: b, after: { score: String(lastKept.expiresAt), id: lastKept.id } };
        stopped = true;
      } else {
        records.push(...got);
        if (reply.finished) {
          position = { bucket: b + 1 };
        } else {
          // The bucket has more: resume where its script stopped.
          position = reply.last === undefined ? { bucket: b } : { bucket: b, after: reply.last };
          stopped = true;
        }
      }
    }
    fanOut = Math.min(MAX_FAN_OUT, fanOut * 2);
  }
  return { records, next: position.bucket >= BUCKETS ? undefined : position };
}
