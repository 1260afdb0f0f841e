// The session operations behind `createCloakroom`: create, resolve (with its
// throttled touch), revoke. The subject-keyed ones are in by-subject.ts. Internal.
import { InvalidArgument } from '../errors';
import type { CreateOptions, CreatedSession, ResolvedSession } from './types';
import type { Actor } from '../contracts/policy';
import { revokeFamily } from './refresh';
import { insertSession } from './insert';
import {
  depositedTokenDead,
  isUsable,
  load,
  openLoaded,
  secretsOrReject,
  ticketTarget,
} from './load';
import {
  answer,
  cacheable,
  cachedAnswer,
  checkKeys,
  idOfTicket,
  touchDue,
  tokenDue,
} from './cached-resolve';
import type { CachedSession } from './near-cache';
import {
  type Auditing,
  type Sealing,
  type SessionConfig,
  type Signing,
  type Storage,
  type SessionContext,
  checkClaims,
  newFamily,
  recordExpiry,
} from './context';
import { checkSubject } from './identity';
import type { LivePayload, SessionSecrets } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import { type Ticket, generateTicketAndKey, sessionIdOf } from '../ticket/ticket';

export async function create(
  ctx: SessionContext,
  subject: string,
  rawClaims: Record<string, unknown> | undefined,
  opts: CreateOptions | undefined,
  actor: Actor | undefined,
): Promise<CreatedSession> {
  ctx.ensureOpen();
  checkSubject(subject);
  const claims = checkClaims(rawClaims);
  const label = opts?.label;
  if (label !== undefined && (typeof label !== 'string' || label.length > 200)) {
    throw new InvalidArgument('label must be a string of at most 200 characters');
  }
  // A synchronous policy's allow is `undefined`: no await (and no tick) for it.
  const gate = ctx.authorize('session.create', actor);
  if (gate !== undefined) await gate;
  const { ticket, dataKey } = generateTicketAndKey();
  const id = sessionIdOf(ticket);
  const subjectIndex = await ctx.indexOf({ subject, issuer: undefined });
  const now = ctx.now();
  const abs = now + ctx.times.absolute;
  const idle = Math.min(now + ctx.times.idle, abs);
  const signing = ctx.signFor(subject, claims, now, abs);
  const { token, ...signed } = signing instanceof Promise ? await signing : signing;
  const payload: LivePayload = {
    k: 'live',
    inner: ctx.sealSecrets(ticket, id, { sub: subject, claims, token }, dataKey),
    ...signed,
    fam: newFamily(),
    created: now,
    seen: now,
    idle,
    abs,
    ...(label === undefined ? {} : { label }),
  };
  return insertSession(ctx, ticket, id, subjectIndex, payload);
}

export function resolve(
  ctx: SessionContext,
  ticket: unknown,
  actor: Actor | undefined,
): Promise<ResolvedSession | null> {
  let gate: Promise<void> | undefined;
  try {
    ctx.ensureOpen();
    gate = ctx.authorize('session.resolve', actor);
  } catch (error) {
    return Promise.reject(error);
  }
  // The common case (a synchronous policy allowed, no near cache): straight
  // to the store, without an async frame of its own.
  if (gate === undefined && ctx.nearCache === undefined) return fromStore(ctx, ticket, undefined);
  return gatedResolve(ctx, ticket, gate);
}

async function gatedResolve(
  ctx: SessionContext,
  ticket: unknown,
  gate: Promise<void> | undefined,
): Promise<ResolvedSession | null> {
  if (gate !== undefined) await gate;
  const cache = ctx.nearCache;
  if (cache === undefined) return fromStore(ctx, ticket, undefined);
  const id = idOfTicket(ticket);
  if (id === undefined) return fromStore(ctx, ticket, undefined);
  const hit = await cachedAnswer(ctx, cache, id);
  if (hit !== undefined) return hit;
  // The ring is read before the fill begins, so an entry never outlives a
  // key change it did not see (near-cache.ts, keys()).
  const fill = (await checkKeys(ctx, cache)) ? cache.begin(id) : undefined;
  if (fill === undefined) return fromStore(ctx, ticket, undefined);
  let kept: { entry: CachedSession; group: string } | undefined;
  try {
    return await fromStore(ctx, ticket, (entry, group) => {
      kept = { entry, group };
    });
  } finally {
    cache.finish(fill, kept?.entry, kept?.group);
  }
}

