import type { CloakroomOptions } from './options';
import type { PublicJwk } from '../contracts/keys';
import type { Actor } from '../contracts/policy';
import { type VerifiedToken, verifyToken } from '../jwt/jwt';
import { deposit, replaceTokens } from './deposit';
import type { DepositTokens } from '../contracts/token-issuer';
import type {
  Claims,
  CreateOptions,
  CreatedSession,
  DefaultDepositedClaims,
  ResolvedSession,
  SessionInfo,
} from './types';
import {
  type RewrapOptions,
  type RewrapReport,
  compromiseKey,
  rewrap,
  rotateKeys,
  sweep,
} from './operator';
import type { KeySetStatus, KeyStatus } from '../keys/rotating/status';
import { type RefreshResult, refreshSession } from './refresh';
import { create, resolve, revoke } from './operations';
import { listSessions, revokeSession, revokeSubject } from './by-subject';
import { type SessionContext, checkClaims, createContext } from './context';
import type { SubjectInput } from '../contracts/identity';
import { toIdentity } from './identity';
import { type HealthOptions, type HealthReport, health } from './health';
import { progressPublisher, sessionTraced, traceSession } from '../diagnostics/trace-session';
import {
  countedOutcome,
  createdOutcome,
  refreshedOutcome,
  replacedOutcome,
  resolvedOutcome,
  revokedOutcome,
  rewrapOutcome,
} from '../diagnostics/outcomes';
import {
  type RefreshUpstreamOptions,
  type UpstreamRefresher,
  type UpstreamResult,
  refreshUpstream,
} from './upstream';

/** `create`'s arguments after the subject: `claims` is required when `C` has required members. */
export type CreateArgs<C extends object> = Claims extends C
  ? [claims?: C, options?: CreateOptions, actor?: Actor]
  : Partial<Record<keyof C, never>> extends C
    ? [claims?: C, options?: CreateOptions, actor?: Actor]
    : [claims: C, options?: CreateOptions, actor?: Actor];

/**
 * `deposit`'s tokens, or, for a manager typed without deposited claims, a
 * type no value has: its name says what to declare.
 */
export type DepositTokensFor<D extends object> = [D] extends [never]
  ? {
      readonly 'declare the deposited claims type: createCloakroom<AppClaims, ProviderClaims>(…)': never;
    }
  : DepositTokens;

/**
 * The session manager returned by {@link createCloakroom}. `C` types the
 * claims of the app's own sessions (`create`, `refresh`, `resolve`), `D` the
 * claims of deposited sessions (the provider's access-token payload).
 */
