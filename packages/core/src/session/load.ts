// Reading a session by ticket, shared by resolve, refresh and revoke. Internal.
import { DecryptionFailed, isCloakroomError } from '../errors';
import type { Auditing, SessionConfig, Sealing, Signing, Storage } from './context';
import type { LivePayload, SessionPayload, SessionSecrets } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import { type Ticket, parseTicket, sessionIdOf } from '../ticket/ticket';

/**
 * Reads and opens the record behind a ticket. Returns the record and payload,
 * or `null` after emitting the rejection reason. Store errors propagate.
 */
export async function load(
  ctx: Storage & Sealing & Auditing,
  ticket: unknown,
  operation: 'resolve' | 'refresh' | 'revoke',
): Promise<{ ticket: Ticket; id: string; record: SessionRecord; payload: SessionPayload } | null> {
  let parsed: Ticket;
  try {
    parsed = parseTicket(ticket);
  } catch {
    ctx.emit({ type: 'session.rejected', operation, reason: 'malformed' });
    return null;
  }
  const id = sessionIdOf(parsed);
  const record = await ctx.store.get(id);
  if (record === null) {
    ctx.emit({ type: 'session.rejected', operation, reason: 'missing', sessionId: id });
    return null;
  }
  let payload: SessionPayload;
  try {
    if (record.id !== id) throw new DecryptionFailed('record id mismatch');
    // With the ticket: a ticket-bound record opens in one AEAD, secrets included.
    payload = await ctx.open(record, parsed);
  } catch (error) {
    if (!isCloakroomError(error) || error.code !== 'ERR_DECRYPTION_FAILED') throw error;
    ctx.emit({ type: 'session.rejected', operation, reason: 'tampered', sessionId: id });
    return null;
  }
  return { ticket: parsed, id, record, payload };
}

/** Expiry and key-state checks shared by resolve and refresh; emits and returns false when dead. */
export async function isUsable(
  ctx: SessionConfig & Signing & Auditing,
  id: string,
  payload: LivePayload,
  now: number,
  operation: 'resolve' | 'refresh',
): Promise<boolean> {
  if (now >= payload.abs || now >= payload.idle) {
    ctx.emit({
      type: 'session.rejected',
      operation,
      reason: 'expired',
      sessionId: id,
      expiry: now >= payload.abs ? 'absolute' : 'idle',
    });
    return false;
  }
  // A disabled signing key kills its sessions at once (SEC-19): our own keys
  // through the key provider; a deposited token's key through its issuer,
  // and every session of an issuer that is no longer trusted (SEC-31).
  // Inline rather than a helper: one async frame less on every resolve.
  let usable: boolean;
  if (payload.ext === undefined) {
    usable = (await ctx.keys.verificationKey(payload.kid)) !== undefined;
  } else {
    const issuer = ctx.trustedIssuers.find((i) => i.issuer === payload.ext);
    if (issuer === undefined) usable = false;
    else if (issuer.keyUsable === undefined) usable = true;
    else {
      const answer = issuer.keyUsable(payload.kid);
      usable = (answer instanceof Promise ? await answer : answer) === true;
    }
  }
  if (!usable) {
    ctx.emit({ type: 'session.rejected', operation, reason: 'key-disabled', sessionId: id });
    return false;
  }
  return true;
}

/**
 * A deposited session's provider access token past its `exp` (SEC-31): the
 * session outlives it only when a refresh token was deposited to renew it
 * (the app refreshes upstream and calls `replaceTokens`). Without one there
 * is nothing left to vouch for the user: `true` means reject.
 */
export function depositedTokenDead(
  ctx: SessionConfig,
  payload: LivePayload,
  secrets: SessionSecrets,
  now: number,
): boolean {
  return (
    payload.ext !== undefined &&
    secrets.refreshToken === undefined &&
    now >= payload.tokenExp + ctx.clockToleranceSec * 1000
  );
}

/**
 * The secrets of a live payload, opened with the ticket; `null` (after a
 * `tampered` event) when they do not open. Other errors propagate.
 */
export function secretsOrReject(
  ctx: Sealing & Auditing,
  ticket: Ticket,
  id: string,
  payload: LivePayload,
  operation: 'resolve' | 'refresh',
): SessionSecrets | null {
  try {
    return ctx.openSecrets(ticket, id, payload);
  } catch (error) {
    if (!isCloakroomError(error) || error.code !== 'ERR_DECRYPTION_FAILED') throw error;
    ctx.emit({ type: 'session.rejected', operation, reason: 'tampered', sessionId: id });
    return null;
  }
}
