// Upstream refresh of a deposited session, once across a fleet (SEC-34).
//
// The provider's refresh token may be used once: providers that rotate it
// revoke the whole grant when an old one comes back. So exactly one caller,
// in any process, may hold it at the provider at a time. The record's
// version is the lock: a caller takes a lease by compare-and-swap (the
// `up` marker inside the sealed outer payload, with its own expiry), calls
// the provider, and writes the new tokens with a second compare-and-swap
// that clears the lease. Everybody else sees the lease and either keeps
// using the still-valid access token or polls the record with backoff until
// the lease is gone. No second coordination service: only `store.replace`.
//
// Bounded everywhere: the refresher runs under a deadline below the lease,
// waiters give up after the lease (plus one deadline) has passed, and a
// lease whose holder died expires and may be taken over.
import { InvalidArgument, TokenRejected } from '../errors';
import { forbiddenKeyIn } from '../lib/forbidden-keys';
import { publicRandomId } from '../crypto/random-pool';
import type { LivePayload, SessionSecrets } from '../crypto/payload-format';
import type { SessionRecord } from '../contracts/store';
import type { DepositTokens } from '../contracts/token-issuer';
import type { Actor } from '../contracts/policy';
import type { Ticket } from '../ticket/ticket';
import { type SessionContext, recordExpiry } from './context';
import { isUsable, load, secretsOrReject } from './load';

/**
 * What a {@link UpstreamRefresher} answers: the provider's new tokens, or
 * its refusal of the refresh token (`invalid_grant`: revoked, expired, reused).
 * Anything else (network error, 5xx, timeout) is a throw.
 */
export type UpstreamGrant =
  | { readonly tokens: DepositTokens }
  | { readonly rejected: 'invalid_grant' };

/**
 * Calls the provider's token endpoint with `grant_type=refresh_token`.
 * Must honour `signal` (pass it to `fetch`): Cloakroom aborts it at the
 * deadline, before the lease runs out. Never log `refreshToken`.
 */
export type UpstreamRefresher = (
  refreshToken: string,
  init: { readonly signal: AbortSignal },
) => Promise<UpstreamGrant>;

/** Options of `refreshUpstream`. */
export interface RefreshUpstreamOptions {
  /** Refresh when the access token has less than this left, in ms. @default 30_000 */
  readonly earlyMs?: number;
  /** Refresh even if the access token is not near expiry (e.g. after a 401 upstream). @default false */
  readonly force?: boolean;
  /**
   * How long one refresher holds the refresh token, in ms; others wait at
   * most this long (plus polling) before taking over from a holder that died.
   * @default 15_000
   */
  readonly leaseMs?: number;
  /** Deadline for the refresher (aborts its signal), in ms; below `leaseMs`. @default leaseMs - 2_000 */
  readonly timeoutMs?: number;
}

/**
 * The outcome of `refreshUpstream`; never a hang, and a store failure is the
 * only throw (StoreUnavailable) besides bad options
 * (an answer that is not an {@link UpstreamGrant} counts as `unavailable`).
 * - `fresh`: no refresh was needed (or another caller is refreshing and the
 *   current token is still valid); `token` is usable.
 * - `refreshed`: this call refreshed at the provider.
 * - `joined`: another caller (any instance) refreshed; this one waited and uses its result.
 * - `unavailable`: the provider failed or timed out (here or at the caller
 *   that held the lease). The session is kept; `token` is the old one, and
 *   `tokenExpired` says whether it is still usable. Answer 503 and retry later.
 * - `rejected`: the provider refused the refresh token (`invalid_grant`):
 *   the session was revoked (the user signs in again).
 * - `missing`: the ticket does not resolve to a live deposited session with a refresh token.
 */
export type UpstreamResult =
  | {
      readonly status: 'fresh' | 'refreshed' | 'joined' | 'unavailable';
      /** The provider's access token to forward. */
      readonly token: string;
      readonly tokenExpiresAt: number;
      /** Only when true: `token` has expired (status `unavailable`). */
      readonly tokenExpired?: true;
      /** The provider's ID token, if one was kept. */
      readonly idToken?: string;
    }
  | { readonly status: 'rejected' | 'missing' };

