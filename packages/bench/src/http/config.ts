// Settings of the HTTP comparison, from its own `--http-*` flags (the rest of
// `pnpm bench` ignores them) and `--quick`.
import { ALL_CONTENDERS, CONTENDERS, type ContenderName, isContender } from './contenders';

export interface HttpConfig {
  readonly quick: boolean;
  /** Measured rounds; a discarded warm-up round comes first unless quick. */
  readonly rounds: number;
  /** Load before each measured window, not counted (JIT, connection setup). */
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly connections: number;
  /** Live sessions per server; requests cycle through all of them. */
  readonly sessions: number;
  readonly contenders: readonly ContenderName[];
  /** Pin the server and the load generator to separate CPUs with taskset. */
  readonly pin: boolean;
  /** Write a V8 CPU profile of every server process into this directory. */
  readonly profileDir?: string;
  readonly redisUrl: string;
  readonly autoPipelining: boolean;
  /** JSON output, relative to the repository root. */
  readonly out: string;
}

/** `undefined` with `--no-http`. */
export function readHttpConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): HttpConfig | undefined {
  if (argv.includes('--no-http')) return undefined;
  const value = (name: string) =>
    argv.find((a) => a.startsWith(`--http-${name}=`))?.slice(name.length + 8);
  const num = (name: string, fallback: number) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--http-${name} needs a positive integer`);
    return n;
  };
  const quick = argv.includes('--quick') || env.CLOAKROOM_BENCH_QUICK === '1';
  const wanted = value('contenders')?.split(',').filter(Boolean);
  for (const w of wanted ?? []) {
    if (!isContender(w)) {
      throw new Error(`unknown HTTP contender "${w}" (one of ${ALL_CONTENDERS.join(', ')})`);
    }
  }
  const profileDir = value('profile');
  return {
    quick,
    rounds: quick ? 1 : num('rounds', 5),
    warmupMs: quick ? 100 : num('warmup', 500),
    durationMs: quick ? 200 : num('duration', 2000),
    connections: quick ? 4 : num('connections', 64),
    sessions: quick ? 20 : num('sessions', 1000),
    contenders:
      wanted === undefined ? [...CONTENDERS] : ALL_CONTENDERS.filter((c) => wanted.includes(c)),
    pin: !argv.includes('--http-no-pin'),
    ...(profileDir === undefined ? {} : { profileDir }),
    redisUrl: env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    autoPipelining: env.CLOAKROOM_BENCH_AUTOPIPELINING !== '0',
    out:
      env.CLOAKROOM_BENCH_HTTP_OUT ??
      (quick ? '.bench-results/http-quick.json' : '.bench-results/http.json'),
  };
}
