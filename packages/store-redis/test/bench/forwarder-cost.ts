// What a sign-in (insertWithLimit) costs Redis when the subject has many
// forwarders (every refresh leaves the old record live until its absolute
// expiry): side by side in one run, against a redis-server this script
// starts on loopback (and kills), so its command statistics are ours.
//
//   node --import tsx packages/store-redis/test/bench/forwarder-cost.ts [forwarders] [calls] [rounds] [base-commit]
//
// One subject: two devices refreshed forwarders/2 times each (two seated
// sessions, `forwarders` forwarders). "before" is the insertWithLimit script
// of base-commit (default 12ca265: forwarders hold no seat, but the script
// read every record of the subject index), swapped into the same store code;
// "after" is the current one. (Older bases counted a record with no seat
// member as seated: their first call would evict every forwarder, which the
// check after each round catches.)
// Rounds alternate before / after; each round makes `calls` sequential calls
// with max 2, evict 'oldest' (each evicts one session, so two stay seated and
// the forwarders stay). Reported: Redis time per call (INFO commandstats,
// EVALSHA usec: the time the script blocks the server), Redis commands per
// call, median and worst over rounds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionRecord } from '@cloakroom/core';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/index';
import { bucketTags } from '../../src/redis/key-layout';
import { SCRIPTS, script } from '../../src/redis/scripts';
import { freePort, startRedisServer, tempDir } from '../integration/redis-servers';
import { makeRecord, randomId, uniquePrefix } from '../integration/redis-test-env';

const FORWARDERS = Number(process.argv[2] ?? 20_000);
const CALLS = Number(process.argv[3] ?? 20);
const ROUNDS = Number(process.argv[4] ?? 5);
const BASE = process.argv[5] ?? '12ca265';

// The base commit's limit script, loaded from git into a temporary module pair.
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const oldDir = mkdtempSync(join(tmpdir(), 'forwarder-cost-'));
for (const file of ['lua-prelude.ts', 'lua-bucket-scripts.ts']) {
  const text = execFileSync('git', ['show', `${BASE}:packages/store-redis/src/redis/${file}`], {
    cwd: repo,
    encoding: 'utf8',
  });
  writeFileSync(join(oldDir, file), text);
}
const old = (await import(join(oldDir, 'lua-bucket-scripts.ts'))) as {
  insertLimitScript: (tags: readonly string[]) => string;
};
rmSync(oldDir, { recursive: true, force: true });
const variants = {
  before: script(old.insertLimitScript(bucketTags())),
  after: SCRIPTS.insertLimit,
};

const { dir, remove } = tempDir('bench-forwarders');
const port = await freePort();
const server = await startRedisServer(port, dir);
const client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: true });

async function stats(): Promise<{ calls: number; usec: number; commands: number }> {
  const info = await client.info('commandstats');
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  let commands = 0;
  for (const c of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    if (c[1] !== 'evalsha' && c[1] !== 'info') commands += Number(c[2]);
  }
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0), commands };
}

const results = {
  before: { us: [] as number[], commands: [] as number[] },
  after: { us: [] as number[], commands: [] as number[] },
};
try {
  const store = createRedisStore({
    client,
    prefix: uniquePrefix('bench-forwarders'),
    commandTimeoutMs: 60_000,
  });
  const limited = store.insertWithLimit as NonNullable<typeof store.insertWithLimit>;
  const subject = randomId();
  const rec = (): SessionRecord =>
    makeRecord({ subject, expiresAt: Date.now() + 3_600_000, payload: new Uint8Array(700) });
  await Promise.all(
    [0, 1].map(async () => {
      let head = rec();
      await store.insert(head);
      for (let i = 0; i < FORWARDERS / 2; i++) {
        const next = rec();
        await store.rotate({ record: { ...head, version: 2 }, expectedVersion: 1 }, next);
        head = next;
      }
    }),
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of ['before', 'after'] as const) {
      SCRIPTS.insertLimit = variants[name];
      await limited(rec(), { max: 2, evict: 'oldest' }); // script cached
      const s0 = await stats();
      for (let i = 0; i < CALLS; i++) await limited(rec(), { max: 2, evict: 'oldest' });
      const s1 = await stats();
      results[name].us.push((s1.usec - s0.usec) / (s1.calls - s0.calls));
      results[name].commands.push((s1.commands - s0.commands) / (s1.calls - s0.calls));
      const left = (await store.listBySubject(subject)).length;
      if (left !== FORWARDERS + 2)
        throw new Error(`${name}: ${left} records left, not ${FORWARDERS + 2}`);
    }
  }
  const median = (xs: number[]) =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(
    `one subject, ${FORWARDERS} forwarders + 2 seated; ${CALLS} insertWithLimit calls per round; ${ROUNDS} rounds`,
  );
  console.log('| script | Redis commands/call | Redis µs/call (median) | worst round |');
  console.log('| --- | --: | --: | --: |');
  for (const [name, cell] of Object.entries(results)) {
    console.log(
      `| ${name} | ${median(cell.commands).toFixed(1)} | ${median(cell.us).toFixed(0)} | ${Math.max(...cell.us).toFixed(0)} |`,
    );
  }
  console.log(
    `before / after: ${(median(results.before.us) / median(results.after.us)).toFixed(1)}x`,
  );
  console.log(`raw: ${JSON.stringify(results)}`);
  await store.close();
} finally {
  client.disconnect();
  await server.kill();
  remove();
}