/** The lease marker inside a leased payload's sealed outer layer. */
interface Lease {
  /** Random id of the holder (one call). */
  readonly by: string;
  /** Epoch ms after which another caller may take over. */
  readonly until: number;
}
type UpPayload = LivePayload & { readonly up?: Lease };

const DEFAULT_EARLY = 30_000;
const DEFAULT_LEASE = 15_000;
const MAX_POLL_MS = 250;
/** Loops on a lost compare-and-swap (a concurrent touch) before answering `unavailable`. */
const MAX_ROUNDS = 64;

function resolveOptions(options: RefreshUpstreamOptions | undefined) {
  const earlyMs = options?.earlyMs ?? DEFAULT_EARLY;
  const leaseMs = options?.leaseMs ?? DEFAULT_LEASE;
  const timeoutMs = options?.timeoutMs ?? Math.max(leaseMs - 2_000, Math.floor(leaseMs / 2));
  for (const [name, v] of [
    ['earlyMs', earlyMs],
    ['leaseMs', leaseMs],
    ['timeoutMs', timeoutMs],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new InvalidArgument(`${name} must be a non-negative integer`);
    }
  }
  if (leaseMs < 100 || timeoutMs >= leaseMs) {
    throw new InvalidArgument('leaseMs must be at least 100 and above timeoutMs');
  }
  return { earlyMs, leaseMs, timeoutMs, force: options?.force === true };
}

type Loaded = {
  ticket: Ticket;
  id: string;
  record: SessionRecord;
  payload: UpPayload;
  secrets: SessionSecrets;
};

/** The live deposited session with a refresh token behind the ticket, or null. */
async function loadLive(ctx: SessionContext, ticket: unknown): Promise<Loaded | null> {
  const loaded = await load(ctx, ticket, 'refresh');
  if (loaded === null || loaded.payload.k !== 'live' || loaded.payload.ext === undefined) {
    return null;
  }
  const { id, payload } = loaded;
  if (!(await isUsable(ctx, id, payload, ctx.now(), 'refresh'))) return null;
  const secrets = secretsOrReject(ctx, loaded.ticket, id, payload, 'refresh');
  if (secrets === null || secrets.refreshToken === undefined) return null;
  return { ...loaded, payload, secrets };
}

const current = (
  s: Loaded,
  status: 'fresh' | 'refreshed' | 'joined' | 'unavailable',
  now: number,
): UpstreamResult => ({
  status,
  token: s.secrets.token,
  tokenExpiresAt: s.payload.tokenExp,
  ...(now >= s.payload.tokenExp ? { tokenExpired: true } : {}),
  ...(s.secrets.idToken === undefined ? {} : { idToken: s.secrets.idToken }),
});

/** Write `next` over `s.record` by compare-and-swap; the record written, or null when it lost. */
async function write(
  ctx: SessionContext,
  s: Loaded,
  next: UpPayload,
): Promise<SessionRecord | null> {
  const { record } = s;
  const written: SessionRecord = {
    id: record.id,
    subject: record.subject,
    expiresAt: recordExpiry(next),
    version: record.version + 1,
    payload: await ctx.seal(record.id, record.subject, next),
  };
  try {
    return (await ctx.store.replace(written, record.version)) ? written : null;
  } finally {
    // The lease and the renewed tokens change what resolve answers: this
    // process stops answering the old record from its cache at once (SEC-32).
    ctx.nearCache?.invalidate(record.id);
  }
}

