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
// request on the client. Kinds of work: `cpu` allocates nothing and reads
// no memory (integer mixing); `alloc` is `JSON.parse` of a 1 KiB
// session-like body, repeated; `crypto` is the floor's own resolve work on
// that body (SHA-256 of a ticket, one AES-256-GCM open through node:crypto,
// `JSON.parse`), repeated; `l1` and `stream` read memory and allocate
// nothing: one int per cache line of a 16 KiB array (stays in L1), or of a
// 64 MiB array continuing where the last call stopped (every line cold, so
// it pushes other data out of the core's caches). GC pause time per request
// is reported beside the CPU, for each case and for the work alone.
import { createCipheriv, hash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { floorOpen } from './floor';
import { gcPauses } from './heap';
import { type Sample, measure, median } from './measure';

const KEYS = 1000;
const VALUE_BYTES = 1280;
interface Work {
  readonly kind: 'none' | 'cpu' | 'alloc' | 'crypto' | 'l1' | 'stream';
  /** CPU µs the work costs alone (as calibrated). */
  readonly us: number;
}
const WORKS: readonly Work[] = [
  { kind: 'none', us: 0 },
  { kind: 'cpu', us: 10 },
  { kind: 'alloc', us: 10 },
  { kind: 'cpu', us: 20 },
  { kind: 'alloc', us: 20 },
  { kind: 'crypto', us: 10 },
  { kind: 'crypto', us: 20 },
  { kind: 'l1', us: 20 },
  { kind: 'stream', us: 10 },
  { kind: 'stream', us: 20 },
];
const label = (w: Work) => (w.kind === 'none' ? 'none' : `${w.kind} ${w.us}`);
/** A session-like JSON body of about 1 KiB. */
const BODY = JSON.stringify({
  sub: 'user-1234',
  iss: 'https://auth.bench.example',
  aud: 'https://api.bench.example',
  roles: ['reader', 'writer', 'admin'],
  claims: Object.fromEntries(
    Array.from({ length: 24 }, (_, i) => [`claim${i}`, `value-${i}-${'x'.repeat(12)}`]),
  ),
});
/** CPU µs per JSON.parse of {@link BODY}, measured once at start. */
let parseUs = 0;
/** The body sealed as the floor seals it (nonce ‖ ciphertext ‖ tag, the id as AAD), and its key. */
const SEAL_KEY = randomBytes(32);
const SEALED = (() => {
  const nonce = randomBytes(12);
  const gcm = createCipheriv('aes-256-gcm', SEAL_KEY, nonce);
  gcm.setAAD(Buffer.from('amplify-id', 'latin1'));
  const body = gcm.update(BODY, 'utf8');
  gcm.final();
  return Buffer.concat([nonce, body, gcm.getAuthTag()]);
})();
/** The floor's resolve work on the body, once. */
function openOnce(): void {
  hash('sha256', 'amplify-ticket');
  kept = JSON.parse(floorOpen(SEAL_KEY, SEALED, 'amplify-id').toString('utf8'));
}
/** CPU µs per {@link openOnce}, measured once at start. */
let openUs = 0;
let kept: unknown;

/** Loop iterations per CPU microsecond, measured once at start ({@link calibrate}). */
let perUs = 0;
let sink = 0;

/**
 * Memory reads that allocate nothing: `l1` reads one int per cache line of
 * a 16 KiB array over and over (it stays in L1); `stream` reads one int per
 * cache line of a 64 MiB array, going on where the last call stopped, so
 * every line it reads is one it has not read for a long time and the lines
 * it brings in push others (the driver's) out of the core's caches.
 */
const SMALL = new Int32Array(4096);
const BIG = new Int32Array(16 << 20).fill(1);
let bigAt = 0;
/** Cache lines per CPU µs of each, measured once at start. */
let smallLinesPerUs = 0;
let bigLinesPerUs = 0;
function readSmall(lines: number): void {
  let x = sink;
  let at = 0;
  for (let k = 0; k < lines; k++) {
    x += SMALL[at] as number;
    at = (at + 16) & 4095;
  }
  sink = x;
}
function readBig(lines: number): void {
  let x = sink;
  let at = bigAt;
  for (let k = 0; k < lines; k++) {
    x += BIG[at] as number;
    at += 16;
    if (at >= BIG.length) at = 0;
  }
  bigAt = at;
  sink = x;
}

/** A fixed amount of CPU work: `n` rounds of integer mixing (the result kept, so it is not optimised away). */
function work(n: number): void {
  let x = sink | 1;
  for (let i = 0; i < n; i++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
  sink = x;
}

/** GC pause µs per call of the allocating and the crypto work, alone (median of the five runs). */
let parseGcUs = 0;
let openGcUs = 0;

/**
 * `fn` run five times: the least CPU µs one run took, and the median GC
 * pause µs per run (entries are delivered after a turn of the event loop).
 */
async function bestOfFive(
  gc: ReturnType<typeof gcPauses>,
  fn: () => void,
): Promise<{ cpuUs: number; gcUs: number }> {
  let best = Number.POSITIVE_INFINITY;
  const pauses: number[] = [];
  for (let k = 0; k < 5; k++) {
    const from = performance.now();
    const cpu = process.cpuUsage();
    fn();
    const used = process.cpuUsage(cpu);
    const to = performance.now();
    best = Math.min(best, used.user + used.system);
    await new Promise((r) => setTimeout(r, 5));
    pauses.push(gc.between(from, to) * 1000);
  }
  return { cpuUs: best, gcUs: median(pauses) };
}

/** Sets the per-µs rates and per-call costs of every kind of work, alone, before any read. */
async function calibrate(): Promise<void> {
  const gc = gcPauses();
  const n = 2_000_000;
  perUs = n / (await bestOfFive(gc, () => work(n))).cpuUs;
  const lines = 4_000_000;
  smallLinesPerUs = lines / (await bestOfFive(gc, () => readSmall(lines))).cpuUs;
  bigLinesPerUs = lines / (await bestOfFive(gc, () => readBig(lines))).cpuUs;
  const calls = 20_000;
  const parse = await bestOfFive(gc, () => {
    for (let i = 0; i < calls; i++) kept = JSON.parse(BODY);
  });
  parseUs = parse.cpuUs / calls;
  parseGcUs = parse.gcUs / calls;
  const open = await bestOfFive(gc, () => {
    for (let i = 0; i < calls; i++) openOnce();
  });
  openUs = open.cpuUs / calls;
  openGcUs = open.gcUs / calls;
  gc.stop();
}

/** `us` microseconds (as calibrated alone) of the floor's resolve work, repeated. */
function decrypt(us: number): void {
  const n = Math.max(1, Math.round(us / openUs));
  for (let i = 0; i < n; i++) openOnce();
}

/** `us` microseconds (as calibrated alone) of allocating work: JSON.parse of the body, repeated. */
function allocate(us: number): void {
  const n = Math.max(1, Math.round(us / parseUs));
  for (let i = 0; i < n; i++) kept = JSON.parse(BODY);
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
  const samples = WORKS.map(() => [] as Sample[]);
  const contender = (w: Work) => async (i: number) => {
    await backend.read(i);
    if (w.kind === 'cpu') spin(w.us);
    else if (w.kind === 'alloc') allocate(w.us);
    else if (w.kind === 'crypto') decrypt(w.us);
    else if (w.kind === 'l1') readSmall(Math.round(w.us * smallLinesPerUs));
    else if (w.kind === 'stream') readBig(Math.round(w.us * bigLinesPerUs));
    return true;
  };
  for (const w of WORKS) await measure(contender(w), backend.inFlight, 100, 1e9);
  // GC pause time per request, per case: is what the work costs beside a driver spent in GC?
  const gcPerOp = WORKS.map(() => [] as number[]);
  const gc = gcPauses();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < WORKS.length; k++) {
      const j = (k + round) % WORKS.length;
      const from = performance.now();
      const sample = await measure(contender(WORKS[j] as Work), backend.inFlight, ms, 1e9);
      const to = performance.now();
      // GC entries are delivered after a turn of the event loop.
      await new Promise((r) => setTimeout(r, 5));
      samples[j]?.push(sample);
      gcPerOp[j]?.push((gc.between(from, to) * 1000) / Math.max(1, sample.ops));
    }
  }
  gc.stop();
  const gcOf = (j: number) => median(gcPerOp[j] ?? []);
  const cpuOf = (j: number) => median((samples[j] ?? []).map((s) => s.cpuUs / s.ops));
  const opsOf = (j: number) => median((samples[j] ?? []).map((s) => (s.ops * 1000) / s.ms));
  const base = cpuOf(0);
  const lines = [
    `${backend.name}, ${backend.inFlight} in flight, ${rounds} alternating rounds of ${ms} ms (medians)`,
    '| work per request (kind, CPU µs alone) | ops/s | CPU µs/op | CPU over the bare read | over / alone | GC pause µs/op | GC over the bare read |',
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  WORKS.forEach((w, j) => {
    const over = cpuOf(j) - base;
    const none = w.kind === 'none';
    const gcOver = gcOf(j) - gcOf(0);
    lines.push(
      `| ${label(w)} | ${Math.round(opsOf(j)).toLocaleString('en-US')} | ${cpuOf(j).toFixed(1)} | ${none ? '' : `+${over.toFixed(1)}`} | ${none ? '' : `${(over / w.us).toFixed(2)}x`} | ${gcOf(j).toFixed(2)} | ${none ? '' : `${gcOver >= 0 ? '+' : ''}${gcOver.toFixed(2)}`} |`,
    );
  });
  return lines.join('\n');
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const ms = Number(process.argv[3] ?? 400);
  if (!Number.isInteger(rounds) || rounds < 1 || !(ms > 0)) {
    throw new Error('usage: amplify [rounds >= 1] [ms per round > 0]');
  }
  await calibrate();
  console.log(
    `calibrated alone: ${smallLinesPerUs.toFixed(0)} cache lines per µs from L1, ${bigLinesPerUs.toFixed(0)} streaming from a 64 MiB array; JSON.parse of a ${BODY.length}-byte body ${parseUs.toFixed(2)} CPU µs (GC pauses ${parseGcUs.toFixed(3)} µs); SHA-256 + AES-GCM open + JSON.parse ${openUs.toFixed(2)} CPU µs (GC pauses ${openGcUs.toFixed(3)} µs)`,
  );
  void kept;
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
