// Recovery of a cross-slot rotate a process did not finish (see rotate.ts):
// a reader that meets a pending successor finishes the rotate itself when
// the rotate passed its commit point.
import type { SessionRecord } from '@cloakroom/core';
import { decodeOrThrow, liveRecord } from '../codec';
import type { Connection, Op } from './connection';
import { bucketOf, type KeyLayout } from './key-layout';
import { SCRIPTS } from './scripts';

/** What the store's operations share. */
export interface StoreContext {
  readonly conn: Connection;
  readonly keys: KeyLayout;
}

/**
 * A pending successor (a cross-slot rotate that has not finished its last
 * step): live if and only if its rotate recorded a decision. A reader that
 * finds the decision finishes the rotate, so a crash between the commit
 * point and the last step loses nothing.
 */
export async function settlePending(
  ctx: StoreContext,
  op: Op,
  id: string,
  pending: { readonly tx: string; readonly oldId: string },
): Promise<SessionRecord | null> {
  const { conn, keys } = ctx;
  const decision = await op.get(`${keys.bucketBase(bucketOf(pending.oldId))}tx:${pending.tx}`);
  if (decision === null) return null;
  const base = keys.bucketBase(bucketOf(id));
  const live = await op.script(
    SCRIPTS.promote,
    [keys.recordKey(id)],
    [String(conn.now()), pending.tx, id, base],
  );
  // PROMOTE also answers a value that is already live (promoted since we read it).
  if (!Buffer.isBuffer(live)) return null;
  return liveRecord(id, decodeOrThrow(live), conn.now());
}
