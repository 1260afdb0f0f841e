// Instance A of the fleet test: inserts a round of sessions, has instance B
// (another OS process) cache them, revokes them one by one under B's load,
// and compares B's answers with the moment each revoke returned here.
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createCloakroom, generateSecret, generateSigningKey, staticKeys } from '@cloakroom/core';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../../src/index';
import { makeRecord, uniquePrefix } from '../redis-test-env';
import {
  type FleetKeys,
  type FleetMode,
  type FromResolver,
  type RoundReport,
  type ToResolver,
  monoMs,
} from './protocol';

export interface FleetOptions {
  readonly url: string;
  /** B's near cache: the test's own over `watch` (`channel`) or core's `nearCache` (`core`). */
  readonly mode: FleetMode;
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
  /** Revokes that found no live session on A (left out of every other figure). */
  readonly notRevoked: number;
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
  // A's side of one round: make `n` sessions, and revoke one of them.
  let make: (n: number) => Promise<string[]>;
  /** True when A's revoke removed a live session (false: nothing to revoke, B may answer it). */
  let revoke: (item: string) => Promise<boolean>;
  let keys: FleetKeys | undefined;
  let closeA = async (): Promise<void> => {};
  if (o.mode === 'channel') {
    make = async (n) => {
      const records = Array.from({ length: n }, () => makeRecord());
      await Promise.all(records.map((r) => a.insert(r)));
      return records.map((r) => r.id);
    };
    revoke = (id) => a.delete(id);
  } else {
    const signing = await generateSigningKey('EdDSA');
    keys = {
      signingJwk: signing.privateJwk as unknown as Record<string, unknown>,
      storage: Buffer.from(generateSecret()).toString('base64url'),
      index: Buffer.from(generateSecret()).toString('base64url'),
    };
    const manager = createCloakroom({
      store: a,
      keys: staticKeys({
        signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
        storage: [{ key: keys.storage }],
        index: keys.index,
      }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
    });
    make = async (n) => {
      const out: string[] = [];
      for (let i = 0; i < n; i += 16) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(16, n - i) }, (_, j) => manager.create(`user-${i + j}`)),
        );
        for (const created of batch) out.push(created.ticket as string);
      }
      return out;
    };
    revoke = (ticket) => manager.revoke(ticket);
    closeA = () => manager.close();
  }
  const raw = new Redis(o.url);
  raw.on('error', () => {});
  const b = new Resolver();
  const lags: number[] = [];
  const invalidations: number[] = [];
  let stale = 0;
  let staleBound = 0;
  let notLooked = 0;
  let notNamed = 0;
  let notRevoked = 0;
  let channelBoundMs = 0;
  let resolves = 0;
  let hits = 0;
  let notCached = 0;
  const rounds = Math.ceil(o.revokes / o.batch);
  try {
    ({ boundMs: channelBoundMs } = await b.ask(
      { type: 'init', url: o.url, prefix, loops: o.loops, mode: o.mode, ...(keys ? { keys } : {}) },
      'ready',
    ));
    for (let round = 0; round < rounds; round++) {
      const n = Math.min(o.batch, o.revokes - round * o.batch);
      const records = await make(n);
      const warmed = await b.ask({ type: 'warm', items: records }, 'warmed');
      if (!warmed.cachedAll) notCached++;
      const returned: number[] = new Array<number>(records.length).fill(0);
      let next = 0;
      const kill = o.killRounds?.includes(round) ?? false;
      const worker = async (): Promise<void> => {
        while (next < records.length) {
          const at = next++;
          if (kill && at === Math.floor(records.length / 2)) {
            await raw.client('KILL', 'TYPE', 'pubsub');
          }
          const removed = await revoke(records[at] as string);
          returned[at] = monoMs();
          if (!removed) {
            notRevoked++;
            returned[at] = Number.NaN;
          }
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
        for (let i = 0; i < returned.length; i++) {
          const at = returned[i] as number;
          if (Number.isNaN(at)) continue;
          const lag = Math.max(0, (rep.lastLive[i] as number) - at);
          if (lag > o.targetMs) roundStale++;
          roundMax = Math.max(roundMax, lag);
          lags.push(lag);
          if (lag > o.targetMs) stale++;
          if (lag > channelBoundMs) {
            staleBound++;
            if (process.env.FLEET_DEBUG) {
              console.log(
                `past bound: round ${round}${kill ? ' (kill)' : ''} item ${i}/${returned.length} lag ${lag.toFixed(1)} ms`,
              );
            }
          }
          if ((rep.lastLook[i] as number) <= at) notLooked++;
          const heard = rep.invalidated[i] as number;
          if (heard === 0) notNamed++;
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
    await closeA();
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
    notRevoked,
    resolves,
    hits,
    rounds,
    roundsNotFullyCached: notCached,
    seconds: (performance.now() - started) / 1000,
  };
}
