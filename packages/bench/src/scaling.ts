// Scaling cases: resolve as the store grows, rewrap of every record, and
// memory per session in the memory store.
import { randomBytes } from 'node:crypto';
import {
  type KeyProvider,
  type SessionStore,
  allowAll,
  generateSecret,
  sessionIdOf,
  staticKeys,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { createRedisStore } from '@cloakroom/store-redis';
import type { BenchConfig } from './config';
import { CLAIMS, type Fixture, cloakroomOver } from './fixture';
import { MiB, fullGc, rssSampler } from './heap';
import { populate, sessionMaker } from './populate';
import { type ResolveAtSize, alternateResolves } from './scaling-rounds';
import { TicketBook } from './ticket-book';
import { RUN_ID, deletePrefix, redisClient } from './targets';

export interface RewrapResult {
  readonly store: 'memory' | 'redis';
  readonly records: number;
  readonly rewrapped: number;
  /** False when the time budget stopped it (see `rewrapped`). */
  readonly complete: boolean;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly rssBeforeMiB: number;
  readonly rssPeakGrowthMiB: number;
  readonly heapGrowthMiB: number;
}

export interface MemoryPerSession {
  readonly sessions: number;
  readonly heapBytesPerSession: number;
  readonly externalBytesPerSession: number;
  readonly sealedPayloadBytes: number;
  /** The target: 1.5x the sealed payload + 200 bytes. */
  readonly budgetBytes: number;
}

/**
 * Keys for the scaling cases: HS256 signing, because populating a million
 * sessions through `create` with EdDSA would take minutes of signing alone,
 * and `resolve` never signs. The storage and index keys are the run's.
 */
function scalingKeys(fixture: Fixture, storage = [fixture.storageKeyInput]): KeyProvider {
  return staticKeys({
    signing: [{ alg: 'HS256', secret: scalingSecret }],
    storage,
    index: fixture.indexKey,
  });
}
const scalingSecret = generateSecret();

/**
 * Resolve at each size of `config.scaleSizes`: one store per size, all
 * populated first, then measured in alternating rounds (the size that goes
 * first rotates), so drift on a busy host hits every size alike. Then a
 * rewrap of the largest store.
 */
export async function resolveScaling(
  which: 'memory' | 'redis',
  fixture: Fixture,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<{ sizes: ResolveAtSize[]; rewrap: RewrapResult; sealedSize: number }> {
  const client = which === 'redis' ? redisClient(config) : undefined;
  const base = `cloakroom-bench-scale:${RUN_ID}:`;
  const keys = scalingKeys(fixture);
  const pools = config.scaleSizes.map((size, k) => {
    const store: SessionStore =
      client === undefined
        ? createMemoryStore({ maxSessions: size + 10_000 })
        : createRedisStore({ client, prefix: `${base}${k}:`, commandTimeoutMs: 30_000 });
    return {
      size,
      store,
      cloakroom: cloakroomOver(fixture, store, { keys, noWrites: true }),
      tickets: new TicketBook(size),
      /** Only with `--scale-tickets=strings|both`: one string per session, made after populating. */
      strings: [] as string[],
      populateSeconds: 0,
    };
  });
  try {
    for (const pool of pools) {
      const make = sessionMaker(pool.cloakroom);
      const t0 = performance.now();
      await populate(make, pool.tickets, pool.size);
      pool.populateSeconds = (performance.now() - t0) / 1000;
      log(`  ${which}: ${pool.size} sessions made in ${pool.populateSeconds.toFixed(1)} s`);
      if (config.scaleTickets.includes('strings')) {
        for (let i = 0; i < pool.size; i++) pool.strings.push(pool.tickets.at(i));
      }
    }
    // One case per size and ticket source, alternating.
    const sizes = await alternateResolves(
      pools.flatMap((pool) =>
        config.scaleTickets.map((tickets) => ({
          contender: 'cloakroom' as const,
          store: which,
          sessions: pool.size,
          tickets,
          book: pool.tickets,
          strings: pool.strings,
          populateSeconds: pool.populateSeconds,
          resolve: async (ticket: string) => (await pool.cloakroom.resolve(ticket)) !== null,
        })),
      ),
      config,
      log,
    );
    const largest = pools[pools.length - 1] as (typeof pools)[number];
    const sample = await largest.store.get(sessionIdOf(largest.tickets.at(0)));
    const sealedSize = sample?.payload.byteLength ?? 0;
    // Release the smaller stores before the rewrap, so its RSS reading sees only the largest.
    for (const pool of pools.slice(0, -1)) {
      await pool.cloakroom.close();
      pool.strings.length = 0;
    }
    largest.strings.length = 0;
    const rewrap = await rewrapAll(which, fixture, largest.store, largest.size);
    log(
      `  ${which}: rewrap of ${rewrap.records} records in ${rewrap.seconds.toFixed(1)} s, RSS +${rewrap.rssPeakGrowthMiB.toFixed(1)} MiB`,
    );
    return { sizes, rewrap, sealedSize };
  } finally {
    for (const pool of pools) await pool.cloakroom.close();
    if (client !== undefined) {
      await deletePrefix(client, base);
      client.disconnect();
    }
  }
}

/** Rewraps every record under a second storage key and reports peak RSS growth. */
async function rewrapAll(
  which: 'memory' | 'redis',
  fixture: Fixture,
  store: SessionStore,
  records: number,
): Promise<RewrapResult> {
  const next = { id: 'bench-b', key: new Uint8Array(randomBytes(32)) };
  const keys = scalingKeys(fixture, [next, fixture.storageKeyInput]);
  // A second manager over the same store: rewrap is an operator action, hence allowAll.
  const operator = cloakroomOver(fixture, store, { keys, policy: allowAll(), noWrites: true });
  fullGc();
  const before = process.memoryUsage();
  const sampler = rssSampler();
  const t0 = performance.now();
  // A store that rewraps slowly (one round trip per record) gets a time budget:
  // rewrap stops between pages and the report says how far it got.
  const budget = records > 200_000 && which === 'redis' ? AbortSignal.timeout(90_000) : undefined;
  const report = await operator.rewrap(budget === undefined ? {} : { signal: budget });
  const seconds = (performance.now() - t0) / 1000;
  const peak = sampler.stop();
  const after = process.memoryUsage();
  if (budget === undefined && (!report.complete || report.rewrapped !== records)) {
    throw new Error(
      `rewrap: ${report.rewrapped} of ${records} rewrapped (complete: ${report.complete})`,
    );
  }
  return {
    store: which,
    records,
    rewrapped: report.rewrapped,
    complete: report.complete,
    seconds,
    recordsPerSecond: report.rewrapped / seconds,
    rssBeforeMiB: before.rss / MiB,
    rssPeakGrowthMiB: (peak - before.rss) / MiB,
    heapGrowthMiB: (after.heapUsed - before.heapUsed) / MiB,
  };
}

/** Heap per session in a fresh memory store, against the sealed payload size. */
export async function memoryPerSession(
  fixture: Fixture,
  config: BenchConfig,
): Promise<MemoryPerSession> {
  const n = config.memorySessions;
  const store = createMemoryStore({ maxSessions: n + 10, sweepIntervalMs: 0 });
  const cloakroom = cloakroomOver(fixture, store, { keys: scalingKeys(fixture) });
  // Warm up code paths and the store's structures before the baseline.
  await cloakroom.revoke((await cloakroom.create('warm-up', { ...CLAIMS })).ticket);
  fullGc();
  const before = process.memoryUsage();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      // The ticket is dropped: only what the store keeps should count.
      await cloakroom.create(`mem-${next % 50_000}`, { ...CLAIMS });
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  fullGc();
  const after = process.memoryUsage();
  const page = await store.scan({ limit: 200 });
  const sealed =
    page.records.reduce((sum, r) => sum + r.payload.byteLength, 0) / page.records.length;
  await cloakroom.close();
  return {
    sessions: n,
    heapBytesPerSession: (after.heapUsed - before.heapUsed) / n,
    // `external` already includes `arrayBuffers` (off-heap backing stores):
    // adding both counted the memory store's payload arena twice.
    externalBytesPerSession: (after.external - before.external) / n,
    sealedPayloadBytes: sealed,
    budgetBytes: 1.5 * sealed + 200,
  };
}
