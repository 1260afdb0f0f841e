// What keeping seats (insertWithLimit) costs a plain insert, and what
// insertWithLimit costs: side by side in one run, against a redis-server this
// script starts on loopback (and kills), so its command statistics are ours.
//
//   node --import tsx packages/store-redis/test/bench/seat-cost.ts [inserts] [rounds] [base-commit]
//
// "before" is the insert script of base-commit (default bbdb218, the last
// commit without seats), swapped into the same store code; "after" is the
// current one. Rounds alternate before / after / insertWithLimit, so drift on
// a shared machine hits all alike; the summary is the median over rounds.
// Reported: Redis CPU per call (INFO commandstats, usec_per_call of EVALSHA),
// this process's CPU per call, and calls/s at 64 in flight.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionRecord } from '@cloakroom/core';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/index';
import { SCRIPTS, script } from '../../src/redis/scripts';
import { freePort, startRedisServer, tempDir } from '../integration/redis-servers';
import { makeRecord, randomId, uniquePrefix } from '../integration/redis-test-env';

const N = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 5);
const BASE = process.argv[4] ?? 'bbdb218';
const CONCURRENCY = 64;

// The base commit's scripts, loaded from git into a temporary module pair.
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const oldDir = mkdtempSync(join(tmpdir(), 'seat-cost-'));
for (const file of ['lua-prelude.ts', 'lua-record-scripts.ts']) {
  const text = execFileSync('git', ['show', `${BASE}:packages/store-redis/src/redis/${file}`], {
    cwd: repo,
    encoding: 'utf8',
  });
  writeFileSync(join(oldDir, file), text);
}
const old = (await import(join(oldDir, 'lua-record-scripts.ts'))) as { INSERT: string };
rmSync(oldDir, { recursive: true, force: true });
const before = script(old.INSERT);
const after = SCRIPTS.insert;

const { dir, remove } = tempDir('bench-seats');
const port = await freePort();
const server = await startRedisServer(port, dir);
const client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: true });

/** EVALSHA calls and their server time, and every command run (scripts' own included). */
async function evalshaUsec(): Promise<{ calls: number; usec: number; commands: number }> {
  const info = await client.info('commandstats');
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  let commands = 0;
  for (const c of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    if (c[1] !== 'evalsha' && c[1] !== 'info') commands += Number(c[2]);
  }
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0), commands };
}

type Variant = 'before' | 'after' | 'insertWithLimit';
interface Cell {
  redisUs: number[];
  commands: number[];
  clientUs: number[];
  rate: number[];
}
const cell = (): Cell => ({ redisUs: [], commands: [], clientUs: [], rate: [] });
const results: Record<Variant, Cell> = {
  before: cell(),
  after: cell(),
  insertWithLimit: cell(),
};

try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of ['before', 'after', 'insertWithLimit'] as Variant[]) {
      SCRIPTS.insert = variant === 'before' ? before : after;
      const store = createRedisStore({ client, prefix: uniquePrefix('bench-seats') });
      // Sessions of 1,000 subjects, 700-byte payloads; a limit of 5 never reached.
      const subjects = Array.from({ length: 1000 }, () => randomId());
      const records: SessionRecord[] = Array.from({ length: N }, (_, i) =>
        makeRecord({
          subject: subjects[i % subjects.length] as string,
          payload: new Uint8Array(700),
        }),
      );
      const limited = store.insertWithLimit as NonNullable<typeof store.insertWithLimit>;
      const one =
        variant === 'insertWithLimit'
          ? (r: SessionRecord) => limited(r, { max: 10, evict: 'oldest' })
          : (r: SessionRecord) => store.insert(r);
      await one(makeRecord()); // script cached, connection warm
      const s0 = await evalshaUsec();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < records.length) await one(records[next++] as SessionRecord);
        }),
      );
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const s1 = await evalshaUsec();
      const cell = results[variant];
      cell.redisUs.push((s1.usec - s0.usec) / (s1.calls - s0.calls));
      cell.commands.push((s1.commands - s0.commands) / (s1.calls - s0.calls));
      cell.clientUs.push((cpu.user + cpu.system) / N);
      cell.rate.push(N / (ms / 1000));
      await client.flushall();
      await store.close();
    }
  }
  const median = (xs: number[]) =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(
    `${N} inserts at ${CONCURRENCY} in flight, 1,000 subjects; median of ${ROUNDS} rounds`,
  );
  console.log(
    '| insert | Redis commands/call | Redis µs/call | client CPU µs/call | calls/s | Redis µs vs before |',
  );
  console.log('| --- | --: | --: | --: | --: | --: |');
  const base = median(results.before.redisUs);
  for (const [name, cell] of Object.entries(results)) {
    console.log(
      `| ${name} | ${median(cell.commands).toFixed(1)} | ${median(cell.redisUs).toFixed(1)} | ${median(cell.clientUs).toFixed(1)} | ${Math.round(median(cell.rate))} | ${(median(cell.redisUs) / base).toFixed(2)}x |`,
    );
  }
  console.log(`raw: ${JSON.stringify(results)}`);
} finally {
  client.disconnect();
  await server.kill();
  remove();
}