const withoutLease = (p: UpPayload): LivePayload => {
  const { up: _up, ...rest } = p;
  return rest;
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Refresh a deposited session's provider tokens when the access token is
 * near expiry, exactly once across every instance sharing the store.
 * See {@link UpstreamResult} for the outcomes.
 */
export async function refreshUpstream(
  ctx: SessionContext,
  ticket: unknown,
  refresher: UpstreamRefresher,
  options?: RefreshUpstreamOptions,
  actor?: Actor,
): Promise<UpstreamResult> {
  ctx.ensureOpen();
  if (typeof refresher !== 'function') throw new InvalidArgument('refresher must be a function');
  const opts = resolveOptions(options);
  await ctx.authorize('session.refresh', actor);
  // The lease we waited on, and the token we saw then: when the lease is
  // gone and the token is the same, its holder failed: answer `unavailable`
  // rather than queueing every waiter at a failing provider one by one.
  let waitedOn: { by: string; tokenExp: number } | undefined;
  // Waiting is bounded in real time (the clock option may stand still in tests).
  const giveUpAt = performance.now() + opts.leaseMs + opts.timeoutMs;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const s = await loadLive(ctx, ticket);
    if (s === null) return { status: 'missing' };
    const now = ctx.now();
    const lease = s.payload.up;
    if (waitedOn !== undefined && lease?.by !== waitedOn.by) {
      if (s.payload.tokenExp === waitedOn.tokenExp) return current(s, 'unavailable', now);
      // A renewed token that is already spent again (a slow wait): refresh anew.
      if (now < s.payload.tokenExp) return current(s, 'joined', now);
      waitedOn = undefined;
    }
    const due = opts.force || s.payload.tokenExp - now <= opts.earlyMs;
    if (!due) return current(s, 'fresh', now);
    if (lease !== undefined && now < lease.until) {
      // Someone holds the refresh token. A still-valid token serves meanwhile.
      if (!opts.force && now < s.payload.tokenExp) return current(s, 'fresh', now);
      if (performance.now() >= giveUpAt) return current(s, 'unavailable', now);
      waitedOn = { by: lease.by, tokenExp: s.payload.tokenExp };
      // Poll the bare record (no decryption) with backoff until its version
      // moves; then the top of the loop opens it and decides.
      await waitForVersion(ctx, s.record, giveUpAt);
      round--; // waiting on a live lease is bounded by giveUpAt, not by rounds
      continue;
    }
    // Free, or its holder died: take the lease.
    const mine: Lease = { by: publicRandomId(12), until: now + opts.leaseMs };
    const leasedPayload: UpPayload = { ...withoutLease(s.payload), up: mine };
    const record = await write(ctx, s, leasedPayload);
    if (record === null) continue;
    return holdLease(
      ctx,
      { ...s, record, payload: leasedPayload },
      mine,
      refresher,
      opts.timeoutMs,
    );
  }
  const s = await loadLive(ctx, ticket);
  return s === null ? { status: 'missing' } : current(s, 'unavailable', ctx.now());
}

