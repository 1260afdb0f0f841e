// What insertWithLimit reads: only the records that hold a seat. Forwarders
// (every refreshed session's old record, live until its absolute expiry) and
// records written before seats are never read, so a subject refreshed
// thousands of times costs a sign-in no more than one with a few sessions.
// Against a redis-server of its own, so its command statistics are this
// test's alone.
import type { SessionRecord } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/codec';
import { bucketOf, keyLayout } from '../../src/redis/key-layout';
import { type RedisServer, freePort, startRedisServer, tempDir } from './redis-servers';
import { makeRecord, randomId, uniquePrefix } from './redis-test-env';

const dir = tempDir('seat-walk');
let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  const port = await freePort();
  server = await startRedisServer(port, dir.dir);
  client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: true });
}, 30_000);
afterAll(async () => {
  client.disconnect();
  await server.kill();
  dir.remove();
});

/** Calls of each Redis command since the last CONFIG RESETSTAT (scripts' own included). */
async function calls(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await client.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    out[m[1] as string] = Number(m[2]);
  }
  return out;
}

describe('insertWithLimit reads only seated records', () => {
  it('3,000 forwarders and 1,000 records from before seats: a limited insert reads 3 records and runs under 100 commands', async () => {
    const prefix = uniquePrefix('seat-walk');
    const store = createRedisStore({ client, prefix, commandTimeoutMs: 20_000 });
    const insertWithLimit = store.insertWithLimit;
    if (insertWithLimit === undefined) throw new Error('insertWithLimit missing');
    const subject = randomId();
    const t = Date.now();
    const rec = (): SessionRecord => makeRecord({ subject, expiresAt: t + 600_000 });
    // Two devices refreshed 1,500 times each: two seated sessions, 3,000 forwarders.
    const heads = await Promise.all(
      [0, 1].map(async () => {
        let head = rec();
        await store.insert(head);
        for (let i = 0; i < 1_500; i++) {
          const next = rec();
          expect(
            await store.rotate({ record: { ...head, version: 2 }, expectedVersion: 1 }, next),
          ).toBe(true);
          head = next;
        }
        return head;
      }),
    );
    // 1,000 records of an older release (no seat member).
    const layout = keyLayout(prefix);
    await Promise.all(
      Array.from({ length: 1_000 }, async () => {
        const r = rec();
        const base = layout.bucketBase(bucketOf(r.id));
        await client.set(layout.recordKey(r.id), encodeRecord(r), 'PX', 600_000);
        await client.zadd(`${base}all`, r.expiresAt, r.id);
        await client.zadd(`${base}sub:${subject}`, r.expiresAt, r.id);
      }),
    );
    expect((await store.listBySubject(subject)).length).toBe(4_002);
    await client.config('RESETSTAT');
    const x = rec();
    expect(await insertWithLimit(x, { max: 2, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [heads[0]!.id],
    });
    const stats = await calls();
    // The new record's key, then the two seated records: nothing else.
    expect(stats.get).toBe(3);
    const total = Object.entries(stats)
      .filter(([name]) => name !== 'evalsha' && name !== 'eval' && name !== 'config')
      .reduce((sum, [, n]) => sum + n, 0);
    // Forwarders leave no seat member: 16 EXISTS, one ZRANGEBYSCORE per bucket
    // of the (at most 2) groups of 16 buckets holding a seat, and the writes.
    expect(total).toBeLessThan(100);
    expect(await store.get(heads[1]!.id)).not.toBeNull();
    await store.close();
  }, 120_000);
});
