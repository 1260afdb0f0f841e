// Shared internals of the session manager: sealing records, signing tokens,
// authorizing, emitting events. Internal: not re-exported.
import { createAesGcmCipher } from '../crypto/aes-gcm-cipher';
import {
  type CloakroomOptions,
  type ResolvedTimes,
  checkShape,
  resolveSessionLimit,
  resolveTimes,
} from './options';
import { defaultPolicy } from '../policy/default-policy';
import { AccessDenied, Closed, InvalidArgument } from '../errors';
import type { CloakroomEvent } from '../audit/events';
import { type SignedToken, createSigner } from './signing';
import { publicRandomId } from '../crypto/random-pool';
import { forbiddenKeyIn } from '../lib/forbidden-keys';
import type { TokenIssuer } from '../contracts/token-issuer';
import type { KeyProvider } from '../contracts/keys';
import type { AccessPolicy, Action, Actor } from '../contracts/policy';
import type { LivePayload } from '../crypto/payload-format';
import { type RecordSealing, createRecordSealing } from '../crypto/record-sealing';
import type { SessionStore, SubjectLimit } from '../contracts/store';
import { namespaceKeyCache, subjectIndex } from '../crypto/subject-index';
import { type Identity, targetOf } from './identity';
import { type SessionCache, nearCacheFor } from './near-cache';
import { traceStore } from '../diagnostics/trace-store';

// Distributive Omit over the event union.
type WithoutAt<E> = E extends unknown ? Omit<E, 'at'> : never;
export type EventInput = WithoutAt<CloakroomEvent>;

const RESERVED_CLAIMS = new Set(['iss', 'aud', 'sub', 'exp', 'iat', 'nbf', 'jti', 'cnf']);
const MAX_CLAIMS_BYTES = 16 * 1024;

// The manager's collaborators, one interface per concern. An operation
// declares the ones it uses (`Pick`-free intersections such as
// `Sealing & Auditing`), so what it depends on is visible in its signature
// and a test can hand it just those.

/** Configuration read by the operations; fixed at construction. */
export interface SessionConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly typ: string;
  readonly clockToleranceSec: number;
  readonly trustedIssuers: readonly TokenIssuer[];
  readonly times: ResolvedTimes;
  readonly now: () => number;
}

/** Where records live. */
export interface Storage {
  readonly store: SessionStore;
  /** The near cache of resolved sessions (SEC-32), when `nearCache` is on. */
  readonly nearCache?: SessionCache | undefined;
  /** The per-subject seat limit new sessions are inserted under (`sessionLimit`), if any. */
  readonly sessionLimit?: SubjectLimit | undefined;
}

/**
 * Sealing records and their ticket-bound secrets (crypto/record-sealing.ts;
 * formats in crypto/format.ts): a ticket-bound record with the default
 * cipher, two layers with a custom one.
 */
/**
 * Sealing records and their ticket-bound secrets: the crypto module's
 * {@link RecordSealing}, named here beside the other collaborators.
 */
export interface Sealing extends RecordSealing {}

/** Signing the app's own tokens, and the keys behind every layer. */
export interface Signing {
  readonly keys: KeyProvider;
  /**
   * A token for `subject` (claims protected when configured): the result
   * itself when the keys are in memory and nothing needs an await, else a
   * promise. May throw synchronously.
   */
  signFor(
    subject: string,
    claims: Record<string, unknown>,
    now: number,
    abs: number,
  ): SignedToken | Promise<SignedToken>;
}

/** Access decisions and the subject index they are keyed by. */
export interface Access {
  readonly policy: AccessPolicy;
  /**
   * Resolves when allowed, rejects with AccessDenied otherwise. `undefined`
   * means a synchronous policy allowed at once (the hot path skips an await).
   */
  authorize(action: Action, actor: Actor | undefined, target?: Identity): Promise<void> | undefined;
  /** The subject index of an identity in this manager's namespace (SEC-29). */
  indexOf(identity: Identity): Promise<string>;
  /** The index records written before namespaces carry: HMAC of the bare subject. */
  legacyIndexOf(subject: string): Promise<string>;
}

/** Audit events. */
export interface Auditing {
  emit(event: EventInput): void;
}

/** Open or closed. */
export interface Lifecycle {
  closed: boolean;
  ensureOpen(): void;
}

/** Everything, for the manager that wires it; operations take less. */
export interface SessionContext
  extends SessionConfig,
    Storage,
    Sealing,
    Signing,
    Access,
    Auditing,
    Lifecycle {}

