// Writing a new live session: sealing, the per-subject seat limit, the
// insert and its events. Shared by create and deposit. Internal.
import { liveExpiry, recordExpiry, type Auditing, type Sealing, type Storage } from './context';
import type { LivePayload } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import type { Ticket } from '../ticket/ticket';

/** Seal a new live session, insert it, and announce it. */
export async function insertSession(
  ctx: Storage & Sealing & Auditing,
  ticket: Ticket,
  id: string,
  subjectIndex: string,
  payload: LivePayload,
): Promise<{ ticket: string; sessionId: string; expiresAt: number; absoluteExpiresAt: number }> {
  const record: SessionRecord = {
    id,
    subject: subjectIndex,
    expiresAt: recordExpiry(payload),
    version: 1,
    payload: await ctx.seal(id, subjectIndex, payload),
  };
  await ctx.store.insert(record);
  ctx.emit({ type: 'session.created', sessionId: id, subjectIndex, family: payload.fam });
  return { ticket, sessionId: id, expiresAt: liveExpiry(payload), absoluteExpiresAt: payload.abs };
}
