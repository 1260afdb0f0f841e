import type { CloakroomOptions } from './cloakroom-options';
import { InvalidArgument, isCloakroomError } from './errors';
import type { PublicJwk } from './key-contract';
import type { Actor } from './policy-contract';
import { type VerifiedToken, verifyToken } from './jwt';
import { type DepositTokens, deposit, replaceTokens } from './deposit';
import {
  type RewrapOptions,
  type RewrapReport,
  compromiseKey,
  rewrap,
  rotateKeys,
  sweep,
} from './operator';
import type { KeySetStatus, KeyStatus } from './rotating-status';
import { type RefreshResult, refreshSession, revokeFamily } from './refresh';
import { insertSession, isUsable, load, secretsOrReject } from './session-load';
import {
  type SessionContext,
  checkClaims,
  checkSubject,
  createContext,
  liveExpiry,
  newFamily,
} from './session-context';
import type { LivePayload, SessionPayload, SessionSecrets } from './session-payload';
import type { SessionRecord } from './store-contract';
import { generateTicket, sessionIdOf } from './ticket';

/** What `create` returns: the ticket to hand the client, and when it dies unless used. */
export interface CreatedSession {
  /** The opaque ticket. Give it to the client (e.g. `serializeTicketCookie`); never log it. */
  readonly ticket: string;
  /** The session id (SHA-256 of the ticket): safe to log and to match audit events. */
  readonly sessionId: string;
  /** Idle deadline (epoch ms); activity moves it, never past `absoluteExpiresAt`. */
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
}

/** Options of `create`. */
export interface CreateOptions {
  /** A short public label for the device or client (shown by `listSessions`), ≤ 200 characters. */
  readonly label?: string;
}

/** A resolved session, for the server's eyes only. */
export interface ResolvedSession {
  readonly sessionId: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /**
   * A signed JWT to forward to resource servers: ours (renewed while a third
   * of its lifetime remains), or for a deposited session the provider's access token.
   */
  readonly token: string;
  readonly tokenExpiresAt: number;
  /** Deposited sessions: the trusted issuer's name. */
  readonly issuer?: string;
  /** Deposited sessions: the provider's refresh token, if one was deposited. */
  readonly refreshToken?: string;
  /** Deposited sessions: the provider's ID token, if one was deposited. */
  readonly idToken?: string;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly createdAt: number;
  readonly label?: string;
}

/** Public metadata of a session, as `listSessions` shows it: no claims, no token. */
export interface SessionInfo {
  readonly sessionId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly label?: string;
}

