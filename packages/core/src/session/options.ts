import type { Cipher } from '../contracts/cipher';
import { ConfigInvalid } from '../errors';
import type { EventSink } from '../audit/events';
import type { KeyProvider } from '../contracts/keys';
import type { ClaimProtector } from '../claims/claim-protection';
import type { TokenIssuer } from '../contracts/token-issuer';
import type { AccessPolicy } from '../contracts/policy';
import type { SessionStore, SubjectLimit } from '../contracts/store';
import { MAX_SUBJECT_LIMIT } from '../store-kit/checks';

/** Session lifetimes, in milliseconds. */
export interface TtlOptions {
  /**
   * Idle timeout: a session unused this long dies. Activity (`resolve`)
   * extends it, never past `absolute`.
   * @default 1_800_000 (30 minutes)
   */
  readonly idle?: number;
  /**
   * Absolute timeout from creation; refresh does not extend it.
   * @default 43_200_000 (12 hours)
   */
  readonly absolute?: number;
  /**
   * Lifetime of each issued JWT. Renewed on `resolve` when a third of it
   * remains; its `exp` never passes the absolute deadline.
   * @default 900_000 (15 minutes)
   */
  readonly token?: number;
}

/**
 * The near cache (SEC-32): resolved sessions kept in this process, answered
 * without a store read while the store's invalidation channel is live. See
 * docs/guides/near-cache.md.
 */
export interface NearCacheOptions {
  /**
   * Most sessions held at once; past it the least recently used (clock
   * second-chance) leave first. Memory is about 1-3 KiB per session (its
   * token, claims and metadata).
   * @default 10_000
   */
  readonly maxEntries?: number;
  /**
   * Longest time, in ms, a session (its plaintext token included) stays in
   * the cache after it was read from the store; it is then read again. Also
   * bounded by `touchIntervalMs`: a hit due a touch goes to the store.
   * @default 60_000
   */
  readonly maxAgeMs?: number;
}

/** Options of {@link createCloakroom}. */
export interface CloakroomOptions {
  /** Where sealed sessions live. `close()` on the manager closes it. */
  readonly store: SessionStore;
  /** Signing, storage and index keys (`staticKeys(...)` or a rotating provider). */
  readonly keys: KeyProvider;
  /** Encryption at rest. @default `createAesGcmCipher({ keys })` */
  readonly cipher?: Cipher;
  /** Access policy for every operation. @default `defaultPolicy()` */
  readonly policy?: AccessPolicy;
  /** `iss` of issued tokens, required when verifying. */
  readonly issuer: string;
  /** `aud` of issued tokens, required when verifying. */
  readonly audience: string;
  /** JOSE `typ` header of issued tokens, required when verifying. @default 'at+jwt' */
  readonly typ?: string;
  readonly ttl?: TtlOptions;
  /**
   * Minimum time between two writes that record activity on one session, so
   * reads do not all become writes. The idle deadline is accurate to this.
   * @default one tenth of the idle timeout, at most 60 000
   */
  readonly touchIntervalMs?: number;
  /**
   * After `refresh`, how long presenting the old ticket to `refresh` again
   * returns the same successor (racing tabs, retried requests). After it,
   * the old ticket is reuse: the whole family is revoked.
   * @default 10_000
   */
  readonly refreshGraceMs?: number;
  /**
   * Seal each session's subject, claims and token a second time, under a key
   * derived from the ticket itself (inside the storage-key layer). A dump of
   * the store plus every server key then opens no token: only a request
   * carrying the ticket can. Operators still list, revoke and rewrap (they
   * use the outer layer). Set `false` only if the server must read sessions
   * without their ticket (e.g. background token refresh); the secrets are then
   * protected by the storage keys alone.
   *
   * A ticket-bound manager refuses sessions whose secrets are not sealed
   * under their ticket (anyone with the storage key could have written
   * them: docs/security/ticket-binding.md, "Downgrade"). Sessions created
   * while this was `false` therefore stop resolving (`null`, a `tampered`
   * event) once it is `true` again; their users sign in again.
   * @default true
   */
  readonly ticketBound?: boolean;
  /**
   * Encrypt sensitive claims (nested JWE) and HMAC lookup claims in every
   * token this instance signs, so a forwarded or logged token reveals
   * neither (SEC-25). The sealed session keeps the original claims.
   * @default none
   */
  readonly claimProtection?: ClaimProtector;
  /** External issuers whose access tokens `deposit` accepts (see `trustedIssuer`). @default none */
  readonly trustedIssuers?: readonly TokenIssuer[];
  /**
   * The tenant this manager serves, when several tenants (or apps) share one
   * store and index key: part of every subject's namespace (SEC-29), so
   * tenant A's user `123` and tenant B's user `123` never reach each other's
   * sessions through `listSessions`, `revokeSubject` or `revokeSession`.
   * `[A-Za-z0-9._-]{1,64}`. It separates identities, not data: a manager
   * still opens any record its keys open (a ticket from another tenant
   * resolves if the keys are shared). Give each tenant its own keys, or its
   * own store prefix or schema, to separate data too.
   * @default none (one namespace per issuer, plus the app's own)
   */
  readonly tenant?: string;
  /** Clock skew tolerated when verifying tokens, in seconds. @default 5 */
  readonly clockToleranceSec?: number;
  /** Audit sink; events carry hashed ids only. */
  readonly onEvent?: EventSink;
  /** Receives exceptions thrown by `onEvent`. @default emits a process warning (no event data) */
  readonly onEventError?: (error: unknown) => void;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /**
   * Keep resolved sessions in this process and answer `resolve` from them
   * while the store's invalidation channel ({@link SessionStore.watch}) is
   * live (SEC-32). `true` takes the defaults. Needs a store with `watch`
   * (Redis, PostgreSQL): any other store is a `ConfigInvalid` at
   * construction, never a silent no-op, so a deployment that believes it
   * has a cache finds out at start-up. Revocation still reaches this
   * process within the channel's `boundMs`; writes made here are dropped
   * from the cache at once.
   *
   * @example
   * ```ts
   * const cloakroom = createCloakroom({ store: redisStore, keys, issuer, audience,
   *   nearCache: { maxEntries: 50_000, maxAgeMs: 30_000 } });
   * ```
   * @default off
   */
  readonly nearCache?: boolean | NearCacheOptions;
  /**
   * At most `max` concurrent sessions per subject (per identity: a deposited
   * provider's subjects are counted apart from the app's own). When a
   * subject is full, `evict: 'oldest'` (the default) ends the sessions that
   * signed in first to make room, with a `session.evicted` event each;
   * `evict: 'refuse'` makes `create` / `deposit` throw `SessionLimitReached`
   * and changes nothing. Enforced by the store in one atomic step
   * ({@link SessionStore.insertWithLimit}), so a fleet creating sessions at
   * once never goes over it; a store without `insertWithLimit` is a
   * `ConfigInvalid` at construction. A refresh keeps its session's seat and
   * place: it is the same sign-in.
   *
   * @example
   * ```ts
   * const cloakroom = createCloakroom({ store, keys, issuer, audience,
   *   sessionLimit: { max: 5, evict: 'oldest' } });
   * ```
   * @default no limit
   */
  readonly sessionLimit?: SessionLimitOptions;
}

