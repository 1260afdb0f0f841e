// The HTTP comparison's table.
import { contenderInfo, type ContenderName } from './contenders';

export interface HttpRow {
  readonly name: ContenderName;
  /** Median requests/s over rounds (min–max beside it). */
  readonly rps: number;
  readonly rpsMin: number;
  readonly rpsMax: number;
  /** Median over rounds of this round's requests/s divided by its framework's ceiling's. */
  readonly vsCeiling: number;
  /** Median over rounds of the server process's CPU µs per request. */
  readonly cpuUsPerRequest: number;
  /** Median over rounds of (CPU µs/request − the ceiling's in that round): what the session costs. */
  readonly overCeilingUs: number;
  /** Median over rounds of GC pause µs per request in the server. */
  readonly gcUsPerRequest: number;
  /** Median server CPU µs per request off the main thread (background GC, compilers, libuv pool). */
  readonly offMainCpuUsPerRequest: number;
  /** Median requests per event-loop iteration in the server. */
  readonly requestsPerLoop: number;
  /** Median voluntary context switches (idle waits) of the server per request. */
  readonly sleepsPerRequest: number;
  /** Median involuntary context switches (preemptions by other load) of the server per request. */
  readonly preemptionsPerRequest: number;
  /** Median share of one CPU the server used in the window (1 = saturated). */
  readonly serverCpuShare: number;
  /** Median CPU µs the load generator spent per answer. */
  readonly loadCpuUsPerRequest: number;
}

const n = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const us = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');

export function httpMarkdown(rows: readonly HttpRow[]): string {
  const lines = [
    '| server | requests/s (min–max) | vs ceiling | server CPU µs/request | over ceiling µs | of which off main thread | GC pause µs/request | requests per loop iteration | server sleeps / preemptions per request | server CPU busy | load generator µs/request |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${contenderInfo(r.name).label} | ${n(r.rps)} (${n(r.rpsMin)}–${n(r.rpsMax)}) | ${x(r.vsCeiling)} | ${us(r.cpuUsPerRequest)} | ${us(r.overCeilingUs)} | ${us(r.offMainCpuUsPerRequest)} | ${us(r.gcUsPerRequest)} | ${us(r.requestsPerLoop)} | ${r.sleepsPerRequest.toFixed(2)} / ${r.preemptionsPerRequest.toFixed(2)} | ${Number.isFinite(r.serverCpuShare) ? `${Math.round(r.serverCpuShare * 100)}%` : '-'} | ${us(r.loadCpuUsPerRequest)} |`,
    );
  }
  return lines.join('\n');
}
