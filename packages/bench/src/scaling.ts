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
import { MiB, fullGc, gcPauses, rssSampler } from './heap';
import { type Sample, type Stat, measure, median, stat } from './measure';
import { sessionMaker } from './populate';
import { TicketBook } from './ticket-book';
import { floorOps } from './floor';
import { memoryFloor } from './floor-backend';
import { RUN_ID, deletePrefix, redisClient } from './targets';

export interface ResolveAtSize {
  /** Cloakroom, or the floor (floor.ts) over a `Map`, measured the same way for reference. */
  readonly contender: 'cloakroom' | 'floor';
  readonly store: 'memory' | 'redis';
  readonly sessions: number;
  /** Where `resolve`'s tickets came from (see `scaleTickets` in config.ts). */
  readonly tickets: 'packed' | 'strings';
  readonly inFlight: number;
  readonly resolve: Stat;
  /** Each round's measurement, in round order (the sizes of one round ran back to back). */
  readonly rounds: readonly Sample[];
  /** Median over rounds of GC pause microseconds per resolve (all GC kinds). */
  readonly gcUsPerOp: number;
  /** Seconds the population took (records sealed as `create` seals them, 256 inserts in flight). */
  readonly populateSeconds: number;
}

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

async function populate(
  make: (i: number) => Promise<string>,
  tickets: TicketBook,
  upTo: number,
): Promise<void> {
  let next = tickets.size;
  const worker = async () => {
    while (next < upTo) {
      const i = next++;
      tickets.set(i, await make(i));
    }
  };
  await Promise.all(Array.from({ length: 256 }, worker));
}

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

/** One case of {@link alternateResolves}: a population and how to resolve one of its tickets. */
interface ResolveCase {
  readonly contender: 'cloakroom' | 'floor';
  readonly store: 'memory' | 'redis';
  readonly sessions: number;
  readonly tickets: 'packed' | 'strings';
  readonly book: TicketBook;
  /** One string per session; read only when `tickets` is `'strings'`. */
  readonly strings: readonly string[];
  readonly populateSeconds: number;
  /** False when the session was not found. */
  resolve(ticket: string): Promise<boolean>;
}

/**
 * `resolve` of random tickets over each case's whole population, the cases
 * in alternating rounds (the one that goes first rotates), so drift on a
 * busy host hits every case alike.
 */
async function alternateResolves(
  cases: readonly ResolveCase[],
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ResolveAtSize[]> {
  const inFlight = config.quick ? 4 : 64;
  const rounds = config.quick ? 1 : 5;
  const samples = cases.map(() => [] as Sample[]);
  const gcPerOp = cases.map(() => [] as number[]);
  const gc = gcPauses();
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < cases.length; j++) {
      const k = (j + round) % cases.length;
      const c = cases[k] as ResolveCase;
      let seed = 1 + round;
      // Random tickets over the whole population: lookups miss caches as a real load would.
      const next = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed % c.sessions;
      };
      const pick =
        c.tickets === 'packed' ? () => c.book.at(next()) : () => c.strings[next()] as string;
      const from = performance.now();
      const sample = await measure(
        async () => {
          if (!(await c.resolve(pick()))) throw new Error('scaling: resolve missed');
          return true;
        },
        inFlight,
        config.quick ? 50 : 1000,
        config.quick ? 20 : 1_000_000,
      );
      const to = performance.now();
      // GC entries are delivered after a turn of the event loop.
      await new Promise((r) => setTimeout(r, 5));
      samples[k]?.push(sample);
      gcPerOp[k]?.push((gc.between(from, to) * 1000) / Math.max(1, sample.ops));
    }
  }
  gc.stop();
  return cases.map((c, k) => {
    const resolve = stat(samples[k] as Sample[]);
    const gcUsPerOp = median(gcPerOp[k] as number[]);
    log(
      `  ${c.store}${c.contender === 'floor' ? ' floor' : ''}: resolve at ${c.sessions} sessions (${c.tickets} tickets): ${Math.round(resolve.median)}/s, ${resolve.cpuUsPerOp.toFixed(1)} CPU µs/op, GC ${gcUsPerOp.toFixed(1)} µs/op`,
    );
    return {
      contender: c.contender,
      store: c.store,
      sessions: c.sessions,
      tickets: c.tickets,
      inFlight,
      resolve,
      rounds: samples[k] as Sample[],
      gcUsPerOp,
      populateSeconds: c.populateSeconds,
    };
  });
}

/**
 * The floor (floor.ts: SHA-256, a `Map` lookup, one AES-GCM open,
 * `JSON.parse`) at the same sizes, populated through its own `create` with
 * records of Cloakroom's sealed size and measured like Cloakroom: what a
 * larger working set costs on this machine when the code does nothing more.
 * Run after Cloakroom's stores are closed, so neither population's memory
 * is in the other's measurement.
 */
export async function floorScaling(
  fixture: Fixture,
  config: BenchConfig,
  sealedSize: number,
  log: (line: string) => void,
): Promise<ResolveAtSize[]> {
  const pools = config.scaleSizes.map((size) => ({
    size,
    ops: floorOps(fixture, memoryFloor(), sealedSize),
    tickets: new TicketBook(size),
    populateSeconds: 0,
  }));
  try {
    for (const pool of pools) {
      const t0 = performance.now();
      await populate((i) => pool.ops.create(`scale-${i % 50_000}`), pool.tickets, pool.size);
      pool.populateSeconds = (performance.now() - t0) / 1000;
      log(`  memory floor: ${pool.size} sessions made in ${pool.populateSeconds.toFixed(1)} s`);
    }
    return await alternateResolves(
      pools.map((pool) => ({
        contender: 'floor' as const,
        store: 'memory' as const,
        sessions: pool.size,
        tickets: 'packed' as const,
        book: pool.tickets,
        strings: [],
        populateSeconds: pool.populateSeconds,
        // The floor's resolve throws on a miss.
        resolve: async (ticket: string) => {
          await pool.ops.resolve(ticket);
          return true;
        },
      })),
      config,
      log,
    );
  } finally {
    for (const pool of pools) await pool.ops.close();
  }
}
