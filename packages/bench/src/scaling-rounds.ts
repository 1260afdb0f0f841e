// The scaling case's measurement: `resolve` of random tickets over each
// population, the populations in alternating rounds, with GC pauses per
// request. Shared by Cloakroom's stores (scaling.ts) and the floor at the
// same sizes (scaling-floor.ts).
import type { BenchConfig } from './config';
import { gcPauses } from './heap';
import { type Sample, type Stat, measure, median, stat } from './measure';
import type { TicketBook } from './ticket-book';

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

/** One case of {@link alternateResolves}: a population and how to resolve one of its tickets. */
export interface ResolveCase {
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
export async function alternateResolves(
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
