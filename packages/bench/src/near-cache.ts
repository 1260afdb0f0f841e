// The near cache (issue 16, target 2), as functions a store's bench can call
// with its own stores: the memory store with a channel double says nothing
// about a fleet, so nothing here picks a backend.
//
// - resolveWithNearCache: resolve over a hot working set with the cache on
//   and off, same store, alternating rounds; ops/s and CPU µs per resolve.
// - revocationLag: instance A revokes, instance B resolves the same ticket
//   in a tight loop; the time from A's revoke returning to B's first null,
//   and every non-null answer B gave after `boundMs` (stale answers).
//
// @example
// ```ts
// const run = await resolveWithNearCache({ fixture, store: () => createRedisStore(opts) });
// const lag = await revocationLag({ fixture, storeA: () => createRedisStore(opts), storeB: () => createRedisStore(opts), revokes: 1000 });
// ```
import { type Cloakroom, type SessionStore, createCloakroom } from '@cloakroom/core';
import { AUDIENCE, type Fixture, IDLE_MS, ISSUER } from './fixture';
import { type Sample, measure, median, pairedRatio } from './measure';

/** A manager over `store` with the near cache on or off; no touch writes during a run. */
export function cachedCloakroom(
  fixture: Fixture,
  store: SessionStore,
  nearCache: boolean | { maxEntries?: number; maxAgeMs?: number },
): Cloakroom {
  return createCloakroom({
    store,
    keys: fixture.keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    touchIntervalMs: IDLE_MS,
    ttl: { token: 12 * 3600_000 },
    nearCache,
  });
}

/** `store` with its `get` calls counted; everything else (watch included) passes through. */
export function countingGets(store: SessionStore): { store: SessionStore; gets: () => number } {
  let gets = 0;
  const counted: SessionStore = {
    name: store.name,
    capabilities: store.capabilities,
    insert: (r) => store.insert(r),
    get: (id) => {
      gets++;
      return store.get(id);
    },
    replace: (r, v) => store.replace(r, v),
    rotate: (o, n) => store.rotate(o, n),
    delete: (id) => store.delete(id),
    deleteBySubject: (s) => store.deleteBySubject(s),
    listBySubject: (s) => store.listBySubject(s),
    scan: (o) => store.scan(o),
    close: () => store.close(),
    ...(store.watch === undefined ? {} : { watch: store.watch.bind(store) }),
    ...(store.sweep === undefined ? {} : { sweep: store.sweep.bind(store) }),
  };
  return { store: counted, gets: () => gets };
}

/**
 * Resolves until a pass over `tickets` reads the store for at most 1% of
 * them (channel live, working set cached), or 10 s passed: a loaded machine
 * can make a channel's probe late, and each late probe empties the cache.
 */
