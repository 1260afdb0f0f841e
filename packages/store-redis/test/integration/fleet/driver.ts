// Instance A of the fleet test: inserts a round of sessions, has instance B
// (another OS process) cache them, revokes them one by one under B's load,
// and compares B's answers with the moment each revoke returned here.
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../../src/index';
import { makeRecord, uniquePrefix } from '../redis-test-env';
import { type FromResolver, type RoundReport, type ToResolver, monoMs } from './protocol';

export interface FleetOptions {
  readonly url: string;
  readonly revokes: number;
  /** Sessions per round (B's hot working set). */
  readonly batch: number;
  /** Revokes in flight at once on A. */
  readonly concurrency: number;
  /** B's resolve loops (its requests in flight). */
  readonly loops: number;
  /** The staleness bound checked, in ms (the 5 ms). */
  readonly targetMs: number;
  /** CLIENT KILL every pubsub connection (B's channel) halfway through these rounds. */
  readonly killRounds?: readonly number[];
}

export interface FleetResult {
  readonly revokes: number;
  /**
   * Per revoke, how long after A's revoke returned B still started a
   * resolve that answered the session (0 when none did): the stale window.
   */
  readonly staleP50: number;
  readonly staleP99: number;
  readonly staleMax: number;
  /** Revokes B answered live more than `targetMs` after they returned. */
  readonly staleAfterTarget: number;
  /** Revokes B answered live more than the channel's documented boundMs after they returned. */
  readonly staleAfterChannelBound: number;
  /** Per revoke, B's listener heard of it minus A's revoke returned (may be negative). p99, ms. */
  readonly invalidationP50: number;
  readonly invalidationP99: number;
  /** Revokes B did not look at after they returned (the check would prove nothing for them). */
  readonly notLookedAt: number;
  /** Revokes B's listener never heard of by name (covered by a reset instead, e.g. a killed connection). */
  readonly notNamed: number;
  readonly resolves: number;
  readonly hits: number;
  readonly rounds: number;
  readonly roundsNotFullyCached: number;
  readonly seconds: number;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

class Resolver {
  private readonly child: ChildProcess;
  private waiting: ((m: FromResolver) => void) | undefined;
  constructor() {
    this.child = fork(`${here}resolver.ts`, [], {
      execArgv: ['--import', tsx],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: FromResolver) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
  }
  ask<T extends FromResolver['type']>(
    m: ToResolver,
    expect: T,
  ): Promise<Extract<FromResolver, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`resolver did not answer ${m.type}`)),
        30_000,
      );
      this.waiting = (reply) => {
        clearTimeout(timer);
        if (reply.type === expect) resolve(reply as Extract<FromResolver, { type: T }>);
        else reject(new Error(`resolver: ${reply.type === 'error' ? reply.message : reply.type}`));
      };
      this.child.send(m);
    });
  }
  kill(): void {
    this.child.send({ type: 'exit' } satisfies ToResolver);
    setTimeout(() => this.child.kill('SIGKILL'), 2_000).unref();
  }
}

export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const started = performance.now();
  const prefix = uniquePrefix('fleet');
  const a = createRedisStore({ url: o.url, prefix, commandTimeoutMs: 5_000 });
  const raw = new Redis(o.url);
  raw.on('error', () => {});
  const b = new Resolver();
  const lags: number[] = [];
  const invalidations: number[] = [];
  let stale = 0;
  let staleBound = 0;
  let notLooked = 0;
  let notNamed = 0;
  let channelBoundMs = 0;
  let resolves = 0;
  let hits = 0;
  let notCached = 0;
  const rounds = Math.ceil(o.revokes / o.batch);
  try {
    ({ boundMs: channelBoundMs } = await b.ask(
      { type: 'init', url: o.url, prefix, loops: o.loops },
      'ready',
    ));
    for (let round = 0; round < rounds; round++) {
      const n = Math.min(o.batch, o.revokes - round * o.batch);
      const records = Array.from({ length: n }, () => makeRecord());
      await Promise.all(records.map((r) => a.insert(r)));
      const warmed = await b.ask({ type: 'warm', ids: records.map((r) => r.id) }, 'warmed');
      if (!warmed.cachedAll) notCached++;
      const returned = new Map<string, number>();
      let next = 0;
      const kill = o.killRounds?.includes(round) ?? false;
      const worker = async (): Promise<void> => {
        while (next < records.length) {
          const r = records[next++] as (typeof records)[number];
          if (kill && next === Math.floor(records.length / 2)) {
            await raw.client('KILL', 'TYPE', 'pubsub');
          }
          await a.delete(r.id);
          returned.set(r.id, monoMs());
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, worker));
      // B keeps resolving until it has looked at every session after the last revoke returned.
      const { report } = await b.ask({ type: 'stop', after: monoMs() }, 'report');
      tally(report);
      function tally(rep: RoundReport): void {
        resolves += rep.resolves;
        hits += rep.hits;
        let roundStale = 0;
        let roundMax = 0;
        for (const [id, at] of returned) {
          const lag = Math.max(0, (rep.lastLive[id] ?? 0) - at);
          if (lag > o.targetMs) roundStale++;
          roundMax = Math.max(roundMax, lag);
          lags.push(lag);
          if (lag > o.targetMs) stale++;
          if (lag > channelBoundMs) staleBound++;
          if ((rep.lastLook[id] ?? 0) <= at) notLooked++;
          const heard = rep.invalidated[id];
          if (heard === undefined) notNamed++;
          else invalidations.push(heard - at);
        }
        if (process.env.FLEET_DEBUG)
          console.log(
            `round ${round}${kill ? ' (kill)' : ''}: stale>${o.targetMs}ms ${roundStale}, max ${roundMax.toFixed(1)} ms`,
          );
      }
    }
  } finally {
    b.kill();
    await a.close();
    raw.disconnect();
  }
  lags.sort((x, y) => x - y);
  invalidations.sort((x, y) => x - y);
  const round3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    revokes: o.revokes,
    staleP50: round3(quantile(lags, 0.5)),
    staleP99: round3(quantile(lags, 0.99)),
    staleMax: round3(lags.length > 0 ? (lags[lags.length - 1] as number) : Number.NaN),
    staleAfterTarget: stale,
    staleAfterChannelBound: staleBound,
    invalidationP50: round3(quantile(invalidations, 0.5)),
    invalidationP99: round3(quantile(invalidations, 0.99)),
    notLookedAt: notLooked,
    notNamed,
    resolves,
    hits,
    rounds,
    roundsNotFullyCached: notCached,
    seconds: (performance.now() - started) / 1000,
  };
}
