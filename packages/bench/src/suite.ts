// The side-by-side table: every store, operation and concurrency, Cloakroom
// next to its floor and peer, in alternating rounds within one process.
import { type BenchConfig, type Operation, type StoreName, concurrencies } from './config';
import { Workload } from './contender';
import type { Fixture } from './fixture';
import { type Sample, type Stat, measure, pairedRatio, stat } from './measure';
import { type Target, openTarget } from './targets';

export const CONTENDERS = ['ours', 'floor', 'peer'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

export interface Row {
  readonly store: StoreName;
  readonly operation: Operation;
  readonly inFlight: number;
  readonly ours: Stat;
  readonly floor: Stat;
  readonly peer: Stat | null;
  /** Median of per-round Cloakroom/floor ratios. */
  readonly vsFloor: number;
  /** Median of per-round Cloakroom/peer ratios; NaN without a peer. */
  readonly vsPeer: number;
}

export interface TableResult {
  readonly rows: Row[];
  readonly sealedBytes: Partial<Record<StoreName, number>>;
  readonly settings: Partial<Record<StoreName, string>>;
}

/** Inputs a consuming operation gets topped up to before it is measured. */
function topUpCount(
  store: StoreName,
  operation: Operation,
  config: BenchConfig,
  inFlight: number,
): number {
  if (config.quick) return config.maxOps;
  const base = store === 'fs' ? 300 : store === 'postgres' ? 1000 : 2000;
  return Math.max(operation === 'revokeSubject' ? base / 2 : base, inFlight * 8);
}

const key = (op: Operation, n: number, c: ContenderName) => `${op}/${n}/${c}`;

async function runRound(
  target: Target,
  config: BenchConfig,
  round: number,
  samples: Map<string, Sample[]>,
  log: (line: string) => void,
): Promise<void> {
  const store = target.store;
  const levels = concurrencies(store, config.quick);
  // Rotate who goes first each round, so drift (GC, server caches, other load) spreads evenly.
  const order = CONTENDERS.map(
    (_, k) => CONTENDERS[(k + round) % CONTENDERS.length] as ContenderName,
  );
  const workloads = new Map<ContenderName, Workload>();
  for (const c of order) {
    const w = new Workload(target[c], `b${round}-${c}`);
    await w.prepare(config.resolvePool, Math.max(...levels));
    workloads.set(c, w);
  }
  for (const inFlight of levels) {
    for (const operation of config.operations) {
      for (const c of order) {
        const w = workloads.get(c) as Workload;
        if (!w.ops.supports.has(operation)) continue;
        if (operation === 'revoke' || operation === 'revokeSubject') {
          await w.topUp(operation, topUpCount(store, operation, config, inFlight));
        }
        const sample = await measure(
          (i, slot) => w.run(operation, i, slot),
          inFlight,
          config.durationMs,
          config.maxOps,
        );
        if (sample.ops === 0) throw new Error(`${store} ${c} ${operation}: no operation completed`);
        const k = key(operation, inFlight, c);
        samples.set(k, [...(samples.get(k) ?? []), sample]);
      }
    }
  }
  log(`  ${store}: round ${round + 1}/${config.rounds} done`);
}

/** Runs the table for every configured store. */
export async function runTable(
  fixture: Fixture,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<TableResult> {
  const rows: Row[] = [];
  const sealedBytes: Partial<Record<StoreName, number>> = {};
  const settings: Partial<Record<StoreName, string>> = {};
  for (const store of config.stores) {
    const target = await openTarget(store, fixture, config);
    sealedBytes[store] = target.sealedSize;
    settings[store] = target.settings;
    const samples = new Map<string, Sample[]>();
    try {
      if (!config.quick) {
        // One short round first, discarded: JIT warm-up, prepared statements, server caches.
        const warm = { ...config, durationMs: Math.min(100, config.durationMs), rounds: 1 };
        await runRound(target, warm, 0, new Map(), () => {});
      }
      for (let round = 0; round < config.rounds; round++) {
        await runRound(target, config, round, samples, log);
      }
    } finally {
      await target.close();
    }
    for (const operation of config.operations) {
      for (const inFlight of concurrencies(store, config.quick)) {
        const get = (c: ContenderName) => samples.get(key(operation, inFlight, c));
        const ours = get('ours');
        const floor = get('floor');
        const peer = get('peer');
        if (ours === undefined || floor === undefined) continue;
        rows.push({
          store,
          operation,
          inFlight,
          ours: stat(ours),
          floor: stat(floor),
          peer: peer === undefined ? null : stat(peer),
          vsFloor: pairedRatio(ours, floor),
          vsPeer: peer === undefined ? Number.NaN : pairedRatio(ours, peer),
        });
      }
    }
  }
  return { rows, sealedBytes, settings };
}
