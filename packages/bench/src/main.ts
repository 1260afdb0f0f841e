// `pnpm bench`: the side-by-side table, the scaling cases, the targets, and
// .bench-results/latest.json. `--quick` (or CLOAKROOM_BENCH_QUICK=1) runs
// every code path once with tiny counts and exits non-zero on any error.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { readConfig } from './config';
import { makeFixture } from './fixture';
import { MiB } from './heap';
import { pairedRatio } from './measure';
import { runHttpBench } from './http';
import { machine } from './machine';
import { type TargetCheck, fmt, tableMarkdown, tableTargets, targetsMarkdown, x } from './report';
import {
  type MemoryPerSession,
  type RewrapResult,
  memoryPerSession,
  resolveScaling,
} from './scaling';
import { type StatelessRow, runStateless, statelessMarkdown } from './stateless';
import { floorScaling } from './scaling-floor';
import type { ResolveAtSize } from './scaling-rounds';
import { type TableResult, runTable } from './suite';
import { tracingBench } from './tracing';
import {
  type NearCacheRedisResult,
  nearCacheRedisMarkdown,
  nearCacheRedisTargets,
  runNearCacheRedis,
} from './near-cache-redis';
import { runMain } from './run-main';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

function scalingTargets(
  sizes: readonly ResolveAtSize[],
  rewraps: readonly RewrapResult[],
  memory: MemoryPerSession | undefined,
): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const store of ['memory', 'redis'] as const) {
    // The target is judged on packed tickets (a fresh string per request) when measured.
    const source = sizes.some(
      (s) => s.contender === 'cloakroom' && s.store === store && s.tickets === 'packed',
    )
      ? 'packed'
      : 'strings';
    const mine = sizes.filter(
      (s) => s.contender === 'cloakroom' && s.store === store && s.tickets === source,
    );
    const first = mine[0];
    const last = mine[mine.length - 1];
    if (first !== undefined && last !== undefined && last !== first) {
      // Median of the per-round ratios, as in the table: the sizes of a round run back to back.
      const v = pairedRatio(last.rounds, first.rounds);
      const byCpu = first.resolve.cpuUsPerOp / last.resolve.cpuUsPerOp;
      out.push({
        target: `${store}: resolve at ${last.sessions.toLocaleString('en-US')} sessions >= 0.9x at ${first.sessions.toLocaleString('en-US')}`,
        measured: `${x(v)} (by CPU ${x(byCpu)})`,
        met: v >= 0.9,
      });
    }
  }
  for (const r of rewraps) {
    out.push({
      target: `${r.store}: rewrap of ${r.records.toLocaleString('en-US')} records grows RSS < 64 MiB${r.complete ? '' : ` (stopped after ${r.rewrapped.toLocaleString('en-US')})`}`,
      measured: `+${r.rssPeakGrowthMiB.toFixed(1)} MiB`,
      met: r.rssPeakGrowthMiB < 64,
    });
  }
  if (memory !== undefined) {
    out.push({
      target: 'memory store <= 1.5x sealed payload + 200 bytes per session',
      measured: `${Math.round(memory.heapBytesPerSession + Math.max(0, memory.externalBytesPerSession))} B vs budget ${Math.round(memory.budgetBytes)} B (payload ${Math.round(memory.sealedPayloadBytes)} B)`,
      met:
        memory.heapBytesPerSession + Math.max(0, memory.externalBytesPerSession) <=
        memory.budgetBytes,
    });
  }
  return out;
}

