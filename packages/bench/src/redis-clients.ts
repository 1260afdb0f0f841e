// node-redis against ioredis (issue 16, targets 3 and 4), side by side in
// one run: a bare GET, the floor's read (GET + decode) and the Redis store's
// get, at 1 and 64 in flight, CPU microseconds of this process per operation
// (median over alternating rounds; Redis's own CPU is not counted).
//
//   pnpm --filter @cloakroom/bench exec tsx src/redis-clients.ts [--rounds=5] [--ms=1500]
import { randomBytes } from 'node:crypto';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { RESP_TYPES, createClient } from 'redis';
import { decodeFloor, encodeFloor } from './floor-backend';
import { type Sample, measure, median } from './measure';

const argValue = (name: string, fallback: number): number => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
};
const ROUNDS = argValue('rounds', 5);
const MS = argValue('ms', 1500);
const url = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `cloakroom-bench:clients:${randomBytes(4).toString('hex')}:`;
const HOT = 1000;
const PAYLOAD = 700;

const ioredis = new Redis(url, { enableAutoPipelining: true });
const nodeRedis = createClient({ url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
await nodeRedis.connect();

const store = createRedisStore({ client: ioredis, prefix });
// The same records through the store over node-redis (a caller-owned client, plain RESP2).
const nodeRedisPlain = createClient({ url });
await nodeRedisPlain.connect();
const storeNodeRedis = createRedisStore({ client: nodeRedisPlain, prefix });
const ids: string[] = [];
for (let i = 0; i < HOT; i++) {
  const id = randomBytes(32).toString('base64url');
  const subject = randomBytes(32).toString('base64url');
  const expiresAt = Date.now() + 3_600_000;
  const payload = new Uint8Array(randomBytes(PAYLOAD));
  ids.push(id);
  await store.insert({ id, subject, expiresAt, version: 1, payload });
  await ioredis.set(`${prefix}f:${id}`, encodeFloor({ subject, expiresAt, payload }));
}
const floorKey = (i: number) => `${prefix}f:${ids[i % HOT]}`;

type Op = (i: number) => Promise<boolean>;
const contenders: Record<string, Op> = {
  'ioredis GET': (i) => ioredis.getBuffer(floorKey(i)).then((v) => v !== null),
  'node-redis GET': (i) => nodeRedis.get(floorKey(i)).then((v) => v !== null),
  'floor get (ioredis)': (i) =>
    ioredis.getBuffer(floorKey(i)).then((v) => v !== null && decodeFloor(v).expiresAt > 0),
  'floor get (node-redis)': (i) =>
    nodeRedis
      .get(floorKey(i))
      .then((v) => v !== null && decodeFloor(v as unknown as Buffer).expiresAt > 0),
  'store.get (ioredis)': (i) => store.get(ids[i % HOT] as string).then((r) => r !== null),
  'store.get (node-redis)': (i) =>
    storeNodeRedis.get(ids[i % HOT] as string).then((r) => r !== null),
};

const results = new Map<string, Sample[]>();
for (const inFlight of [1, 64]) {
  for (const name of Object.keys(contenders)) results.set(`${name} @${inFlight}`, []);
}
// Warm-up, then alternating rounds: every contender once per round.
for (const op of Object.values(contenders)) await measure(op, 64, 300, 1e9);
for (let round = 0; round < ROUNDS; round++) {
  for (const inFlight of [1, 64]) {
    for (const [name, op] of Object.entries(contenders)) {
      const sample = await measure(op, inFlight, MS, 1e9);
      results.get(`${name} @${inFlight}`)?.push(sample);
    }
  }
}

const cpu = (samples: Sample[]) => median(samples.map((s) => s.cpuUs / s.ops));
const rate = (samples: Sample[]) => median(samples.map((s) => (s.ops * 1000) / s.ms));
console.log(`rounds ${ROUNDS} x ${MS} ms, ${HOT} hot keys, payload ${PAYLOAD} B`);
console.log('contender'.padEnd(32), 'CPU us/op'.padStart(10), 'ops/s'.padStart(10));
for (const [name, samples] of results) {
  console.log(
    name.padEnd(32),
    cpu(samples).toFixed(1).padStart(10),
    rate(samples).toFixed(0).padStart(10),
  );
}
const ratio = (a: string, b: string) => {
  const x = results.get(a) as Sample[];
  const y = results.get(b) as Sample[];
  return median(x.map((s, i) => s.cpuUs / s.ops / ((y[i] as Sample).cpuUs / (y[i] as Sample).ops)));
};
for (const n of [1, 64]) {
  console.log(
    `@${n}: node-redis/ioredis GET CPU ${ratio(`node-redis GET @${n}`, `ioredis GET @${n}`).toFixed(2)}x;`,
    `store.get vs floor get (ioredis), CPU floor/store = ${(1 / ratio(`store.get (ioredis) @${n}`, `floor get (ioredis) @${n}`)).toFixed(2)}x;`,
    `store.get node-redis/ioredis CPU ${ratio(`store.get (node-redis) @${n}`, `store.get (ioredis) @${n}`).toFixed(2)}x;`,
    `store.get (node-redis) vs floor get (node-redis), CPU floor/store = ${(1 / ratio(`store.get (node-redis) @${n}`, `floor get (node-redis) @${n}`)).toFixed(2)}x`,
  );
}

for (const key of [...ids.map((id) => `${prefix}f:${id}`)]) await ioredis.del(key);
await store.deleteBySubject('x'.repeat(43)).catch(() => 0);
const leftovers = await ioredis.keys(`${prefix}*`);
for (const key of leftovers) await ioredis.del(key);
await store.close();
await storeNodeRedis.close();
ioredis.disconnect();
await nodeRedis.quit();
await nodeRedisPlain.quit();
