// The operations keyed by subject: listSessions, revokeSession,
// revokeSubject. A subject is always taken with its namespace (SEC-29): the
// app's own, or the trusted issuer that vouched for it. Internal.
import { isCloakroomError } from '../errors';
import { isStoreKey } from '../store-kit/checks';
import type { SubjectInput } from '../contracts/identity';
import type { Actor } from '../contracts/policy';
import type { SessionRecord } from '../contracts/store';
import type { LivePayload, SessionPayload } from '../crypto/payload-format';
import {
  type Access,
  type Sealing,
  type Storage,
  type SessionContext,
  liveExpiry,
} from './context';
import { type Identity, toIdentity } from './identity';
import type { SessionInfo } from './types';

/** Opens a record's outer layer; `undefined` for one that does not open (another key set, tampered). */
async function openOrSkip(
  ctx: Sealing,
  record: SessionRecord,
): Promise<SessionPayload | undefined> {
  try {
    return await ctx.open(record);
  } catch (error) {
    if (isCloakroomError(error) && error.code === 'ERR_DECRYPTION_FAILED') return undefined;
    throw error;
  }
}

// A live payload's namespace is in its outer layer (`ext`), so it can be
// checked without the ticket.
const inNamespace = (payload: SessionPayload, identity: Identity): payload is LivePayload =>
  payload.k === 'live' && payload.ext === identity.issuer;

/**
 * Sessions written before namespaces (SEC-29) are indexed by HMAC of the bare
 * subject, shared by every namespace. They keep working: these are the ones of
 * `identity`'s namespace among them, told apart by the sealed `ext`. Costs one
 * more `listBySubject` per subject operation, usually answered empty.
 */
async function legacySessions(
  ctx: Storage & Sealing & Access,
  identity: Identity,
): Promise<{ record: SessionRecord; payload: LivePayload }[]> {
  const records = await ctx.store.listBySubject(await ctx.legacyIndexOf(identity.subject));
  const out: { record: SessionRecord; payload: LivePayload }[] = [];
  for (const record of records) {
    const payload = await openOrSkip(ctx, record);
    if (payload !== undefined && inNamespace(payload, identity)) out.push({ record, payload });
  }
  return out;
}

export async function listSessions(
  ctx: SessionContext,
  subject: SubjectInput,
  actor: Actor | undefined,
): Promise<SessionInfo[]> {
  ctx.ensureOpen();
  const identity = toIdentity(subject);
  await ctx.authorize('session.list', actor, identity);
  const records = await ctx.store.listBySubject(await ctx.indexOf(identity));
  const found: { record: SessionRecord; payload: LivePayload }[] = [];
  for (const record of records) {
    const payload = await openOrSkip(ctx, record);
    if (payload?.k === 'live') found.push({ record, payload });
  }
  found.push(...(await legacySessions(ctx, identity)));
  const now = ctx.now();
  const out: SessionInfo[] = [];
  for (const { record, payload } of found) {
    if (now >= liveExpiry(payload)) continue;
    out.push({
      sessionId: record.id,
      createdAt: payload.created,
      lastSeenAt: payload.seen,
      expiresAt: liveExpiry(payload),
      absoluteExpiresAt: payload.abs,
      ...(payload.label === undefined ? {} : { label: payload.label }),
      ...(payload.ext === undefined ? {} : { issuer: payload.ext }),
    });
  }
  return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

export async function revokeSession(
  ctx: SessionContext,
  subject: SubjectInput,
  sessionId: string,
  actor: Actor | undefined,
): Promise<boolean> {
  ctx.ensureOpen();
  const identity = toIdentity(subject);
  await ctx.authorize('session.revoke', actor, identity);
  if (!isStoreKey(sessionId)) return false;
  const record = await ctx.store.get(sessionId);
  if (record === null) return false;
  // Only a session of this identity: one user cannot revoke another's by id.
  const subjectIndex = await ctx.indexOf(identity);
  if (record.subject !== subjectIndex) {
    if (record.subject !== (await ctx.legacyIndexOf(identity.subject))) return false;
    const payload = await openOrSkip(ctx, record);
    if (payload === undefined || !inNamespace(payload, identity)) return false;
  }
  let deleted: boolean;
  try {
    deleted = await ctx.store.delete(sessionId);
  } finally {
    ctx.nearCache?.invalidate(sessionId);
  }
  if (deleted) {
    ctx.emit({ type: 'session.revoked', sessionId, subjectIndex: record.subject, count: 1 });
  }
  return deleted;
}

/**
 * Revokes every session of an identity. Answers what a user calls sessions:
 * the live ones, as `listSessions` shows them; rotated predecessors still in
 * their grace window are removed too and counted in the event's `records`.
 */
export async function revokeSubject(
  ctx: SessionContext,
  subject: SubjectInput,
  actor: Actor | undefined,
): Promise<number> {
  ctx.ensureOpen();
  const identity = toIdentity(subject);
  await ctx.authorize('subject.revoke', actor, identity);
  const subjectIndex = await ctx.indexOf(identity);
  // Counted before the delete: a session created meanwhile may be removed
  // uncounted, never counted twice.
  let notSessions = 0;
  for (const record of await ctx.store.listBySubject(subjectIndex)) {
    if ((await openOrSkip(ctx, record))?.k !== 'live') notSessions++;
  }
  // deleteBySubject names no ids: the cache drops every session it holds
  // for this subject index, whatever the store answers (SEC-32).
  let removed: number;
  try {
    removed = await ctx.store.deleteBySubject(subjectIndex);
  } finally {
    ctx.nearCache?.invalidateGroup(subjectIndex);
  }
  let legacy = 0;
  for (const { record } of await legacySessions(ctx, identity)) {
    try {
      if (await ctx.store.delete(record.id)) legacy++;
    } finally {
      ctx.nearCache?.invalidate(record.id);
    }
  }
  const count = Math.max(0, removed - notSessions) + legacy;
  ctx.emit({
    type: 'subject.revoked',
    subjectIndex,
    count,
    records: removed + legacy,
    ...(identity.issuer === undefined ? {} : { issuer: identity.issuer }),
  });
  return count;
}
