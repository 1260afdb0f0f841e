// Garbage collection on demand and an RSS sampler, without needing --expose-gc.
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;

/** A full collection, twice (the second picks up what finalizers freed). */
export function fullGc(): void {
  gcFn();
  gcFn();
}

/** Samples RSS every `everyMs` until stopped; returns the peak seen. */
export function rssSampler(everyMs = 10): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

export const MiB = 1024 * 1024;

/**
 * Milliseconds of GC pauses (every kind) that started between `from` and `to`
 * (`performance.now()` times). Entries reach the observer asynchronously, so
 * read a window only after a short timer past its end.
 */
export function gcPauses(): { between(from: number, to: number): number; stop(): void } {
  const seen: Array<[number, number]> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) seen.push([e.startTime, e.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    between(from, to) {
      let ms = 0;
      for (const [start, duration] of seen) if (start >= from && start < to) ms += duration;
      return ms;
    },
    stop: () => observer.disconnect(),
  };
}
