// Run settings: command-line flags and environment, resolved once.

/** The operations measured side by side. */
export const OPERATIONS = [
  'resolve',
  'create',
  'refresh',
  'revoke',
  'revokeSubject',
  'listSessions',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export const STORES = ['memory', 'fs', 'redis', 'postgres'] as const;
export type StoreName = (typeof STORES)[number];

export interface BenchConfig {
  /** CI mode: tiny counts, one round, every code path once. */
  readonly quick: boolean;
  /** Also run the 1M-session scaling and rewrap cases. */
  readonly scale: boolean;
  /** Skip the side-by-side table (scaling only). */
  readonly skipTable: boolean;
  /** Skip scaling and memory cases (table only). */
  readonly skipScaling: boolean;
  readonly rounds: number;
  /** Longest a single measurement runs, in milliseconds. */
  readonly durationMs: number;
  /** Most operations a single measurement runs. */
  readonly maxOps: number;
  /** Sessions behind the resolve pool of each variant. */
  readonly resolvePool: number;
  readonly stores: readonly StoreName[];
  readonly operations: readonly Operation[];
  readonly redisUrl: string;
  readonly postgresUrl: string;
  /** ioredis `enableAutoPipelining` for the Cloakroom store and the floor (same client). On by default (node-redis, under connect-redis, pipelines the same way); CLOAKROOM_BENCH_AUTOPIPELINING=0 turns it off. */
  readonly autoPipelining: boolean;
  /** Live-session counts for the resolve scaling case (`--scale-sizes=10000,100000`). */
  readonly scaleSizes: readonly number[];
  /** Stores of the scaling cases (`--scale-stores=memory,redis`). */
  readonly scaleStores: readonly ('memory' | 'redis')[];
  /**
   * How the scaling case hands tickets to `resolve` (`--scale-tickets=`):
   * `packed` (default) a new string per request from packed bytes, as a
   * request parser would; `strings` from an array of one string per session,
   * as before 2026-12-05; `both` measures the two side by side.
   */
  readonly scaleTickets: readonly ('packed' | 'strings')[];
  /** Also measure the floor over a `Map` at the memory store's scaling sizes (off with `--no-scale-floor`). */
  readonly scaleFloor: boolean;
  /** Run the stateless comparison: iron-session unseal and jose JWT verify beside resolve (off with `--no-stateless`). */
  readonly statelessCase: boolean;
  /** Run the memory-per-session case (off with `--no-memory`). */
  readonly memoryCase: boolean;
  /** Records rewrapped in the rewrap case. */
  readonly rewrapSize: number;
  /** Sessions for the memory-per-session case. */
  readonly memorySessions: number;
  readonly out: string;
  /** Cloakroom's `ticketBound` (the inner layer); `--unbound` turns it off to measure its cost. */
  readonly ticketBound: boolean;
}

function listFlag(argv: readonly string[], name: string): string[] | undefined {
  const arg = argv.find((a) => a.startsWith(`--${name}=`));
  return arg
    ?.slice(name.length + 3)
    .split(',')
    .filter(Boolean);
}

function pick<T extends string>(
  all: readonly T[],
  wanted: string[] | undefined,
  what: string,
): T[] {
  if (wanted === undefined) return [...all];
  for (const w of wanted) {
    if (!all.includes(w as T)) throw new Error(`unknown ${what} "${w}" (one of ${all.join(', ')})`);
  }
  return all.filter((a) => wanted.includes(a));
}

/** Reads flags (`--quick`, `--scale`, `--stores=a,b`, `--ops=a,b`, `--rounds=N`, ...) and env. */
export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const has = (flag: string) => argv.includes(`--${flag}`);
  const num = (name: string, fallback: number) => {
    const v = argv.find((a) => a.startsWith(`--${name}=`));
    if (v === undefined) return fallback;
    const n = Number(v.slice(name.length + 3));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
    return n;
  };
  const quick = has('quick') || env.CLOAKROOM_BENCH_QUICK === '1';
  const scale = has('scale') && !quick;
  return {
    quick,
    scale,
    skipTable: has('scaling-only'),
    skipScaling: has('table-only'),
    rounds: quick ? 1 : num('rounds', 5),
    durationMs: quick ? 50 : num('duration', 400),
    maxOps: quick ? 8 : 200_000,
    resolvePool: quick ? 16 : 1000,
    stores: pick(STORES, listFlag(argv, 'stores'), 'store'),
    operations: pick(OPERATIONS, listFlag(argv, 'ops'), 'operation'),
    redisUrl: env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    postgresUrl: env.CLOAKROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    autoPipelining: env.CLOAKROOM_BENCH_AUTOPIPELINING !== '0',
    scaleSizes:
      listFlag(argv, 'scale-sizes')?.map(Number) ??
      (quick ? [200, 400] : scale ? [10_000, 100_000, 1_000_000] : [10_000, 100_000]),
    scaleStores: pick(
      ['memory', 'redis'] as const,
      listFlag(argv, 'scale-stores'),
      'scaling store',
    ),
    scaleTickets: (() => {
      const w = listFlag(argv, 'scale-tickets') ?? ['packed'];
      if (w.length === 1 && w[0] === 'both') return ['packed', 'strings'] as const;
      return pick(['packed', 'strings'] as const, w, 'ticket source');
    })(),
    scaleFloor: !has('no-scale-floor'),
    memoryCase: !has('no-memory'),
    statelessCase: !has('no-stateless'),
    rewrapSize: quick ? 200 : scale ? 1_000_000 : 100_000,
    memorySessions: quick ? 500 : 100_000,
    // Quick runs (CI) never overwrite the figures of a full run.
    out:
      env.CLOAKROOM_BENCH_OUT ??
      (quick ? '.bench-results/quick.json' : '.bench-results/latest.json'),
    ticketBound: !has('unbound'),
  };
}

/** In-flight operations per store: PostgreSQL is measured at 16 (its pool size), the others at 64. */
export function concurrencies(store: StoreName, quick: boolean): readonly number[] {
  if (quick) return [1, 4];
  return store === 'postgres' ? [1, 16] : [1, 64];
}
