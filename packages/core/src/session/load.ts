// Reading a session by ticket, shared by resolve, refresh and revoke. Internal.
import { DecryptionFailed, isCloakroomError } from '../errors';
import type { Auditing, SessionConfig, Sealing, Signing, Storage } from './context';
import type { LivePayload, SessionPayload, SessionSecrets } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import { type Ticket, parseTicket, sessionIdOf } from '../ticket/ticket';

/** What {@link load} answers: the parsed ticket, its session id, the record and its opened payload. */
export interface Loaded {
  readonly ticket: Ticket;
  readonly id: string;
  readonly record: SessionRecord;
  readonly payload: SessionPayload;
}

/**
 * Reads and opens the record behind a ticket. Returns the record and payload,
 * or `null` after emitting the rejection reason. Store errors propagate.
 */
export async function load(
  ctx: Storage & Sealing & Auditing,
  ticket: unknown,
  operation: 'resolve' | 'refresh' | 'revoke',
): Promise<Loaded | null> {
  const target = ticketTarget(ctx, ticket, operation);
  if (target === null) return null;
  return openLoaded(ctx, target, await ctx.store.get(target.id), operation);
}

/** {@link load}'s first step: the ticket parsed, or `null` after a `malformed` event. */
export function ticketTarget(
  ctx: Auditing,
  ticket: unknown,
  operation: 'resolve' | 'refresh' | 'revoke',
): { ticket: Ticket; id: string } | null {
  let parsed: Ticket;
  try {
    parsed = parseTicket(ticket);
  } catch {
    ctx.emit({ type: 'session.rejected', operation, reason: 'malformed' });
    return null;
  }
  return { ticket: parsed, id: sessionIdOf(parsed) };
}

/**
 * {@link load}'s last step, once the store answered: the record opened with
 * the ticket, or `null` after a `missing` or `tampered` event. Synchronous
 * when the storage key is in memory, else a promise; other errors propagate.
 */
export function openLoaded(
  ctx: Sealing & Auditing,
  target: { ticket: Ticket; id: string },
  record: SessionRecord | null,
  operation: 'resolve' | 'refresh' | 'revoke',
): Loaded | null | Promise<Loaded | null> {
  const { ticket, id } = target;
  if (record === null) {
    ctx.emit({ type: 'session.rejected', operation, reason: 'missing', sessionId: id });
    return null;
  }
  let opened: SessionPayload | Promise<SessionPayload>;
  try {
    if (record.id !== id) throw new DecryptionFailed('record id mismatch');
    // With the ticket: a ticket-bound record opens in one AEAD, secrets included.
    opened = ctx.openNow(record, ticket);
  } catch (error) {
    return rejectTampered(ctx, id, operation, error);
  }
  return opened instanceof Promise
    ? opened.then(
        (payload) => ({ ticket, id, record, payload }),
        (error: unknown) => rejectTampered(ctx, id, operation, error),
      )
    : { ticket, id, record, payload: opened };
}

// A record that does not open with its ticket: `null` after a `tampered` event; other errors propagate.
function rejectTampered(
  ctx: Auditing,
  id: string,
  operation: 'resolve' | 'refresh' | 'revoke',
  error: unknown,
): null {
  if (!isCloakroomError(error) || error.code !== 'ERR_DECRYPTION_FAILED') throw error;
  ctx.emit({ type: 'session.rejected', operation, reason: 'tampered', sessionId: id });
  return null;
}

/**
 * Expiry and key-state checks shared by resolve and refresh; emits and
 * answers false when dead. Synchronous when the key provider knows the
 * signing key from memory (its `snapshot()`), else a promise.
 */
export function isUsable(
  ctx: SessionConfig & Signing & Auditing,
  id: string,
  payload: LivePayload,
  now: number,
  operation: 'resolve' | 'refresh',
): boolean | Promise<boolean> {
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
  let answer: boolean | Promise<boolean>;
  if (payload.ext === undefined) {
    // A snapshot only ever confirms; "unknown" is for the async lookup to decide.
    if (ctx.keys.snapshot?.()?.verificationKey(payload.kid) !== undefined) return true;
    answer = ctx.keys.verificationKey(payload.kid).then((key) => key !== undefined);
  } else {
    const issuer = ctx.trustedIssuers.find((i) => i.issuer === payload.ext);
    if (issuer === undefined) answer = false;
    else if (issuer.keyUsable === undefined) answer = true;
    else {
      const usable = issuer.keyUsable(payload.kid);
      answer = usable instanceof Promise ? usable.then((u) => u === true) : usable === true;
    }
  }
  return answer instanceof Promise
    ? answer.then((usable) => keyVerdict(ctx, id, usable, operation))
    : keyVerdict(ctx, id, answer, operation);
}

function keyVerdict(
  ctx: Auditing,
  id: string,
  usable: boolean,
  operation: 'resolve' | 'refresh',
): boolean {
  if (!usable) {
    ctx.emit({ type: 'session.rejected', operation, reason: 'key-disabled', sessionId: id });
  }
  return usable;
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