/** Resolves every ticket until at most 1% of a pass reads the store (the cache holds the working set). */
export async function warm(
  cloakroom: Cloakroom,
  tickets: readonly string[],
  gets: () => number,
): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const before = gets();
    for (const t of tickets) await cloakroom.resolve(t);
    if (gets() - before <= tickets.length / 100 || performance.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface NearCacheRun {
  readonly cached: Sample[];
  readonly uncached: Sample[];
  /** Median of per-round ratios, cached ops/s over uncached ops/s. */
  readonly speedup: number;
  /** Store reads per resolve during the cached rounds (0 = every answer from the cache). */
  readonly cachedReadsPerResolve: number;
  /** CPU µs per resolve, medians over rounds. */
  readonly cachedCpuUs: number;
  readonly uncachedCpuUs: number;
}

/**
 * Resolve over `sessions` hot sessions, `inFlight` at a time, cache on and
 * off in alternating rounds of `roundMs`. `store` is called twice (one store
 * per manager); each must have `watch` for the cached side.
 */
export async function resolveWithNearCache(options: {
  readonly fixture: Fixture;
  readonly store: () => SessionStore;
  readonly sessions?: number;
  readonly inFlight?: number;
  readonly rounds?: number;
  readonly roundMs?: number;
}): Promise<NearCacheRun> {
  const { fixture } = options;
  const sessions = options.sessions ?? 1000;
  const inFlight = options.inFlight ?? 64;
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 1000;
  const counted = countingGets(options.store());
  const cachedSide = cachedCloakroom(fixture, counted.store, true);
  const plainSide = cachedCloakroom(fixture, options.store(), false);
  try {
    const tickets: string[] = [];
    for (let i = 0; i < sessions; i++) tickets.push((await plainSide.create(`u${i}`)).ticket);
    await warm(cachedSide, tickets, counted.gets);
    const run = (c: Cloakroom) =>
      measure(
        async (i) => {
          const ok = (await c.resolve(tickets[i % sessions] as string)) !== null;
          // Hits complete in microtasks; a server's event loop turns between
          // batches of requests, and so must this one, or the channel's
          // probes starve and it (rightly) stops vouching. Both sides alike.
          if (i % inFlight === 0) await new Promise((r) => setImmediate(r));
          return ok;
        },
        inFlight,
        roundMs,
        Number.MAX_SAFE_INTEGER,
      );
    const cached: Sample[] = [];
    const uncached: Sample[] = [];
    let reads = 0;
    const runCached = async () => {
      const before = counted.gets();
      const sample = await run(cachedSide);
      reads += counted.gets() - before;
      cached.push(sample);
    };
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        await runCached();
        uncached.push(await run(plainSide));
      } else {
        uncached.push(await run(plainSide));
        await runCached();
      }
    }
    const cpu = (s: Sample[]) => median(s.map((x) => x.cpuUs / Math.max(1, x.ops)));
    return {
      cached,
      uncached,
      speedup: pairedRatio(cached, uncached),
      cachedReadsPerResolve:
        reads /
        Math.max(
          1,
          cached.reduce((n, x) => n + x.ops, 0),
        ),
      cachedCpuUs: cpu(cached),
      uncachedCpuUs: cpu(uncached),
    };
  } finally {
    await cachedSide.close();
    await plainSide.close();
  }
}

export interface RevocationLag {
  readonly revokes: number;
  /** Milliseconds from A's revoke returning to B's first null answer. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers B gave for a revoked ticket more than `boundMs` after the revoke returned. */
  readonly staleAfterBound: number;
  readonly boundMs: number;
}

/**
 * Instance A (cache off) revokes; instance B (cache on) keeps resolving the
 * ticket until it answers null. Sessions are created and warmed on B in
 * batches of `batch`, then revoked one at a time.
 */
export async function revocationLag(options: {
  readonly fixture: Fixture;
  readonly storeA: () => SessionStore;
  readonly storeB: () => SessionStore;
  readonly revokes: number;
  /** The bound to count stale answers against (the channel's boundMs). */
  readonly boundMs: number;
  readonly batch?: number;
}): Promise<RevocationLag> {
  const a = cachedCloakroom(options.fixture, options.storeA(), false);
  const counted = countingGets(options.storeB());
  const b = cachedCloakroom(options.fixture, counted.store, true);
  const lags: number[] = [];
  let stale = 0;
  try {
    const batch = options.batch ?? 100;
    for (let done = 0; done < options.revokes; ) {
      const tickets: string[] = [];
      const n = Math.min(batch, options.revokes - done);
      for (let i = 0; i < n; i++) tickets.push((await a.create(`r${done + i}`)).ticket);
      await warm(b, tickets, counted.gets);
      for (const t of tickets) {
        await a.revoke(t);
        const revoked = performance.now();
        for (;;) {
          const answer = await b.resolve(t);
          const at = performance.now() - revoked;
          if (answer === null) {
            lags.push(at);
            break;
          }
          if (at > options.boundMs) stale++;
          // A hit completes in microtasks: without this turn of the event
          // loop, B's channel could never deliver (a server's requests
          // arrive as I/O, so its loop turns between them).
          await new Promise((r) => setImmediate(r));
          if (at > 10_000) throw new Error('B still answers a revoked session after 10 s');
        }
      }
      done += n;
    }
  } finally {
    await a.close();
    await b.close();
  }
  lags.sort((x, y) => x - y);
  const pick = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? 0;
  return {
    revokes: lags.length,
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    maxMs: lags.at(-1) ?? 0,
    staleAfterBound: stale,
    boundMs: options.boundMs,
  };
}