/** The session manager returned by {@link createCloakroom}. */
export interface Cloakroom {
  /** Sign a JWT for `subject`, seal it with `claims`, store it, and return a fresh ticket. */
  create(
    subject: string,
    claims?: Record<string, unknown>,
    options?: CreateOptions,
    actor?: Actor,
  ): Promise<CreatedSession>;
  /**
   * The session behind a ticket, or `null` when it is malformed, missing,
   * expired, revoked, rotated or tampered with (the reason goes to `onEvent`).
   * @throws StoreUnavailable when the store cannot answer (answer 503, not 401).
   */
  resolve(ticket: unknown, actor?: Actor): Promise<ResolvedSession | null>;
  /**
   * Replace the ticket (do it at sign-in and at every privilege change):
   * returns a new ticket and the old one dies. `claims` replaces the claims.
   * Concurrent refreshes of one ticket return one and the same successor; the
   * old ticket presented again after the grace window revokes the family.
   * @returns `null` when the ticket does not resolve.
   */
  refresh(
    ticket: unknown,
    options?: { readonly claims?: Record<string, unknown> },
    actor?: Actor,
  ): Promise<RefreshResult | null>;
  /** Revoke the session behind a ticket (logout). @returns whether a session was removed. */
  revoke(ticket: unknown, actor?: Actor): Promise<boolean>;
  /** Revoke one session of `subject` by its id (e.g. "sign out that device"). */
  revokeSession(subject: string, sessionId: string, actor?: Actor): Promise<boolean>;
  /** Revoke every session of a subject. @returns how many were removed. */
  revokeSubject(subject: string, actor?: Actor): Promise<number>;
  /** Public metadata of a subject's live sessions. */
  listSessions(subject: string, actor?: Actor): Promise<SessionInfo[]>;
  /**
   * Verify an external identity provider's access token against one of the
   * `trustedIssuers` and keep it (with optional refresh and ID tokens) sealed
   * behind a new ticket. @throws TokenRejected when the token does not verify.
   */
  deposit(
    tokens: DepositTokens,
    options: { readonly issuer: string; readonly label?: string },
    actor?: Actor,
  ): Promise<CreatedSession>;
  /**
   * Swap in new provider tokens (after the app refreshed with its provider),
   * keeping the ticket. @returns false when the ticket is not a live deposited session.
   */
  replaceTokens(ticket: unknown, tokens: DepositTokens, actor?: Actor): Promise<boolean>;
  /**
   * Re-seal every record not under the primary storage key (operator action
   * `store.rewrap`). Resumable, idempotent, compare-and-swap per record (SEC-14).
   */
  rewrap(options?: RewrapOptions, actor?: Actor): Promise<RewrapReport>;
  /**
   * Rotate signing or storage keys (operator action `keys.rotate`); the key
   * provider must rotate (`rotatingKeys`). The new key is pending first.
   */
  rotateKeys(kind: 'signing' | 'storage', actor?: Actor): Promise<KeyStatus>;
  /** Disable a compromised key at once (operator action `keys.rotate`); its sessions and tokens stop working. */
  compromiseKey(keyId: string, actor?: Actor): Promise<KeySetStatus>;
  /** Delete expired records in stores without native expiry (operator action `store.sweep`). @returns how many. */
  sweep(actor?: Actor): Promise<number>;
  /** Verify a token this instance (or its fleet) issued, for resource servers. @throws TokenRejected */
  verify(token: unknown): Promise<VerifiedToken>;
  /** The public signing keys, for `/.well-known/jwks.json`. */
  jwks(): Promise<{ keys: PublicJwk[] }>;
  /** Close the manager and its store (the store never closes a client you passed it). Idempotent. */
  close(): Promise<void>;
}

/**
 * Create a session manager.
 *
 * @example
 * ```ts
 * import { createCloakroom, staticKeys } from '@cloakroom/core';
 * import { createMemoryStore } from '@cloakroom/store-memory';
 *
 * const cloakroom = createCloakroom({
 *   store: createMemoryStore(),
 *   keys: staticKeys({ signing: [signingKey], storage: [{ key: storageKey }], index: indexKey }),
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com',
 * });
 * const { ticket } = await cloakroom.create('user-42', { role: 'editor' });
 * const session = await cloakroom.resolve(ticket); // { subject: 'user-42', token: 'eyJ…', … }
 * ```
 */
export function createCloakroom(options: CloakroomOptions): Cloakroom {
  const ctx = createContext(options);
  return {
    create: (subject, claims, opts, actor) => create(ctx, subject, claims, opts, actor),
    resolve: (ticket, actor) => resolve(ctx, ticket, actor),
    refresh: async (ticket, opts, actor) => {
      ctx.ensureOpen();
      await ctx.authorize('session.refresh', actor);
      const claims = opts?.claims === undefined ? undefined : checkClaims(opts.claims);
      return refreshSession(ctx, ticket, claims);
    },
    revoke: (ticket, actor) => revoke(ctx, ticket, actor),
    revokeSession: (subject, sessionId, actor) => revokeSession(ctx, subject, sessionId, actor),
    revokeSubject: async (subject, actor) => {
      ctx.ensureOpen();
      checkSubject(subject);
      await ctx.authorize('subject.revoke', actor, subject);
      const subjectIndex = await ctx.indexOf(subject);
      const count = await ctx.store.deleteBySubject(subjectIndex);
      ctx.emit({ type: 'subject.revoked', subjectIndex, count });
      return count;
    },
    listSessions: (subject, actor) => listSessions(ctx, subject, actor),
    deposit: (tokens, opts, actor) => deposit(ctx, tokens, opts, actor),
    replaceTokens: (ticket, tokens, actor) => replaceTokens(ctx, ticket, tokens, actor),
    rewrap: (opts, actor) => rewrap(ctx, opts, actor),
    sweep: (actor) => sweep(ctx, actor),
    rotateKeys: (kind, actor) => rotateKeys(ctx, kind, actor),
    compromiseKey: (keyId, actor) => compromiseKey(ctx, keyId, actor),
    verify: (token) =>
      verifyToken(token, {
        keys: ctx.keys,
        issuer: ctx.issuer,
        audience: ctx.audience,
        typ: ctx.typ,
        clockToleranceSec: ctx.clockToleranceSec,
        now: ctx.now,
      }),
    jwks: () => ctx.keys.jwks(),
    close: async () => {
      if (ctx.closed) return;
      ctx.closed = true;
      await ctx.store.close();
    },
  };
}

