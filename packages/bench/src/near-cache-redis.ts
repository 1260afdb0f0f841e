// The near cache on Redis in `pnpm bench` (issue 16, target 2): resolve over
// a hot working set with the cache on, without it, and connect-redis's `get`
// over node-redis 5, all at 64 in flight, alternating rounds in one process;
// then how fast a revoke on instance A reaches instance B (same process,
// two managers, two stores, B's channel on its own connection).
import { createRedisStore } from '@cloakroom/store-redis';
import { createClient } from 'redis';
import type { BenchConfig } from './config';
import type { Fixture } from './fixture';
import { type Sample, measure, pairedRatio, stat } from './measure';
import { cachedCloakroom, countingGets, revocationLag, warm } from './near-cache';
import { type ExpressStore, peerOps } from './peer';
import type { TargetCheck } from './report';
import { deletePrefix, redisClient } from './targets';

const IN_FLIGHT = 64;
const SESSIONS = 1000;

export interface NearCacheRedisResult {
  readonly rows: readonly { name: string; opsPerSec: number; cpuUsPerOp: number }[];
  /** Median of per-round ratios, cached resolve over connect-redis get. */
  readonly cachedVsPeer: number;
  /** Median of per-round ratios, cached over uncached resolve. */
  readonly cachedVsUncached: number;
  readonly storeReadsPerCachedResolve: number;
  readonly lag: Awaited<ReturnType<typeof revocationLag>>;
}

/** Runs the case; `log` reports progress. */
export async function runNearCacheRedis(
  fixture: Fixture,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<NearCacheRedisResult> {
  const prefix = `cloakroom-bench-nc:${process.pid}:`;
  const store = () => createRedisStore({ url: config.redisUrl, prefix });
  const counted = countingGets(store());
  const cached = cachedCloakroom(fixture, counted.store, true);
  const plain = cachedCloakroom(fixture, store(), false);
  const nodeRedis = createClient({ url: config.redisUrl });
  nodeRedis.on('error', () => {});
  await nodeRedis.connect();
  const { RedisStore } = (await import('connect-redis')) as unknown as {
    RedisStore: new (o: object) => ExpressStore;
  };
  const admin = redisClient(config);
  try {
    const tickets: string[] = [];
    for (let i = 0; i < SESSIONS; i++) tickets.push((await plain.create(`nc${i}`)).ticket);
    const probe = await counted.store.get(
      (await plain.resolve(tickets[0] as string))?.sessionId ?? '',
    );
    const peer = peerOps(
      new RedisStore({ client: nodeRedis, prefix: `${prefix}peer:` }),
      probe?.payload.byteLength ?? 1000,
      async () => {},
    );
    const sids: string[] = [];
    for (let i = 0; i < SESSIONS; i++) sids.push(await peer.create(`nc${i}`));
    await warm(cached, tickets, counted.gets);

    // Hits complete in microtasks; a server's loop turns between batches of
    // requests, so every contender yields once per IN_FLIGHT operations.
    const yielding =
      (op: (i: number) => Promise<boolean>) =>
      async (i: number): Promise<boolean> => {
        const ok = await op(i);
        if (i % IN_FLIGHT === 0) await new Promise((r) => setImmediate(r));
        return ok;
      };
    const contenders: [string, (i: number) => Promise<boolean>][] = [
      [
        'Cloakroom Redis, near cache',
        yielding(async (i) => (await cached.resolve(tickets[i % SESSIONS] as string)) !== null),
      ],
      [
        'Cloakroom Redis, no cache',
        yielding(async (i) => (await plain.resolve(tickets[i % SESSIONS] as string)) !== null),
      ],
      [
        'connect-redis get (node-redis 5)',
        yielding(async (i) => {
          await peer.resolve(sids[i % SESSIONS] as string);
          return true;
        }),
      ],
    ];
    const samples = new Map<string, Sample[]>(contenders.map(([n]) => [n, []]));
    const rounds = config.quick ? 1 : config.rounds;
    const roundMs = config.quick ? 50 : config.durationMs;
    let reads = 0;
    let cachedOps = 0;
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no contender always runs first.
      for (let k = 0; k < contenders.length; k++) {
        const [name, op] = contenders[(r + k) % contenders.length] as (typeof contenders)[number];
        const before = counted.gets();
        const sample = await measure(op, IN_FLIGHT, roundMs, Number.MAX_SAFE_INTEGER);
        if (name.endsWith('near cache')) {
          reads += counted.gets() - before;
          cachedOps += sample.ops;
        }
        samples.get(name)?.push(sample);
      }
      log(`  near cache (Redis): round ${r + 1}/${rounds}`);
    }
    const of = (name: string) => samples.get(name) ?? [];
    const rows = contenders.map(([name]) => {
      const s = stat(of(name));
      return { name, opsPerSec: s.median, cpuUsPerOp: s.cpuUsPerOp };
    });
    log('  near cache (Redis): revocation lag');
    const boundMs = 250;
    const lag = await revocationLag({
      fixture,
      storeA: store,
      storeB: store,
      revokes: config.quick ? 10 : 2000,
      boundMs,
    });
    return {
      rows,
      cachedVsPeer: pairedRatio(
        of('Cloakroom Redis, near cache'),
        of('connect-redis get (node-redis 5)'),
      ),
      cachedVsUncached: pairedRatio(
        of('Cloakroom Redis, near cache'),
        of('Cloakroom Redis, no cache'),
      ),
      storeReadsPerCachedResolve: reads / Math.max(1, cachedOps),
      lag,
    };
  } finally {
    await cached.close();
    await plain.close();
    nodeRedis.destroy();
    await deletePrefix(admin, prefix);
    admin.disconnect();
  }
}

/** The case as Markdown. */
export function nearCacheRedisMarkdown(r: NearCacheRedisResult): string {
  const lines = [
    `| Redis, ${IN_FLIGHT} in flight, ${SESSIONS.toLocaleString('en-US')} hot sessions | ops/s | CPU µs/op |`,
    '|---|--:|--:|',
    ...r.rows.map(
      (row) => `| ${row.name} | ${Math.round(row.opsPerSec)} | ${row.cpuUsPerOp.toFixed(1)} |`,
    ),
    '',
    `near cache vs connect-redis get: ${r.cachedVsPeer.toFixed(2)}x; vs no cache: ${r.cachedVsUncached.toFixed(2)}x; store reads per cached resolve: ${r.storeReadsPerCachedResolve.toFixed(4)}`,
    `revoke on A -> null on B (${r.lag.revokes} revokes): p50 ${r.lag.p50Ms.toFixed(2)} ms, p99 ${r.lag.p99Ms.toFixed(2)} ms, max ${r.lag.maxMs.toFixed(2)} ms; stale answers past the ${r.lag.boundMs} ms bound: ${r.lag.staleAfterBound}`,
  ];
  return lines.join('\n');
}

/** Targets of issue 16 this case measures. */
export function nearCacheRedisTargets(r: NearCacheRedisResult): TargetCheck[] {
  return [
    {
      target:
        'redis resolve with the near cache at 64 in flight >= 1.5x connect-redis get (node-redis 5)',
      measured: `${r.cachedVsPeer.toFixed(2)}x`,
      met: r.cachedVsPeer >= 1.5,
    },
    {
      target: 'revoke on A -> resolve on B null within 5 ms p99, 0 stale answers past the bound',
      measured: `p99 ${r.lag.p99Ms.toFixed(2)} ms, ${r.lag.staleAfterBound} stale`,
      met: r.lag.p99Ms <= 5 && r.lag.staleAfterBound === 0,
    },
  ];
}
