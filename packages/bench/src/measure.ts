// Timing: N operations in flight for at most a duration, and round statistics.

export interface Sample {
  readonly ops: number;
  readonly ms: number;
  /** CPU time (user + system) this process spent, in microseconds: robust to other load on the host. */
  readonly cpuUs: number;
}

/**
 * Runs `op` with `inFlight` concurrent callers until `durationMs` passed,
 * `maxOps` started, or `op` returns false (out of input). Every started
 * operation completes before the clock stops. Rejections propagate.
 */
export async function measure(
  op: (i: number, slot: number) => Promise<boolean>,
  inFlight: number,
  durationMs: number,
  maxOps: number,
): Promise<Sample> {
  let next = 0;
  let done = 0;
  let exhausted = false;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async (slot: number) => {
    while (!exhausted && next < maxOps && performance.now() < deadline) {
      const i = next++;
      if (!(await op(i, slot))) {
        exhausted = true;
        return;
      }
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, slot) => worker(slot)));
  const used = process.cpuUsage(cpu);
  return { ops: done, ms: performance.now() - start, cpuUs: used.user + used.system };
}

export interface Stat {
  /** Median ops/s over rounds. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Operations measured in all rounds together. */
  readonly ops: number;
  /** Median over rounds of this process's CPU microseconds per operation. */
  readonly cpuUsPerOp: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** ops/s statistics over rounds; a round with no operation counts as 0. */
export function stat(samples: readonly Sample[]): Stat {
  const rates = samples.map((s) => (s.ms > 0 ? (s.ops * 1000) / s.ms : 0));
  return {
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    ops: samples.reduce((n, s) => n + s.ops, 0),
    cpuUsPerOp: median(samples.map((s) => (s.ops > 0 ? s.cpuUs / s.ops : Number.NaN))),
  };
}

/**
 * Median over rounds of a/b per round. Contenders of one round run back to
 * back, so a per-round ratio cancels most drift (other load, GC, server state).
 */
export function pairedRatio(a: readonly Sample[], b: readonly Sample[]): number {
  const rate = (s: Sample) => (s.ms > 0 ? (s.ops * 1000) / s.ms : 0);
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const rb = rate(b[i] as Sample);
    if (rb > 0) ratios.push(rate(a[i] as Sample) / rb);
  }
  return median(ratios);
}
