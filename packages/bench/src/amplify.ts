// `pnpm --filter @cloakroom/bench amplify [rounds] [ms]`: what a few
// microseconds of per-request CPU cost on a shared store at concurrency.
//
// Each contender does one read of a 1,280-byte value by key (Redis: ioredis
// GET with auto-pipelining, 64 in flight; PostgreSQL: one prepared SELECT
// through a pool of 16, 16 in flight), then does `work` µs of CPU work, as a
// session library's own per-request work would. The contenders alternate
// within every round (the first rotates). If the store's cost per request
// were fixed, CPU per request would grow by exactly `work`; the `extra`
// column shows by how much more it grows: fewer requests in flight at the
// server per batch, so more round trips, wakeups and parser calls per
// request on the client.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Sample, measure, median } from './measure';

const KEYS = 1000;
const VALUE_BYTES = 1280;
const WORK_US = [0, 5, 10, 20] as const;

/** Loop iterations per CPU microsecond, measured once at start ({@link calibrate}). */
let perUs = 0;
let sink = 0;

/** A fixed amount of CPU work: `n` rounds of integer mixing (the result kept, so it is not optimised away). */
function work(n: number): void {
  let x = sink | 1;
  for (let i = 0; i < n; i++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
  sink = x;
}

/** Sets {@link perUs} from the CPU time of a long run of {@link work}, the best of five. */
function calibrate(): void {
  const n = 2_000_000;
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 5; k++) {
    const cpu = process.cpuUsage();
    work(n);
    const used = process.cpuUsage(cpu);
    best = Math.min(best, used.user + used.system);
  }
  perUs = n / best;
}

/** `us` microseconds of CPU work (as calibrated; not wall time, which a descheduled spin would count). */
function spin(us: number): void {
  if (us > 0) work(Math.round(us * perUs));
}

interface Backend {
  readonly name: string;
  readonly inFlight: number;
  read(i: number): Promise<unknown>;
  close(): Promise<void>;
}

async function redisBackend(url: string): Promise<Backend> {
  const client = new Redis(url, { enableAutoPipelining: true, lazyConnect: true });
  await client.connect();
  const prefix = `bench:amplify:${process.pid}:`;
  const value = randomBytes(VALUE_BYTES);
  for (let i = 0; i < KEYS; i++) await client.set(prefix + i, value, 'EX', 600);
  return {
    name: 'Redis (ioredis GET)',
    inFlight: 64,
    read: (i) => client.getBuffer(prefix + (i % KEYS)),
    async close() {
      for (let i = 0; i < KEYS; i += 100) {
        await client.del(...Array.from({ length: 100 }, (_, j) => prefix + (i + j)));
      }
      client.disconnect();
    },
  };
}

async function postgresBackend(url: string): Promise<Backend> {
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  const table = `bench_amplify_${process.pid}`;
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, payload bytea NOT NULL)`);
  const value = randomBytes(VALUE_BYTES);
  for (let i = 0; i < KEYS; i++) {
    await pool.query(`INSERT INTO ${table} (id, payload) VALUES ($1, $2)`, [`k${i}`, value]);
  }
  const get = { name: 'amplify_get', text: `SELECT payload FROM ${table} WHERE id = $1` };
  return {
    name: 'PostgreSQL (pg, pool of 16)',
    inFlight: 16,
    read: (i) => pool.query({ ...get, values: [`k${i % KEYS}`] }),
    async close() {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    },
  };
}

async function run(backend: Backend, rounds: number, ms: number): Promise<string> {
  const samples = new Map<number, Sample[]>(WORK_US.map((w) => [w, []]));
  const contender = (work: number) => async (i: number) => {
    await backend.read(i);
    spin(work);
    return true;
  };
  for (const work of WORK_US) await measure(contender(work), backend.inFlight, 100, 1e9);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < WORK_US.length; k++) {
      const work = WORK_US[(k + round) % WORK_US.length] as number;
      samples.get(work)?.push(await measure(contender(work), backend.inFlight, ms, 1e9));
    }
  }
  const cpuOf = (w: number) => median((samples.get(w) ?? []).map((s) => s.cpuUs / s.ops));
  const opsOf = (w: number) => median((samples.get(w) ?? []).map((s) => (s.ops * 1000) / s.ms));
  const base = cpuOf(0);
  const lines = [
    `${backend.name}, ${backend.inFlight} in flight, ${rounds} alternating rounds of ${ms} ms (medians)`,
    '| work added per request (CPU µs) | ops/s | CPU µs/op | CPU over the bare read | extra beyond the work |',
    '|--:|--:|--:|--:|--:|',
  ];
  for (const w of WORK_US) {
    const cpu = cpuOf(w);
    const over = cpu - base;
    lines.push(
      `| ${w} | ${Math.round(opsOf(w)).toLocaleString('en-US')} | ${cpu.toFixed(1)} | ${w === 0 ? '' : `+${over.toFixed(1)}`} | ${w === 0 ? '' : `${(over / w).toFixed(2)}x`} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const ms = Number(process.argv[3] ?? 400);
  if (!Number.isInteger(rounds) || rounds < 1 || !(ms > 0)) {
    throw new Error('usage: amplify [rounds >= 1] [ms per round > 0]');
  }
  calibrate();
  const redisUrl = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const postgresUrl =
    process.env.CLOAKROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  for (const make of [() => redisBackend(redisUrl), () => postgresBackend(postgresUrl)]) {
    const backend = await make();
    try {
      console.log(`${await run(backend, rounds, ms)}\n`);
    } finally {
      await backend.close();
    }
  }
}

await main();
