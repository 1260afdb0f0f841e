// The printed table and the JSON written to .bench-results.
import type { Stat } from './measure';
import type { Row } from './suite';

const fmt = (n: number) =>
  !Number.isFinite(n) ? '-' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
const range = (s: Stat) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
export const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
const x = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');

/** The side-by-side table as Markdown: ops/s median (min–max) and ratios. */
export function tableMarkdown(rows: readonly Row[]): string {
  const lines = [
    '| store | operation | in flight | Cloakroom ops/s | floor ops/s | vs floor | peer ops/s | vs peer | CPU µs/op Cloakroom / floor / peer | vs floor by CPU |',
    // ops/s: median of the rounds (min–max); vs: median of the per-round ratios.
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.store} | ${r.operation} | ${r.inFlight} | ${range(r.ours)} | ${range(r.floor)} | ${x(r.vsFloor)} | ${r.peer === null ? 'n/a' : range(r.peer)} | ${x(r.vsPeer)} | ${fmt(r.ours.cpuUsPerOp)} / ${fmt(r.floor.cpuUsPerOp)} / ${r.peer === null ? 'n/a' : fmt(r.peer.cpuUsPerOp)} | ${x(ratio(r.floor.cpuUsPerOp, r.ours.cpuUsPerOp))} |`,
    );
  }
  return lines.join('\n');
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** Markdown list of target checks. */
export function targetsMarkdown(checks: readonly TargetCheck[]): string {
  return checks
    .map((c) => `- ${c.met ? 'MET' : 'NOT MET'}: ${c.target} (${c.measured})`)
    .join('\n');
}

/** Checks of the table targets from issue 9. */
export function tableTargets(rows: readonly Row[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const cpu = (r: Row) => x(ratio(r.floor.cpuUsPerOp, r.ours.cpuUsPerOp));
  for (const r of rows.filter((r) => r.operation === 'resolve')) {
    const v = r.vsFloor;
    out.push({
      target: `resolve >= 0.9x floor, ${r.store} at ${r.inFlight} in flight`,
      measured: `${x(v)}; by CPU per op ${cpu(r)}`,
      met: v >= 0.9,
    });
  }
  for (const r of rows.filter((r) => r.operation === 'create')) {
    const v = r.vsFloor;
    out.push({
      target: `create >= 0.8x floor, ${r.store} at ${r.inFlight} in flight`,
      measured: `${x(v)}; by CPU per op ${cpu(r)}`,
      met: v >= 0.8,
    });
  }
  const redis = rows.find(
    (r) => r.store === 'redis' && r.operation === 'resolve' && r.inFlight === 64,
  );
  if (redis?.peer) {
    const v = redis.vsPeer;
    out.push({
      target: 'redis resolve at 64 in flight >= 1.2x connect-redis get',
      measured: `${x(v)}; by CPU per op ${x(ratio(redis.peer.cpuUsPerOp, redis.ours.cpuUsPerOp))}`,
      met: v >= 1.2,
    });
  }
  return out;
}

export { fmt, x };
