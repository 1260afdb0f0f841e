// Ticket rotation (refresh) and refresh-token reuse detection (SEC-06).
import { fromUtf8, toBase64Url, fromBase64Url, utf8 } from '../lib/encoding';
import { InvalidArgument, isCloakroomError } from '../errors';
import { isUsable, load, secretsOrReject } from './load';
import { type SessionContext, liveExpiry, recordExpiry } from './context';
import type { LivePayload, SessionSecrets, TombPayload } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import { openUnderParsedTicket, sealUnderParsedTicket } from '../crypto/ticket-seal';
import { successorAad } from '../crypto/format';
import { type Ticket, generateTicketAndKey, sessionIdOf } from '../ticket/ticket';

/** What `refresh` returns. */
export interface RefreshResult {
  /** The new ticket; the old one is dead (bar the grace window for racing refreshes). */
  readonly ticket: string;
  readonly sessionId: string;
  readonly expiresAt: number;
}

/** How far a family chain is followed before giving up (a chain is one link per refresh). */
const MAX_CHAIN = 10_000;
/** Attempts when a concurrent writer changes the record between read and rotate. */
const MAX_ATTEMPTS = 4;

export async function refreshSession(
  ctx: SessionContext,
  ticket: unknown,
  claims: Record<string, unknown> | undefined,
): Promise<RefreshResult | null> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const loaded = await load(ctx, ticket, 'refresh');
    if (loaded === null) return null;
    const { id, record, payload } = loaded;
    const now = ctx.now();
    if (payload.k === 'tomb') return replaySuccessor(ctx, loaded.ticket, id, record, payload, now);
    if (!(await isUsable(ctx, id, payload, now, 'refresh'))) return null;

    const secrets = secretsOrReject(ctx, loaded.ticket, id, payload, 'refresh');
    if (secrets === null) return null;
    const { ticket: nextTicket, dataKey } = generateTicketAndKey();
    const nextId = sessionIdOf(nextTicket);
    let nextSecrets: SessionSecrets;
    let signed: { kid: string; tokenExp: number } = {
      kid: payload.kid,
      tokenExp: payload.tokenExp,
    };
    if (payload.ext === undefined) {
      const nextClaims = claims ?? secrets.claims;
      const { token, ...rest } = await ctx.signFor(secrets.sub, nextClaims, now, payload.abs);
      nextSecrets = { sub: secrets.sub, claims: nextClaims, token };
      signed = rest;
    } else {
      // A deposited session keeps its provider's tokens; only the ticket changes.
      if (claims !== undefined)
        throw new InvalidArgument('claims of a deposited session come from its issuer');
      nextSecrets = secrets;
    }
    const next: LivePayload = {
      ...payload,
      ...signed,
      inner: ctx.sealSecrets(nextTicket, nextId, nextSecrets, dataKey),
      seen: now,
      idle: Math.min(now + ctx.times.idle, payload.abs),
    };
    const nextExpiresAt = liveExpiry(next);
    const tomb: TombPayload = {
      k: 'tomb',
      fam: payload.fam,
      abs: payload.abs,
      next: nextId,
      nextTicket: toBase64Url(
        sealUnderParsedTicket(loaded.ticket, utf8(nextTicket), successorAad(id)),
      ),
      nextExpiresAt,
      grace: now + ctx.times.grace,
    };
    let won: boolean;
    try {
      won = await ctx.store.rotate(
        {
          // The tombstone lives as long as the family could, so reuse stays detectable.
          record: {
            id,
            subject: record.subject,
            expiresAt: payload.abs,
            version: record.version + 1,
            payload: await ctx.seal(id, record.subject, tomb),
          },
          expectedVersion: record.version,
        },
        {
          id: nextId,
          subject: record.subject,
          expiresAt: recordExpiry(next),
          version: 1,
          payload: await ctx.seal(nextId, record.subject, next),
        },
      );
    } finally {
      // The old id now holds a tombstone (or lost to another writer): never
      // answered from this process's cache again (SEC-32).
      ctx.nearCache?.invalidate(id);
    }
    if (won) {
      ctx.emit({
        type: 'session.refreshed',
        sessionId: id,
        nextSessionId: nextId,
        subjectIndex: record.subject,
        family: payload.fam,
      });
      return { ticket: nextTicket, sessionId: nextId, expiresAt: nextExpiresAt };
    }
    // Lost the compare-and-swap: a concurrent refresh or touch wrote first. Read again.
  }
  return null;
}

/** The old ticket again: inside the grace window, the same successor; after it, reuse. */
async function replaySuccessor(
  ctx: SessionContext,
  ticket: Ticket,
  id: string,
  record: SessionRecord,
  tomb: TombPayload,
  now: number,
): Promise<RefreshResult | null> {
  if (now >= tomb.grace) {
    await revokeFamily(ctx, id, record, tomb);
    return null;
  }
  const sealed = fromBase64Url(tomb.nextTicket);
  let nextTicket: string;
  try {
    if (sealed === undefined) throw new Error('bad successor encoding');
    nextTicket = fromUtf8(openUnderParsedTicket(ticket, sealed, successorAad(id)));
  } catch {
    ctx.emit({ type: 'session.rejected', operation: 'refresh', reason: 'tampered', sessionId: id });
    return null;
  }
  if (sessionIdOf(nextTicket) !== tomb.next) {
    ctx.emit({ type: 'session.rejected', operation: 'refresh', reason: 'tampered', sessionId: id });
    return null;
  }
  if (now >= tomb.nextExpiresAt) {
    ctx.emit({ type: 'session.rejected', operation: 'refresh', reason: 'expired', sessionId: id });
    return null;
  }
  return { ticket: nextTicket, sessionId: tomb.next, expiresAt: tomb.nextExpiresAt };
}

/**
 * Deletes a tombstone and every record it leads to. With `reuse` (the old
 * ticket came back after its grace window) a `session.reuse_detected` event is raised.
 * @returns the number of records deleted.
 */
export async function revokeFamily(
  ctx: SessionContext,
  id: string,
  record: SessionRecord,
  tomb: TombPayload,
  reuse = true,
): Promise<number> {
  const cache = ctx.nearCache;
  let revoked: number;
  try {
    revoked = Number(await ctx.store.delete(id));
  } finally {
    cache?.invalidate(id);
  }
  let nextId: string | undefined = tomb.next;
  for (let hops = 0; nextId !== undefined && hops < MAX_CHAIN; hops++) {
    const current = await ctx.store.get(nextId);
    if (current === null) break;
    let following: string | undefined;
    try {
      const payload = await ctx.open(current);
      following = payload.k === 'tomb' && payload.fam === tomb.fam ? payload.next : undefined;
      if (payload.fam !== tomb.fam) break;
    } catch (error) {
      if (!isCloakroomError(error)) throw error;
      // An unreadable link is still part of the chain: remove it, stop walking.
    }
    try {
      revoked += Number(await ctx.store.delete(nextId));
    } finally {
      cache?.invalidate(nextId);
    }
    nextId = following;
  }
  if (reuse) {
    ctx.emit({
      type: 'session.reuse_detected',
      sessionId: id,
      subjectIndex: record.subject,
      family: tomb.fam,
      revoked,
    });
  }
  return revoked;
}