/** Sleeps with backoff until the record's version moves, it is gone, or `giveUpAt` (performance.now()) passes. */
async function waitForVersion(
  ctx: SessionContext,
  record: SessionRecord,
  giveUpAt: number,
): Promise<void> {
  let pause = 10;
  while (performance.now() < giveUpAt) {
    await sleep(pause);
    const now = await ctx.store.get(record.id);
    if (now === null || now.version !== record.version) return;
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}

/** With the lease taken: ask the provider, then settle the record. */
async function holdLease(
  ctx: SessionContext,
  leased: Loaded,
  lease: Lease,
  refresher: UpstreamRefresher,
  timeoutMs: number,
): Promise<UpstreamResult> {
  let grant: UpstreamGrant | undefined;
  try {
    const answer: unknown = await withDeadline(
      refresher,
      leased.secrets.refreshToken as string,
      timeoutMs,
    );
    // Anything but the two shapes counts as a failed call: the lease is released below.
    grant =
      typeof answer === 'object' && answer !== null && ('tokens' in answer || 'rejected' in answer)
        ? (answer as UpstreamGrant)
        : undefined;
  } catch {
    grant = undefined; // provider down or timed out: settled below
  }
  if (grant !== undefined && 'rejected' in grant && grant.rejected === 'invalid_grant') {
    // The provider no longer honours this session: end it everywhere.
    let removed: boolean;
    try {
      removed = await ctx.store.delete(leased.id);
    } finally {
      ctx.nearCache?.invalidate(leased.id);
    }
    ctx.emit({
      type: 'session.revoked',
      sessionId: leased.id,
      subjectIndex: leased.record.subject,
      count: Number(removed),
    });
    return { status: 'rejected' };
  }
  let secrets: SessionSecrets | undefined;
  let verified: { tokenExp: number; kid: string } | undefined;
  let renewed = false;
  if (
    grant !== undefined &&
    'tokens' in grant &&
    typeof grant.tokens === 'object' &&
    grant.tokens !== null
  ) {
    const checked = await checkGrant(ctx, leased, grant.tokens).catch(() => undefined);
    if (checked !== undefined) {
      ({ secrets, verified } = checked);
      renewed = true;
    } else if (typeof grant.tokens.refreshToken === 'string') {
      // The provider rotated the refresh token but its access token does not
      // verify: keep the new refresh token (the old one is spent; using it
      // again would be reuse), keep the old access token, report unavailable.
      secrets = { ...leased.secrets, refreshToken: grant.tokens.refreshToken };
      verified = { tokenExp: leased.payload.tokenExp, kid: leased.payload.kid };
    }
  }
  // Settle: new tokens (or the old ones, lease released) while the lease is ours.
  let s: Loaded | null = leased;
  for (let attempt = 0; attempt < MAX_ROUNDS && s !== null; attempt++) {
    if (s.payload.up?.by !== lease.by) break; // taken over after our deadline
    const base = withoutLease(s.payload);
    const next: LivePayload =
      secrets === undefined || verified === undefined
        ? base
        : { ...base, ...verified, inner: ctx.sealSecrets(s.ticket, s.id, secrets) };
    if ((await write(ctx, s, next)) !== null) {
      if (!renewed || secrets === undefined) {
        return current(
          { ...s, payload: next, secrets: secrets ?? s.secrets },
          'unavailable',
          ctx.now(),
        );
      }
      ctx.emit({ type: 'session.touched', sessionId: s.id, tokenRenewed: true });
      return {
        status: 'refreshed',
        token: secrets.token,
        tokenExpiresAt: verified?.tokenExp ?? 0,
        ...(secrets.idToken === undefined ? {} : { idToken: secrets.idToken }),
      };
    }
    s = await loadLive(ctx, leased.ticket);
  }
  return s === null ? { status: 'missing' } : current(s, 'unavailable', ctx.now());
}

async function withDeadline(
  refresher: UpstreamRefresher,
  refreshToken: string,
  timeoutMs: number,
): Promise<UpstreamGrant> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error('upstream refresh timed out'));
      reject(new Error('upstream refresh timed out'));
    }, timeoutMs);
  });
  try {
    return await Promise.race([refresher(refreshToken, { signal: controller.signal }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The new tokens, verified like `replaceTokens` does: same issuer, same subject. */
async function checkGrant(
  ctx: SessionContext,
  s: Loaded,
  tokens: DepositTokens,
): Promise<{ secrets: SessionSecrets; verified: { tokenExp: number; kid: string } }> {
  const issuer = ctx.trustedIssuers.find((i) => i.issuer === s.payload.ext);
  if (issuer === undefined) throw new TokenRejected('the issuer is no longer trusted');
  const v = await issuer.verify(tokens.accessToken);
  if (v.payload.sub !== s.secrets.sub)
    throw new TokenRejected('the new token is for another subject');
  if (forbiddenKeyIn(v.payload) !== undefined) throw new TokenRejected('forbidden claim name');
  const secrets: SessionSecrets = {
    sub: s.secrets.sub,
    claims: { ...v.payload },
    token: tokens.accessToken,
    // A provider that does not rotate answers without a refresh token: keep ours.
    refreshToken: tokens.refreshToken ?? (s.secrets.refreshToken as string),
    ...((tokens.idToken ?? s.secrets.idToken) === undefined
      ? {}
      : { idToken: tokens.idToken ?? s.secrets.idToken }),
  };
  return { secrets, verified: { tokenExp: v.payload.exp * 1000, kid: v.header.kid ?? '' } };
}