/** `resolve` from the store; `keep` receives what the near cache may hold of a live answer. */
async function fromStore(
  ctx: SessionContext,
  ticket: unknown,
  keep: ((entry: CachedSession, group: string) => void) | undefined,
): Promise<ResolvedSession | null> {
  // load's steps inline: one async frame fewer on every resolve.
  const target = ticketTarget(ctx, ticket, 'resolve');
  if (target === null) return null;
  const stored = await ctx.store.get(target.id);
  const opened = openLoaded(ctx, target, stored, 'resolve');
  const loaded = opened instanceof Promise ? await opened : opened;
  if (loaded === null) return null;
  const { id, record } = loaded;
  let payload = loaded.payload;
  const now = ctx.now();
  if (payload.k === 'tomb') {
    if (now >= payload.grace) {
      await revokeFamily(ctx, id, record, payload);
    } else {
      ctx.emit({
        type: 'session.rejected',
        operation: 'resolve',
        reason: 'rotated',
        sessionId: id,
      });
    }
    return null;
  }
  const usable = isUsable(ctx, id, payload, now, 'resolve');
  if (!(usable instanceof Promise ? await usable : usable)) return null;
  let secrets = secretsOrReject(ctx, loaded.ticket, id, payload, 'resolve');
  if (secrets === null) return null;
  if (depositedTokenDead(ctx, payload, secrets, now)) {
    ctx.emit({
      type: 'session.rejected',
      operation: 'resolve',
      reason: 'token-expired',
      sessionId: id,
    });
    return null;
  }
  let current = true;
  if (touchDue(ctx, payload, now)) {
    const touched = await touch(ctx, loaded.ticket, record, payload, secrets, now);
    payload = touched.payload;
    secrets = touched.secrets;
    current = touched.written;
  }
  // A lost touch means another writer changed the record: not a view to keep.
  if (keep !== undefined && current) keep(cacheable(payload, secrets), record.subject);
  return answer(id, payload, secrets, secrets.claims, now);
}

/**
 * Records activity at most once per touch interval, and renews the token when
 * a third of its lifetime or less remains. A lost compare-and-swap means a
 * concurrent request already wrote: this request still answers with its own view.
 */
async function touch(
  ctx: SessionConfig & Storage & Sealing & Signing & Auditing,
  ticket: Ticket,
  record: SessionRecord,
  payload: LivePayload,
  secrets: SessionSecrets,
  now: number,
): Promise<{ payload: LivePayload; secrets: SessionSecrets; written: boolean }> {
  const renew = tokenDue(ctx, payload, now);
  let next: LivePayload = {
    ...payload,
    seen: now,
    idle: Math.min(now + ctx.times.idle, payload.abs),
  };
  let nextSecrets = secrets;
  if (renew) {
    const { token, ...signed } = await ctx.signFor(secrets.sub, secrets.claims, now, payload.abs);
    nextSecrets = { ...secrets, token };
    next = { ...next, ...signed, inner: ctx.sealSecrets(ticket, record.id, nextSecrets) };
  }
  const written = await ctx.store.replace(
    {
      id: record.id,
      subject: record.subject,
      expiresAt: recordExpiry(next),
      version: record.version + 1,
      payload: await ctx.seal(record.id, record.subject, next),
    },
    record.version,
  );
  if (written) ctx.emit({ type: 'session.touched', sessionId: record.id, tokenRenewed: renew });
  else ctx.nearCache?.invalidate(record.id);
  return { payload: next, secrets: nextSecrets, written };
}

export async function revoke(
  ctx: SessionContext,
  ticket: unknown,
  actor: Actor | undefined,
): Promise<boolean> {
  ctx.ensureOpen();
  await ctx.authorize('session.revoke', actor);
  const loaded = await load(ctx, ticket, 'revoke');
  if (loaded === null) return false;
  // A rotated ticket (a stale cookie in another tab) logs out its successors too.
  let count: number;
  try {
    count =
      loaded.payload.k === 'tomb'
        ? await revokeFamily(ctx, loaded.id, loaded.record, loaded.payload, false)
        : Number(await ctx.store.delete(loaded.id));
  } finally {
    // Whatever the store answered (or if it failed midway), this process
    // stops answering from the cache at once (SEC-32).
    ctx.nearCache?.invalidate(loaded.id);
  }
  ctx.emit({
    type: 'session.revoked',
    sessionId: loaded.id,
    subjectIndex: loaded.record.subject,
    count,
  });
  return count > 0;
}
