// Reading a session by ticket, shared by resolve, refresh and revoke. Internal.
import { DecryptionFailed, isCloakroomError } from './errors';
import type { SessionContext } from './session-context';
import type { LivePayload, SessionPayload } from './session-payload';
import type { SessionRecord } from './store-contract';
import { parseTicket, sessionIdOf } from './ticket';

/**
 * Reads and opens the record behind a ticket. Returns the record and payload,
 * or `null` after emitting the rejection reason. Store errors propagate.
 */
export async function load(
  ctx: SessionContext,
  ticket: unknown,
  operation: 'resolve' | 'refresh' | 'revoke',
): Promise<{ id: string; record: SessionRecord; payload: SessionPayload } | null> {
  let id: string;
  try {
    id = sessionIdOf(parseTicket(ticket));
  } catch {
    ctx.emit({ type: 'session.rejected', operation, reason: 'malformed' });
    return null;
  }
  const record = await ctx.store.get(id);
  if (record === null) {
    ctx.emit({ type: 'session.rejected', operation, reason: 'missing', sessionId: id });
    return null;
  }
  let payload: SessionPayload;
  try {
    if (record.id !== id) throw new DecryptionFailed('record id mismatch');
    payload = await ctx.open(record);
  } catch (error) {
    if (!isCloakroomError(error) || error.code !== 'ERR_DECRYPTION_FAILED') throw error;
    ctx.emit({ type: 'session.rejected', operation, reason: 'tampered', sessionId: id });
    return null;
  }
  return { id, record, payload };
}

/** Expiry and key-state checks shared by resolve and refresh; emits and returns false when dead. */
export async function isUsable(
  ctx: SessionContext,
  id: string,
  payload: LivePayload,
  now: number,
  operation: 'resolve' | 'refresh',
): Promise<boolean> {
  if (now >= payload.abs || now >= payload.idle) {
    ctx.emit({ type: 'session.rejected', operation, reason: 'expired', sessionId: id });
    return false;
  }
  // Our own tokens: a disabled signing key kills its sessions at once (SEC-19).
  // Deposited tokens were verified against their issuer on intake.
  if (payload.ext === undefined && (await ctx.keys.verificationKey(payload.kid)) === undefined) {
    ctx.emit({ type: 'session.rejected', operation, reason: 'key-disabled', sessionId: id });
    return false;
  }
  return true;
}
