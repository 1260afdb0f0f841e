// Writing a new live session: sealing, the per-subject seat limit, the
// insert and its events. Shared by create and deposit. Internal.
import { SessionLimitReached } from '../errors';
import type { LivePayload } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import type { Ticket } from '../ticket/ticket';
import { type Auditing, type Sealing, type Storage, liveExpiry, recordExpiry } from './context';

/**
 * Seal a new live session, insert it (under `sessionLimit`, when set), and
 * announce it. Sessions evicted to make room are dropped from this process's
 * near cache at once (other processes hear of it through the store's channel:
 * the store deleted them) and each gets a `session.evicted` event.
 * @throws SessionLimitReached when the subject is full and the limit refuses.
 */
export async function insertSession(
  ctx: Storage & Sealing & Auditing,
  ticket: Ticket,
  id: string,
  subjectIndex: string,
  payload: LivePayload,
): Promise<{ ticket: string; sessionId: string; expiresAt: number; absoluteExpiresAt: number }> {
  // Sealed without an await when the primary storage key is in memory.
  const sealed = ctx.sealNow(id, subjectIndex, payload);
  const record: SessionRecord = {
    id,
    subject: subjectIndex,
    expiresAt: recordExpiry(payload),
    version: 1,
    payload: sealed instanceof Promise ? await sealed : sealed,
  };
  const limit = ctx.sessionLimit;
  if (limit === undefined) {
    await ctx.store.insert(record);
  } else {
    // Checked at construction; a store swapped behind the manager's back is a bug, not a bypass.
    const insertWithLimit = ctx.store.insertWithLimit;
    if (insertWithLimit === undefined) throw new TypeError('store lost insertWithLimit');
    let outcome: Awaited<ReturnType<typeof insertWithLimit>>;
    try {
      outcome = await insertWithLimit.call(ctx.store, record, limit);
    } catch (error) {
      // Whatever the store did before failing, no evicted session may linger here.
      ctx.nearCache?.invalidateGroup(subjectIndex);
      throw error;
    }
    if (!outcome.inserted) {
      ctx.emit({ type: 'session.limit_reached', subjectIndex, max: limit.max });
      throw new SessionLimitReached(
        `this subject already has ${limit.max} session(s), the most sessionLimit allows`,
      );
    }
    for (const evicted of outcome.evicted) ctx.nearCache?.invalidate(evicted);
    for (const evicted of outcome.evicted) {
      ctx.emit({ type: 'session.evicted', sessionId: evicted, subjectIndex, bySessionId: id });
    }
  }
  ctx.emit({ type: 'session.created', sessionId: id, subjectIndex, family: payload.fam });
  return { ticket, sessionId: id, expiresAt: liveExpiry(payload), absoluteExpiresAt: payload.abs };
}