/** The per-subject session limit of {@link CloakroomOptions.sessionLimit}. */
export interface SessionLimitOptions {
  /** Most concurrent sessions of one subject: an integer from 1 to 1,000. */
  readonly max: number;
  /** What a new session does to a full subject. @default 'oldest' */
  readonly evict?: 'oldest' | 'refuse';
}

/**
 * Validate `sessionLimit`; `undefined` when there is none. A store without
 * `insertWithLimit` is refused: a limit it cannot hold atomically would be a
 * limit in name only.
 */
export function resolveSessionLimit(options: CloakroomOptions): SubjectLimit | undefined {
  const raw: unknown = options.sessionLimit;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigInvalid("sessionLimit must be { max, evict?: 'oldest' | 'refuse' }");
  }
  const o = raw as SessionLimitOptions;
  const evict = o.evict ?? 'oldest';
  if (!Number.isSafeInteger(o.max) || o.max < 1 || o.max > MAX_SUBJECT_LIMIT) {
    throw new ConfigInvalid(`sessionLimit.max must be an integer from 1 to ${MAX_SUBJECT_LIMIT}`);
  }
  if (evict !== 'oldest' && evict !== 'refuse') {
    throw new ConfigInvalid("sessionLimit.evict must be 'oldest' or 'refuse'");
  }
  const limit: SubjectLimit = { max: o.max, evict };
  if (typeof options.store?.insertWithLimit !== 'function') {
    throw new ConfigInvalid(
      'sessionLimit needs a store that enforces it atomically (insertWithLimit); this store has none',
    );
  }
  return limit;
}

/** {@link NearCacheOptions} with its defaults filled. */
export interface NearCacheSettings {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
}

const MAX_CACHE_ENTRIES = 10_000_000;
const MAX_CACHE_AGE_MS = 86_400_000;

/**
 * Validate `nearCache`; `undefined` when it is off. A near cache on a store
 * without an invalidation channel is refused (fail loud): it could never
 * answer, and a silent no-op would hide a misconfiguration.
 */
