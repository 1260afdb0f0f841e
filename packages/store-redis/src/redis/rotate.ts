import { randomBytes } from 'node:crypto';
import { StoreConflict, type SessionRecord } from '@cloakroom/core';
import { decodeOrThrow, encodePending, encodeRecord } from '../codec';
import type { Op } from './connection';
import { bucketOf } from './key-layout';
import type { StoreContext } from './rotate-recovery';
import { SCRIPTS } from './scripts';

// How long a cross-slot rotate's reservation and decision survive a crash
// of the process running it: long enough for a client that retries its
// refresh within the grace window to find the successor.
const PENDING_TTL_MS = 5 * 60_000;
const DECISION_TTL_MS = PENDING_TTL_MS + 60_000;

function conflict(): StoreConflict {
  return new StoreConflict('a live record with the next id already exists');
}

/**
 * Rotate: CAS the old record and insert the next one, atomically.
 *
 * On a standalone server, or when both ids fall in one bucket, one script
 * does everything. Across cluster slots no script can, so it is a two-phase
 * commit whose commit point is the CAS on the old record:
 * 1. reserve the next id with a pending value (invisible to readers);
 * 2. CAS the old record and, in the same script, record the decision;
 * 3. turn the pending value live (or remove it when the CAS failed).
 * A reader meeting a pending value whose decision exists finishes step 3
 * (rotate-recovery.ts). Runs inside the caller's operation `op`.
 */
export async function rotate(
  ctx: StoreContext,
  op: Op,
  old: SessionRecord,
  expectedVersion: number,
  next: SessionRecord,
): Promise<boolean> {
  const { conn, keys } = ctx;
  const oldBucket = bucketOf(old.id);
  const nextBucket = bucketOf(next.id);
  const oldKey = keys.recordKey(old.id);
  const nextKey = keys.recordKey(next.id);
  const oldArgs = [
    old.id,
    keys.bucketBase(oldBucket),
    old.subject,
    String(old.expiresAt),
    encodeRecord(old),
  ];

  if (!conn.isCluster || oldBucket === nextBucket) {
    const result = await op.script(
      SCRIPTS.rotate,
      [oldKey, nextKey],
      [
        String(conn.now()),
        String(expectedVersion),
        ...oldArgs,
        next.id,
        keys.bucketBase(nextBucket),
        next.subject,
        String(next.expiresAt),
        encodeRecord(next),
      ],
    );
    if (result === 2) throw conflict();
    return result === 1;
  }

  const tx = randomBytes(12).toString('base64url');
  const nextBase = keys.bucketBase(nextBucket);
  const reserved = await op.script(
    SCRIPTS.prepare,
    [nextKey],
    [
      String(conn.now()),
      next.id,
      nextBase,
      next.subject,
      encodePending(next, tx, old.id),
      String(PENDING_TTL_MS),
    ],
  );
  if (reserved !== 1) {
    // Same precedence as the one-script path: a failed version check
    // answers false before an occupied next id throws.
    const current = await op.getBuffer(oldKey);
    const stored = current === null ? undefined : decodeOrThrow(current);
    const live =
      stored !== undefined &&
      stored.pending === undefined &&
      stored.expiresAt > conn.now() &&
      stored.version === expectedVersion;
    if (!live) return false;
    throw conflict();
  }
  // Timed out already: stop before the commit point; the reservation expires.
  if (op.expired()) return false;
  const decided = await op.script(
    SCRIPTS.decide,
    [oldKey],
    [String(conn.now()), String(expectedVersion), ...oldArgs, tx, String(DECISION_TTL_MS)],
  );
  if (decided !== 1) {
    // The answer is decided (false); a failed clean-up only leaves an
    // invisible reservation that expires on its own.
    await op.script(SCRIPTS.abort, [nextKey], [tx, next.id, nextBase]).catch(() => {});
    return false;
  }
  await op.script(SCRIPTS.promote, [nextKey], [String(conn.now()), tx, next.id, nextBase]);
  return true;
}
