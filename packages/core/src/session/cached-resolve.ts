// `resolve` through the near cache (SEC-32): the hit path, and what a store
// read leaves behind for the next hit. The cache is keyed by session id, the
// SHA-256 of the ticket: an entry is found only by a ticket that hashes to
// its id, which (SHA-256 being preimage-resistant) only its own ticket does,
// so a hit proves possession of the ticket as the ticket-bound open would.
// Internal.
import type { LivePayload, SessionSecrets } from '../crypto/payload-format';
import type { ResolvedSession } from './types';
import { type SessionConfig, type SessionContext, liveExpiry } from './context';
import { depositedTokenDead, isUsable } from './load';
import type { CachedSession, SessionCache } from './near-cache';
import { parseTicket, sessionIdOf } from '../ticket/ticket';

const NO_INNER = new Uint8Array(0);

/** The cache entry for a session the store path just answered. */
export function cacheable(payload: LivePayload, secrets: SessionSecrets): CachedSession {
  return {
    // The sealed secrets are already open here: keeping their bytes would
    // only double the memory a session costs.
    payload: { ...payload, inner: NO_INNER },
    sub: secrets.sub,
    claimsJson: JSON.stringify(secrets.claims),
    token: secrets.token,
    refreshToken: secrets.refreshToken,
    idToken: secrets.idToken,
  };
}

/** The session id of a ticket, or `undefined` when it is malformed (the store path reports that). */
export function idOfTicket(ticket: unknown): string | undefined {
  try {
    return sessionIdOf(parseTicket(ticket));
  } catch {
    return undefined;
  }
}

/**
 * Reads the storage key ring and lets the cache compare it with the last
 * one (a changed ring drops everything). False when the keys cannot be read:
 * then nothing is answered from the cache.
 */
export async function checkKeys(ctx: SessionContext, cache: SessionCache): Promise<boolean> {
  try {
    cache.keys(await ctx.keys.storageKeys());
    return true;
  } catch {
    return false;
  }
}

/**
 * The answer from the cache, or `undefined` to go to the store. Every rule
 * of the store path still holds on a hit: expiry (idle and absolute)
 * against the clock now, the deposited-token rule, the signing key's state
 * (SEC-19: a disabled key rejects with `key-disabled`, as the store path
 * does), and a hit due a touch goes to the store. A session the cache
 * thinks dead is asked of the store, whose answer (and event) is the one
 * that counts. `live` is read after the last await, just before answering.
 */
export async function cachedAnswer(
  ctx: SessionContext,
  cache: SessionCache,
  id: string,
): Promise<ResolvedSession | null | undefined> {
  const entry = cache.get(id, ctx.now());
  if (entry === undefined) return undefined;
  if (!(await checkKeys(ctx, cache))) return undefined;
  const now = ctx.now();
  const { payload } = entry;
  if (now >= payload.abs || now >= payload.idle || deadToken(ctx, entry, now)) {
    cache.invalidate(id);
    return undefined;
  }
  if (touchDue(ctx, payload, now)) return undefined;
  if (!(await isUsable(ctx, id, payload, now, 'resolve'))) {
    cache.invalidate(id);
    return null;
  }
  if (!cache.holds(id, entry)) return undefined;
  return answer(id, payload, entry, JSON.parse(entry.claimsJson), now);
}

function deadToken(ctx: SessionContext, entry: CachedSession, now: number): boolean {
  const secrets = entry.refreshToken === undefined ? {} : { refreshToken: entry.refreshToken };
  return depositedTokenDead(ctx, entry.payload, secrets as SessionSecrets, now);
}

/** The public shape of a resolved session, from either path. */
export function answer(
  id: string,
  payload: LivePayload,
  secrets: {
    readonly sub: string;
    readonly token: string;
    readonly refreshToken?: string | undefined;
    readonly idToken?: string | undefined;
  },
  claims: Record<string, unknown>,
  now: number,
): ResolvedSession {
  // Built member by member, in the documented order, rather than with
  // conditional spreads: a third of the cost on every resolve.
  const out: { -readonly [K in keyof ResolvedSession]?: ResolvedSession[K] } = {
    sessionId: id,
    subject: secrets.sub,
    claims,
    token: secrets.token,
    tokenExpiresAt: payload.tokenExp,
  };
  if (payload.ext !== undefined) {
    if (now >= payload.tokenExp) out.tokenExpired = true;
    out.issuer = payload.ext;
  }
  if (secrets.refreshToken !== undefined) out.refreshToken = secrets.refreshToken;
  if (secrets.idToken !== undefined) out.idToken = secrets.idToken;
  out.expiresAt = liveExpiry(payload);
  out.absoluteExpiresAt = payload.abs;
  out.createdAt = payload.created;
  if (payload.label !== undefined) out.label = payload.label;
  return out as ResolvedSession;
}

// Deposited tokens belong to their issuer: the app renews them (replaceTokens).
export const tokenDue = (ctx: SessionConfig, payload: LivePayload, now: number): boolean =>
  payload.ext === undefined && payload.tokenExp - now <= ctx.times.token / 3;

/** Whether a resolve has anything to write; checked first so most resolves skip it (and its await). */
export const touchDue = (ctx: SessionConfig, payload: LivePayload, now: number): boolean =>
  tokenDue(ctx, payload, now) || now - payload.seen >= ctx.times.touch;