export function resolveNearCache(options: CloakroomOptions): NearCacheSettings | undefined {
  const raw: unknown = options.nearCache;
  if (raw === undefined || raw === false) return undefined;
  if (raw !== true && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new ConfigInvalid('nearCache must be true, false or { maxEntries?, maxAgeMs? }');
  }
  const o = raw === true ? {} : (raw as NearCacheOptions);
  const maxEntries = o.maxEntries ?? 10_000;
  if (typeof maxEntries !== 'number' || !Number.isSafeInteger(maxEntries) || maxEntries <= 0) {
    throw new ConfigInvalid('nearCache.maxEntries must be a positive integer');
  }
  const maxAgeMs = positiveInt('nearCache.maxAgeMs', o.maxAgeMs, 60_000);
  if (maxEntries > MAX_CACHE_ENTRIES) {
    throw new ConfigInvalid(`nearCache.maxEntries must be at most ${MAX_CACHE_ENTRIES}`);
  }
  if (maxAgeMs > MAX_CACHE_AGE_MS) {
    throw new ConfigInvalid(`nearCache.maxAgeMs must be at most ${MAX_CACHE_AGE_MS} (one day)`);
  }
  if (typeof options.store?.watch !== 'function') {
    throw new ConfigInvalid(
      'nearCache needs a store with an invalidation channel (watch), such as Redis or PostgreSQL; this store has none',
    );
  }
  return { maxEntries, maxAgeMs };
}

export interface ResolvedTimes {
  readonly idle: number;
  readonly absolute: number;
  readonly token: number;
  readonly touch: number;
  readonly grace: number;
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigInvalid(`${name} must be a positive integer number of milliseconds`);
  }
  return value;
}

/** Validate options and fill defaults; throws ConfigInvalid. */
export function resolveTimes(options: CloakroomOptions): ResolvedTimes {
  const absolute = positiveInt('ttl.absolute', options.ttl?.absolute, 12 * 3600_000);
  const idle = positiveInt('ttl.idle', options.ttl?.idle, Math.min(30 * 60_000, absolute));
  const token = positiveInt('ttl.token', options.ttl?.token, Math.min(15 * 60_000, absolute));
  if (idle > absolute) throw new ConfigInvalid('ttl.idle must not exceed ttl.absolute');
  if (token > absolute) throw new ConfigInvalid('ttl.token must not exceed ttl.absolute');
  if (token < 2000) throw new ConfigInvalid('ttl.token must be at least 2000 ms');
  const touch = positiveInt(
    'touchIntervalMs',
    options.touchIntervalMs,
    Math.max(1, Math.min(60_000, Math.floor(idle / 10))),
  );
  if (touch > idle) throw new ConfigInvalid('touchIntervalMs must not exceed ttl.idle');
  const grace =
    options.refreshGraceMs === 0
      ? 0
      : positiveInt('refreshGraceMs', options.refreshGraceMs, 10_000);
  return { idle, absolute, token, touch, grace };
}

/** Structural checks that catch a wrong object passed as store/keys/cipher/policy. */
export function checkShape(options: CloakroomOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigInvalid('createCloakroom needs an options object');
  }
  const need = (what: string, obj: unknown, methods: readonly string[]) => {
    for (const m of methods) {
      if (typeof (obj as Record<string, unknown> | undefined)?.[m] !== 'function') {
        throw new ConfigInvalid(`${what} is missing method ${m}()`);
      }
    }
  };
  need('store', options.store, [
    'insert',
    'get',
    'replace',
    'rotate',
    'delete',
    'deleteBySubject',
    'listBySubject',
    'scan',
    'close',
  ]);
  need('keys', options.keys, ['signingKey', 'verificationKey', 'storageKeys', 'indexKey', 'jwks']);
  if (options.keys.snapshot !== undefined && typeof options.keys.snapshot !== 'function') {
    throw new ConfigInvalid('keys.snapshot must be a method when present');
  }
  if (options.cipher !== undefined) need('cipher', options.cipher, ['seal', 'open', 'keyIdOf']);
  if (options.policy !== undefined) need('policy', options.policy, ['authorize']);
  if (options.claimProtection !== undefined) {
    need('claimProtection', options.claimProtection, ['protect', 'hashValue']);
  }
  for (const [name, value] of [
    ['issuer', options.issuer],
    ['audience', options.audience],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
      throw new ConfigInvalid(`${name} must be a non-empty string`);
    }
  }
  if (
    options.typ !== undefined &&
    (typeof options.typ !== 'string' || !/^[\w.+/-]{1,64}$/.test(options.typ))
  ) {
    throw new ConfigInvalid('typ must be a short media-type string such as "at+jwt"');
  }
  if (
    options.tenant !== undefined &&
    (typeof options.tenant !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(options.tenant))
  ) {
    throw new ConfigInvalid('tenant must match [A-Za-z0-9._-]{1,64}');
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new ConfigInvalid('onEvent must be a function');
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new ConfigInvalid('clock must be a function returning epoch milliseconds');
  }
}