function scalingMarkdown(
  sizes: readonly ResolveAtSize[],
  rewraps: readonly RewrapResult[],
  memory?: MemoryPerSession,
): string {
  const lines = [
    '| store | contender | live sessions | tickets | resolve ops/s at 64 in flight | CPU µs/op | GC pause µs/op | populate (s) |',
    '|---|---|--:|---|--:|--:|--:|--:|',
  ];
  for (const s of sizes) {
    lines.push(
      `| ${s.store} | ${s.contender} | ${s.sessions.toLocaleString('en-US')} | ${s.tickets} | ${fmt(s.resolve.median)} (${fmt(s.resolve.min)}–${fmt(s.resolve.max)}) | ${fmt(s.resolve.cpuUsPerOp)} | ${s.gcUsPerOp.toFixed(1)} | ${s.populateSeconds.toFixed(1)} |`,
    );
  }
  const floor = sizes.filter((s) => s.contender === 'floor');
  const [small, large] = [floor[0], floor[floor.length - 1]];
  if (small !== undefined && large !== undefined && small !== large) {
    lines.push(
      '',
      `The floor over a \`Map\` (no target; what the larger working set costs the least code): resolve at ${large.sessions.toLocaleString('en-US')} sessions ${x(pairedRatio(large.rounds, small.rounds))} its speed at ${small.sessions.toLocaleString('en-US')} (by CPU ${x(small.resolve.cpuUsPerOp / large.resolve.cpuUsPerOp)}).`,
    );
  }
  lines.push(
    '',
    '| store | records | rewrapped | seconds | records/s | RSS before (MiB) | peak RSS growth (MiB) |',
    '|---|--:|--:|--:|--:|--:|--:|',
  );
  for (const r of rewraps) {
    lines.push(
      `| ${r.store} | ${r.records.toLocaleString('en-US')} | ${r.rewrapped.toLocaleString('en-US')}${r.complete ? '' : ' (stopped at the time budget)'} | ${r.seconds.toFixed(1)} | ${fmt(r.recordsPerSecond)} | ${r.rssBeforeMiB.toFixed(0)} | ${r.rssPeakGrowthMiB.toFixed(1)} |`,
    );
  }
  if (memory !== undefined) {
    lines.push(
      '',
      `Memory store, ${memory.sessions.toLocaleString('en-US')} sessions: ${memory.heapBytesPerSession.toFixed(0)} B heap + ${memory.externalBytesPerSession.toFixed(0)} B external per session; sealed payload ${memory.sealedPayloadBytes.toFixed(0)} B; budget (1.5x + 200) ${memory.budgetBytes.toFixed(0)} B.`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const config = readConfig(process.argv.slice(2), process.env);
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `cloakroom bench: ${config.quick ? 'quick' : config.scale ? 'full + 1M scale' : 'full'} mode`,
  );
  const fixture = await makeFixture();
  const env = await machine(config);

  let table: TableResult | undefined;
  if (!config.skipTable) {
    log('side-by-side table:');
    table = await runTable(fixture, config, log);
    // Keep the table even if a scaling case fails later.
    const partial = resolve(REPO_ROOT, `${config.out}.table.json`);
    await mkdir(dirname(partial), { recursive: true });
    await writeFile(partial, `${JSON.stringify({ machine: env, table }, null, 2)}\n`);
    if (!config.quick) process.stdout.write(`\n${tableMarkdown(table.rows)}\n`);
  }
  let stateless: StatelessRow[] | undefined;
  if (config.statelessCase && !config.skipTable) {
    log('stateless comparison:');
    stateless = await runStateless(fixture, config, log);
  }
  let nearCache: NearCacheRedisResult | undefined;
  if (!config.skipTable && config.stores.includes('redis')) {
    log('near cache (Redis):');
    nearCache = await runNearCacheRedis(fixture, config, log);
  }
  if (!config.skipTable) {
    // What diagnostics_channel tracing costs resolve, unsubscribed and subscribed (#18).
    log('tracing:');
    await tracingBench(config.quick);
  }
  const sizes: ResolveAtSize[] = [];
  const rewraps: RewrapResult[] = [];
  let memory: MemoryPerSession | undefined;
  if (!config.skipScaling) {
    log('scaling:');
    for (const store of config.scaleStores) {
      const result = await resolveScaling(store, fixture, config, log);
      sizes.push(...result.sizes);
      rewraps.push(result.rewrap);
      if (store === 'memory' && config.scaleFloor) {
        sizes.push(...(await floorScaling(fixture, config, result.sealedSize, log)));
      }
    }
    if (config.memoryCase) {
      memory = await memoryPerSession(fixture, config);
      log(`  memory store: ${memory.heapBytesPerSession.toFixed(0)} B/session`);
    }
  }

  // The HTTP-level comparison (src/http): own table and JSON; `--no-http` skips
  // it, and so does `--scaling-only` (only the scaling cases run).
  if (!config.skipTable) await runHttpBench(process.argv.slice(2), process.env, log);

  const checks = [
    ...(table ? tableTargets(table.rows) : []),
    ...scalingTargets(sizes, rewraps, memory),
    ...(nearCache ? nearCacheRedisTargets(nearCache) : []),
  ];
  const out = resolve(REPO_ROOT, config.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify(
      {
        at: new Date(started).toISOString(),
        seconds: (Date.now() - started) / 1000,
        mode: config.quick ? 'quick' : config.scale ? 'scale' : 'full',
        machine: env,
        settings: {
          rounds: config.rounds,
          ticketBound: config.ticketBound,
          redisAutoPipelining: config.autoPipelining,
          durationMs: config.durationMs,
          sealedBytes: table?.sealedBytes,
          clients: table?.settings,
        },
        table: table?.rows,
        stateless,
        nearCache,
        scaling: { resolve: sizes, rewrap: rewraps, memoryPerSession: memory },
        targets: checks,
      },
      null,
      2,
    )}\n`,
  );

  const print = (s: string) => process.stdout.write(`${s}\n`);
  if (table && config.quick) print(`\n${tableMarkdown(table.rows)}`);
  if (stateless) print(`\n${statelessMarkdown(stateless)}`);
  if (nearCache) print(`\n${nearCacheRedisMarkdown(nearCache)}`);
  if (!config.skipScaling) print(`\n${scalingMarkdown(sizes, rewraps, memory)}`);
  print(`\nTargets (issues 9 and 16):\n${targetsMarkdown(checks)}`);
  print(
    `\nWrote ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s (peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB).`,
  );
  void MiB;
}

runMain('bench', main);