export function createContext(options: CloakroomOptions): SessionContext {
  checkShape(options);
  const times = resolveTimes(options);
  const now = options.clock ?? Date.now;
  const onEvent = options.onEvent;
  const onEventError =
    options.onEventError ??
    (() =>
      process.emitWarning('a Cloakroom onEvent sink threw; the event was dropped', {
        code: 'CLOAKROOM_EVENT_SINK',
      }));
  const policy = options.policy ?? defaultPolicy();
  const keys = options.keys;
  const tolerance = options.clockToleranceSec ?? 5;
  const sealing = createRecordSealing(
    options.cipher ?? createAesGcmCipher({ keys }),
    options.ticketBound ?? true,
  );
  const tenant = options.tenant ?? '';
  // Namespace index keys, derived once per index key and issuer.
  const namespaceKey = namespaceKeyCache(tenant);

  // Read the answer defensively: a hostile or broken object may throw on access.
  const settle = (
    action: Action,
    actor: Actor | undefined,
    decision: unknown,
    target: Identity | undefined,
  ): Promise<never> | undefined => {
    let allow = false;
    let reason = 'denied';
    try {
      if (typeof decision === 'object' && decision !== null) {
        allow = (decision as { allow?: unknown }).allow === true;
        const r = (decision as { reason?: unknown }).reason;
        if (typeof r === 'string') reason = r.slice(0, 200);
      }
    } catch {
      allow = false;
      reason = 'policy threw';
    }
    return allow ? undefined : deny(action, actor, reason, target);
  };
  const deny = (
    action: Action,
    actor: Actor | undefined,
    reason: string,
    target?: Identity,
  ): Promise<never> => {
    ctx.emit({
      type: 'access.denied',
      action,
      reason,
      ...(typeof actor?.id === 'string' ? { actorId: actor.id } : {}),
    });
    // Acting on a subject by name is the denial newcomers meet first (a
    // missing actor): say what the default rules need, never who was named.
    const hint =
      target === undefined
        ? ''
        : actor?.subject === undefined
          ? ' (no actor subject: pass the signed-in user as the actor, e.g. identityOf(session), or use a policy that grants this action)'
          : ' (the actor is not this subject in this namespace, and no policy grants it)';
    return Promise.reject(new AccessDenied(`access denied: ${action}${hint}`));
  };

  const signFor = createSigner({
    keys,
    protector: options.claimProtection,
    issuer: options.issuer,
    audience: options.audience,
    typ: options.typ ?? 'at+jwt',
    tokenMs: times.token,
  });

  const ctx: SessionContext = {
    store: traceStore(options.store),
    nearCache: nearCacheFor(options, now),
    sessionLimit: resolveSessionLimit(options),
    keys,
    cipher: sealing.cipher,
    policy,
    issuer: options.issuer,
    audience: options.audience,
    typ: options.typ ?? 'at+jwt',
    clockToleranceSec: tolerance,
    trustedIssuers: [...(options.trustedIssuers ?? [])],
    times,
    now,
    closed: false,
    emit(event) {
      if (onEvent === undefined) return;
      try {
        onEvent({ ...event, at: now() } as CloakroomEvent);
      } catch (error) {
        onEventError(error);
      }
    },
    authorize(action, actor, target) {
      let answer: unknown;
      try {
        const request =
          target === undefined ? { action, actor } : { action, actor, target: targetOf(target) };
        answer = policy.authorize(request);
      } catch {
        return deny(action, actor, 'policy threw', target);
      }
      // Synchronous policies (the default, role and address rules) cost no extra await on the hot path.
      if (answer instanceof Promise) {
        return answer.then(
          (decision) => settle(action, actor, decision, target),
          () => deny(action, actor, 'policy threw', target),
        );
      }
      return settle(action, actor, answer, target);
    },
    async indexOf(identity) {
      const key = namespaceKey(await keys.indexKey(), identity.issuer);
      return subjectIndex(identity.subject, key);
    },
    async legacyIndexOf(subject) {
      return subjectIndex(subject, await keys.indexKey());
    },
    seal: sealing.seal,
    sealNow: sealing.sealNow,
    open: sealing.open,
    openNow: sealing.openNow,
    sealSecrets: sealing.sealSecrets,
    openSecrets: sealing.openSecrets,
    signFor,
    ensureOpen() {
      if (ctx.closed) throw new Closed('this Cloakroom instance is closed');
    },
  };
  return ctx;
}

/** Validates application claims: a plain JSON object without registered claims, bounded in size. */
export function checkClaims(claims: unknown): Record<string, unknown> {
  if (claims === undefined) return {};
  checkPlainClaims(claims);
  let json: string | undefined;
  try {
    json = JSON.stringify(claims);
  } catch (cause) {
    throw new InvalidArgument('claims must be JSON-serializable', { cause });
  }
  // `toJSON` can turn a checked object into anything: check what will really be signed.
  if (typeof json !== 'string') throw new InvalidArgument('claims must be JSON-serializable');
  if (Buffer.byteLength(json) > MAX_CLAIMS_BYTES) {
    throw new InvalidArgument(`claims exceed ${MAX_CLAIMS_BYTES} bytes of JSON`);
  }
  const parsed: unknown = JSON.parse(json);
  checkPlainClaims(parsed);
  // After the round trip: what JSON.parse makes of `"__proto__"` is what would be signed.
  const forbidden = forbiddenKeyIn(parsed);
  if (forbidden !== undefined) {
    throw new InvalidArgument(
      `claims must not contain ${forbidden} (at any depth): it would alter the prototype of objects built from them`,
    );
  }
  return parsed as Record<string, unknown>;
}

function checkPlainClaims(claims: unknown): asserts claims is Record<string, unknown> {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new InvalidArgument('claims must be a plain object');
  }
  const proto = Object.getPrototypeOf(claims);
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidArgument('claims must be a plain object');
  }
  for (const name of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(name)) {
      throw new InvalidArgument(
        `claim "${name.slice(0, 64)}" is set by Cloakroom and cannot be supplied`,
      );
    }
  }
}

/** When a live session dies: its idle or its absolute deadline, whichever is first. */
export function liveExpiry(p: Pick<LivePayload, 'idle' | 'abs'>): number {
  return Math.min(p.idle, p.abs);
}

// The store keeps a live record this long past the session's death, so a
// late `resolve` still finds it and reports `expired` (idle or absolute)
// rather than `missing`. Core checks the deadlines itself (isUsable), so a
// record in this margin never answers as a session.
const EXPIRY_REPORT_MS = 60_000;

/** The store-side `expiresAt` of a live record. */
export function recordExpiry(p: Pick<LivePayload, 'idle' | 'abs'>): number {
  return liveExpiry(p) + EXPIRY_REPORT_MS;
}

/** A fresh refresh-lineage id. */
export function newFamily(): string {
  return publicRandomId(16);
}