async function create(
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
  const subjectIndex = await ctx.indexOf(subject);
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

async function resolve(
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
  let secrets = secretsOrReject(ctx, ticket as string, id, payload, 'resolve');
  if (secrets === null) return null;
  if (touchDue(ctx, payload, now)) {
    const touched = await touch(ctx, ticket as string, record, payload, secrets, now);
    payload = touched.payload;
    secrets = touched.secrets;
  }
  return {
    sessionId: id,
    subject: secrets.sub,
    claims: secrets.claims,
    token: secrets.token,
    tokenExpiresAt: payload.tokenExp,
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
const tokenDue = (ctx: SessionContext, payload: LivePayload, now: number) =>
  payload.ext === undefined && payload.tokenExp - now <= ctx.times.token / 3;

/** Whether {@link touch} has anything to write; checked first so most resolves skip it (and its await). */
const touchDue = (ctx: SessionContext, payload: LivePayload, now: number) =>
  tokenDue(ctx, payload, now) || now - payload.seen >= ctx.times.touch;

/**
 * Records activity at most once per touch interval, and renews the token when
 * a third of its lifetime or less remains. A lost compare-and-swap means a
 * concurrent request already wrote: this request still answers with its own view.
 */
async function touch(
  ctx: SessionContext,
  ticket: string,
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
      expiresAt: liveExpiry(next),
      version: record.version + 1,
      payload: await ctx.seal(record.id, record.subject, next),
    },
    record.version,
  );
  if (written) ctx.emit({ type: 'session.touched', sessionId: record.id, tokenRenewed: renew });
  return { payload: next, secrets: nextSecrets };
}

async function revoke(
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

async function revokeSession(
  ctx: SessionContext,
  subject: string,
  sessionId: string,
  actor: Actor | undefined,
): Promise<boolean> {
  ctx.ensureOpen();
  checkSubject(subject);
  await ctx.authorize('session.revoke', actor, subject);
  if (typeof sessionId !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return false;
  const subjectIndex = await ctx.indexOf(subject);
  const record = await ctx.store.get(sessionId);
  // Only a session of this subject: one user cannot revoke another's by id.
  if (record === null || record.subject !== subjectIndex) return false;
  const deleted = await ctx.store.delete(sessionId);
  if (deleted) ctx.emit({ type: 'session.revoked', sessionId, subjectIndex, count: 1 });
  return deleted;
}

async function listSessions(
  ctx: SessionContext,
  subject: string,
  actor: Actor | undefined,
): Promise<SessionInfo[]> {
  ctx.ensureOpen();
  checkSubject(subject);
  await ctx.authorize('session.list', actor, subject);
  const records = await ctx.store.listBySubject(await ctx.indexOf(subject));
  const now = ctx.now();
  const out: SessionInfo[] = [];
  for (const record of records) {
    let payload: SessionPayload;
    try {
      payload = await ctx.open(record);
    } catch (error) {
      if (isCloakroomError(error) && error.code === 'ERR_DECRYPTION_FAILED') continue;
      throw error;
    }
    if (payload.k !== 'live' || now >= liveExpiry(payload)) continue;
    out.push({
      sessionId: record.id,
      createdAt: payload.created,
      lastSeenAt: payload.seen,
      expiresAt: liveExpiry(payload),
      absoluteExpiresAt: payload.abs,
      ...(payload.label === undefined ? {} : { label: payload.label }),
    });
  }
  return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}