export interface Cloakroom<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  /** Sign a JWT for `subject`, seal it with `claims`, store it, and return a fresh ticket. */
  create(subject: string, ...args: CreateArgs<C>): Promise<CreatedSession>;
  /**
   * The session behind a ticket, or `null` when it is malformed, missing,
   * expired, revoked, rotated or tampered with (the reason goes to `onEvent`).
   * @throws StoreUnavailable when the store cannot answer (answer 503, not 401).
   */
  resolve(ticket: unknown, actor?: Actor): Promise<ResolvedSession<C, D> | null>;
  /**
   * Replace the ticket (do it at sign-in and at every privilege change):
   * returns a new ticket and the old one dies. `claims` replaces the claims.
   * Concurrent refreshes of one ticket return one and the same successor; the
   * old ticket presented again after the grace window revokes the family.
   * @returns `null` when the ticket does not resolve.
   */
  refresh(
    ticket: unknown,
    options?: { readonly claims?: C },
    actor?: Actor,
  ): Promise<RefreshResult | null>;
  /** Revoke the session behind a ticket (logout). @returns whether a session was removed. */
  revoke(ticket: unknown, actor?: Actor): Promise<boolean>;
  /**
   * Revoke one session of `subject` by its id (e.g. "sign out that device").
   * A bare string is a subject of the app's own namespace; pass
   * `{ subject, issuer }` (or `identityOf(session)`) for a deposited session's
   * user (SEC-29). The default policy allows it when the actor is that same
   * identity.
   */
  revokeSession(subject: SubjectInput, sessionId: string, actor?: Actor): Promise<boolean>;
  /**
   * Revoke every session of a subject (in its namespace, SEC-29).
   * @returns how many sessions were removed, counted as `listSessions` counts
   *   them (rotated predecessors still in their grace are removed too, and
   *   counted in the `subject.revoked` event's `records`).
   */
  revokeSubject(subject: SubjectInput, actor?: Actor): Promise<number>;
  /** Public metadata of a subject's live sessions (in its namespace, SEC-29). */
  listSessions(subject: SubjectInput, actor?: Actor): Promise<SessionInfo[]>;
  /**
   * The `subjectIndex` that this subject's records and audit events carry
   * (in its namespace, SEC-29), to find a user's events in an audit log.
   * Not secret: events already carry it; it cannot be turned back into the subject.
   *
   * @example
   * ```ts
   * const index = await cloakroom.subjectIndexOf({ subject: '123', issuer: 'https://idp.example' });
   * const mine = auditLog.filter((e) => e.subjectIndex === index);
   * ```
   */
  subjectIndexOf(subject: SubjectInput): Promise<string>;
  /**
   * Verify an external identity provider's access token against one of the
   * `trustedIssuers` and keep it (with optional refresh and ID tokens) sealed
   * behind a new ticket. @throws TokenRejected when the token does not verify.
   */
  deposit(
    tokens: DepositTokensFor<D>,
    options: { readonly issuer: string; readonly label?: string },
    actor?: Actor,
  ): Promise<CreatedSession>;
  /**
   * Swap in new provider tokens (after the app refreshed with its provider),
   * keeping the ticket. @returns false when the ticket is not a live deposited session.
   */
  replaceTokens(ticket: unknown, tokens: DepositTokensFor<D>, actor?: Actor): Promise<boolean>;
  /**
   * Renew a deposited session's provider tokens with its refresh token when
   * the access token is within `earlyMs` of expiry, exactly once across every
   * instance sharing the store (SEC-34): one caller takes a lease on the
   * record by compare-and-swap and calls `refresher`; the others keep using
   * the still-valid token or wait for the result. Never hangs: see
   * {@link UpstreamResult} for the outcomes (`rejected` revokes the session).
   *
   * @example
   * ```ts
   * const result = await cloakroom.refreshUpstream(ticket, async (refreshToken, { signal }) => {
   *   const res = await fetch(tokenEndpoint, { method: 'POST', signal, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }) });
   *   if (res.status === 400) return { rejected: 'invalid_grant' };
   *   const body = await res.json();
   *   return { tokens: { accessToken: body.access_token, refreshToken: body.refresh_token } };
   * });
   * if (result.status === 'rejected' || result.status === 'missing') redirectToSignIn();
   * ```
   */
  refreshUpstream(
    ticket: unknown,
    refresher: UpstreamRefresher,
    options?: RefreshUpstreamOptions,
    actor?: Actor,
  ): Promise<UpstreamResult>;
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
  /**
   * Readiness, for a Kubernetes probe or a load balancer: the store answers
   * a read within `timeoutMs`, and the keys are loaded (a rotating key set
   * read from its store within `maxKeySetAgeMs`). Never throws; reports
   * error codes and timings only. Answer 200 when `ready`, else 503. For
   * liveness, check nothing external (see docs/guides/health-checks.md).
   *
   * @example
   * ```ts
   * const report = await cloakroom.health({ timeoutMs: 1000 });
   * const status = report.ready ? 200 : 503;
   * ```
   */
  health(options?: HealthOptions): Promise<HealthReport>;
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
export function createCloakroom<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
>(options: CloakroomOptions): Cloakroom<C, D> {
  const ctx = createContext(options);
  const refresh = async (
    c: SessionContext,
    ticket: unknown,
    opts: { readonly claims?: C } | undefined,
    actor: Actor | undefined,
  ) => {
    c.ensureOpen();
    await c.authorize('session.refresh', actor);
    const claims = opts?.claims === undefined ? undefined : checkClaims(opts.claims);
    return refreshSession(c, ticket, claims);
  };
  // Each traced method tests `sessionTraced` first: with no subscriber it
  // calls the operation directly and allocates nothing for tracing
  // (docs/guides/observability.md; measured by packages/bench/src/tracing.ts).
  return {
    // Claims of any type are checked at run time (checkClaims: a plain JSON object).
    create: (subject, ...[claims, opts, actor]: CreateArgs<C>) =>
      sessionTraced('create')
        ? traceSession(
            'create',
            ctx,
            (c) => create(c, subject, claims as Claims | undefined, opts, actor),
            createdOutcome,
          )
        : create(ctx, subject, claims as Claims | undefined, opts, actor),
    // The claims were checked against C on the way in (create, refresh) or
    // are the provider's verified payload (deposit): the types say which.
    resolve: (ticket, actor) =>
      (sessionTraced('resolve')
        ? traceSession('resolve', ctx, (c) => resolve(c, ticket, actor), resolvedOutcome)
        : resolve(ctx, ticket, actor)) as Promise<ResolvedSession<C, D> | null>,
    refresh: (ticket, opts, actor) =>
      sessionTraced('refresh')
        ? traceSession('refresh', ctx, (c) => refresh(c, ticket, opts, actor), refreshedOutcome)
        : refresh(ctx, ticket, opts, actor),
    revoke: (ticket, actor) =>
      sessionTraced('revoke')
        ? traceSession('revoke', ctx, (c) => revoke(c, ticket, actor), revokedOutcome)
        : revoke(ctx, ticket, actor),
    revokeSession: (subject, sessionId, actor) =>
      sessionTraced('revokeSession')
        ? traceSession(
            'revokeSession',
            ctx,
            (c) => revokeSession(c, subject, sessionId, actor),
            revokedOutcome,
          )
        : revokeSession(ctx, subject, sessionId, actor),
    revokeSubject: (subject, actor) =>
      sessionTraced('revokeSubject')
        ? traceSession(
            'revokeSubject',
            ctx,
            (c) => revokeSubject(c, subject, actor),
            countedOutcome('revoked'),
          )
        : revokeSubject(ctx, subject, actor),
    subjectIndexOf: async (subject) => ctx.indexOf(toIdentity(subject)),
    listSessions: (subject, actor) =>
      sessionTraced('listSessions')
        ? traceSession(
            'listSessions',
            ctx,
            (c) => listSessions(c, subject, actor),
            countedOutcome('listed'),
          )
        : listSessions(ctx, subject, actor),
    deposit: (tokens, opts, actor) =>
      sessionTraced('deposit')
        ? traceSession(
            'deposit',
            ctx,
            (c) => deposit(c, tokens as DepositTokens, opts, actor),
            createdOutcome,
          )
        : deposit(ctx, tokens as DepositTokens, opts, actor),
    replaceTokens: (ticket, tokens, actor) =>
      sessionTraced('replaceTokens')
        ? traceSession(
            'replaceTokens',
            ctx,
            (c) => replaceTokens(c, ticket, tokens as DepositTokens, actor),
            replacedOutcome,
          )
        : replaceTokens(ctx, ticket, tokens as DepositTokens, actor),
    refreshUpstream: (ticket, refresher, opts, actor) =>
      refreshUpstream(ctx, ticket, refresher, opts, actor),
    rewrap: (opts, actor) =>
      sessionTraced('rewrap')
        ? traceSession(
            'rewrap',
            ctx,
            (c) =>
              rewrap(
                c,
                { ...opts, onProgress: progressPublisher(ctx.store.name, opts?.onProgress) },
                actor,
              ),
            rewrapOutcome,
          )
        : rewrap(ctx, opts, actor),
    sweep: (actor) =>
      sessionTraced('sweep')
        ? traceSession('sweep', ctx, (c) => sweep(c, actor), countedOutcome('swept'))
        : sweep(ctx, actor),
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
    health: (opts) => health(ctx, opts),
    close: async () => {
      if (ctx.closed) return;
      ctx.closed = true;
      // The channel first: it may ride on the store's connection.
      try {
        await ctx.nearCache?.close();
      } finally {
        await ctx.store.close();
      }
    },
  };
}
