// The session operations behind `createCloakroom`: create, resolve (with its
// throttled touch), revoke. The subject-keyed ones are in by-subject.ts. Internal.
import { InvalidArgument } from '../errors';
import type { CreateOptions, CreatedSession, ResolvedSession } from './types';
import type { Actor } from '../contracts/policy';
import { revokeFamily } from './refresh';
import { depositedTokenDead, insertSession, isUsable, load, secretsOrReject } from './load';
import {
  type Auditing,
  type Sealing,
  type SessionConfig,
  type Signing,
  type Storage,
  type SessionContext,
  checkClaims,
  liveExpiry,
  newFamily,
  recordExpiry,
} from './context';
import { checkSubject } from './identity';
import type { LivePayload, SessionSecrets } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import { type Ticket, generateTicket, sessionIdOf } from '../ticket/ticket';

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
  await ctx.authorize('session.create', actor);
  const ticket = generateTicket();
  const id = sessionIdOf(ticket);
  const subjectIndex = await ctx.indexOf({ subject, issuer: undefined });
  const now = ctx.now();
  const abs = now + ctx.times.absolute;
  const idle = Math.min(now + ctx.times.idle, abs);
  const { token, ...signed } = await ctx.signFor(subject, claims, now, abs);
  const payload: LivePayload = {
    k: 'live',
    inner: ctx.sealSecrets(ticket, id, { sub: subject, claims, token }),
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

export async function resolve(
  ctx: SessionContext,
  ticket: unknown,
  actor: Actor | undefined,
): Promise<ResolvedSession | null> {
  ctx.ensureOpen();
  const gate = ctx.authorize('session.resolve', actor);
  if (gate !== undefined) await gate;
  const loaded = await load(ctx, ticket, 'resolve');
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
  if (!(await isUsable(ctx, id, payload, now, 'resolve'))) return null;
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
  if (touchDue(ctx, payload, now)) {
    const touched = await touch(ctx, loaded.ticket, record, payload, secrets, now);
    payload = touched.payload;
    secrets = touched.secrets;
  }
  return {
    sessionId: id,
    subject: secrets.sub,
    claims: secrets.claims,
    token: secrets.token,
    tokenExpiresAt: payload.tokenExp,
    ...(payload.ext !== undefined && now >= payload.tokenExp ? { tokenExpired: true } : {}),
    ...(payload.ext === undefined ? {} : { issuer: payload.ext }),
    ...(secrets.refreshToken === undefined ? {} : { refreshToken: secrets.refreshToken }),
    ...(secrets.idToken === undefined ? {} : { idToken: secrets.idToken }),
    expiresAt: liveExpiry(payload),
    absoluteExpiresAt: payload.abs,
    createdAt: payload.created,
    ...(payload.label === undefined ? {} : { label: payload.label }),
  };
}

// Deposited tokens belong to their issuer: the app renews them (replaceTokens).
const tokenDue = (ctx: SessionConfig, payload: LivePayload, now: number) =>
  payload.ext === undefined && payload.tokenExp - now <= ctx.times.token / 3;

/** Whether {@link touch} has anything to write; checked first so most resolves skip it (and its await). */
const touchDue = (ctx: SessionConfig, payload: LivePayload, now: number) =>
  tokenDue(ctx, payload, now) || now - payload.seen >= ctx.times.touch;

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
): Promise<{ payload: LivePayload; secrets: SessionSecrets }> {
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
  return { payload: next, secrets: nextSecrets };
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
  const count =
    loaded.payload.k === 'tomb'
      ? await revokeFamily(ctx, loaded.id, loaded.record, loaded.payload, false)
      : Number(await ctx.store.delete(loaded.id));
  ctx.emit({
    type: 'session.revoked',
    sessionId: loaded.id,
    subjectIndex: loaded.record.subject,
    count,
  });
  return count > 0;
}
