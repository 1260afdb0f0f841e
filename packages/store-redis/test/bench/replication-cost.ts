// What the replication guarantee costs a revocation: delete latency and
// throughput with and without `replication: { replicas: 1 }`, against a
// master and one replica this script starts on loopback (and kills).
//
//   node --import tsx packages/store-redis/test/bench/replication-cost.ts [deletes] [rounds]
//
// Rounds alternate off / on, so drift on a shared machine hits both alike;
// the summary is the median over rounds.
import { createRedisStore, type RedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, tempDir, waitFor } from '../integration/redis-servers';
import { makeRecord, uniquePrefix } from '../integration/redis-test-env';

const N = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 5);
const CONCURRENCY = 32;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

async function seed(store: RedisStore): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < N; i += 100) {
    const batch = Array.from({ length: Math.min(100, N - i) }, () => makeRecord());
    await Promise.all(batch.map((r) => store.insert(r)));
    ids.push(...batch.map((r) => r.id));
  }
  return ids;
}

async function sequential(store: RedisStore, ids: string[]): Promise<number[]> {
  const times: number[] = [];
  for (const id of ids) {
    const t = performance.now();
    await store.delete(id);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

async function concurrent(store: RedisStore, ids: string[]): Promise<number> {
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) await store.delete(ids[next++] as string);
    }),
  );
  return ids.length / ((performance.now() - t) / 1000);
}

const { dir, remove } = tempDir('bench-replication');
const masterPort = await freePort();
const master = await startRedisServer(masterPort, dir);
const replicaPort = await freePort();
const replica = await startRedisServer(replicaPort, dir, [
  '--replicaof',
  '127.0.0.1',
  String(masterPort),
  '--dbfilename',
  'replica.rdb',
]);
const client = new Redis({ host: '127.0.0.1', port: masterPort, enableAutoPipelining: true });
try {
  await waitFor('the replica to be in sync', async () =>
    /state=online/.test(await client.info('replication')),
  );
  const results: Record<'off' | 'on', { p50: number[]; p99: number[]; rate: number[] }> = {
    off: { p50: [], p99: [], rate: [] },
    on: { p50: [], p99: [], rate: [] },
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const guarded of [false, true]) {
      const store = createRedisStore({
        client,
        prefix: uniquePrefix('bench-replication'),
        ...(guarded ? { replication: { replicas: 1, timeoutMs: 1000 } } : {}),
      });
      const times = await sequential(store, await seed(store));
      const rate = await concurrent(store, await seed(store));
      const cell = results[guarded ? 'on' : 'off'];
      cell.p50.push(quantile(times, 0.5));
      cell.p99.push(quantile(times, 0.99));
      cell.rate.push(rate);
      await store.close();
    }
  }
  const median = (xs: number[]) =>
    quantile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  console.log(
    `delete (a revocation): ${N} one at a time, then ${N} at ${CONCURRENCY} in flight; median of ${ROUNDS} rounds`,
  );
  console.log('| replication | p50 ms | p99 ms | deletes/s at 32 in flight |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, cell] of Object.entries(results)) {
    console.log(
      `| ${name === 'on' ? 'replicas: 1' : 'off'} | ${median(cell.p50).toFixed(3)} | ${median(cell.p99).toFixed(3)} | ${Math.round(median(cell.rate))} |`,
    );
  }
  console.log(`raw: ${JSON.stringify(results)}`);
} finally {
  client.disconnect();
  await replica.kill();
  await master.kill();
  remove();
}
