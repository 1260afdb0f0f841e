// What a plain insert does to the bucket's index keys (`all`, the subject
// index, its seats): it only adds its member, raising each key's expiry to
// the record's when later, and an index key of another type stops it before
// it writes anything (see `fresh` in lua-prelude.ts).
import { type SessionRecord, StoreDataInvalid } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf, keyLayout } from '../../src/redis/key-layout';
import { connectOrFail, deleteUnder, makeRecord, randomId, uniquePrefix } from './redis-test-env';

let client: Redis;
let prefix: string;
const t = 1_700_000_000_000;

beforeAll(async () => {
  client = await connectOrFail();
});
afterEach(async () => {
  await deleteUnder(client, prefix);
});
afterAll(() => client.disconnect());

function newStore() {
  prefix = uniquePrefix('insert-index');
  return createRedisStore({ client, prefix, clock: () => t });
}

/** A record of `subject` in `bucket`, expiring `ms` after the store's clock. */
function inBucket(subject: string, bucket: number, ms: number): SessionRecord {
  for (;;) {
    const r = makeRecord({ subject, expiresAt: t + ms });
    if (bucketOf(r.id) === bucket) return r;
  }
}

/** The three index keys of a subject in a bucket. */
function indexKeys(subject: string, bucket: number) {
  const base = keyLayout(prefix).bucketBase(bucket);
  return { all: `${base}all`, sub: `${base}sub:${subject}`, seat: `${base}seat:${subject}` };
}

/** PTTL of each index key, as [all, sub, seat]. */
async function ttls(keys: ReturnType<typeof indexKeys>): Promise<number[]> {
  return Promise.all([client.pttl(keys.all), client.pttl(keys.sub), client.pttl(keys.seat)]);
}

/** Every member and score of a sorted set, or the string value of a key of another type. */
async function contents(key: string): Promise<unknown> {
  const type = await client.type(key);
  return type === 'zset' ? client.zrange(key, 0, -1, 'WITHSCORES') : [type, await client.get(key)];
}

describe('insert keeps the index keys: only its member added, expiries raised, nothing on bad data', () => {
  it('each index key expires with its latest member, whatever order the expiries come in', async () => {
    const store = newStore();
    const subject = randomId();
    const bucket = 7;
    const keys = indexKeys(subject, bucket);
    let latest = 0;
    // Later, earlier, in between, then latest again: the key's expiry only ever follows the latest.
    for (const ms of [60_000, 20_000, 40_000, 90_000, 10_000]) {
      await store.insert(inBucket(subject, bucket, ms));
      latest = Math.max(latest, ms);
      for (const ttl of await ttls(keys)) {
        expect(ttl).toBeGreaterThan(latest - 5_000);
        expect(ttl).toBeLessThanOrEqual(latest);
      }
    }
  });

  it('an index key left without an expiry (not written by the store) gets its latest member’s', async () => {
    const store = newStore();
    const subject = randomId();
    const bucket = 11;
    const keys = indexKeys(subject, bucket);
    await store.insert(inBucket(subject, bucket, 90_000));
    for (const key of Object.values(keys)) await client.persist(key);
    expect(await ttls(keys)).toEqual([-1, -1, -1]);
    // A shorter record must not cut the 90 s member's index entries short.
    await store.insert(inBucket(subject, bucket, 20_000));
    for (const ttl of await ttls(keys)) {
      expect(ttl).toBeGreaterThan(85_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
    }
  });

  it('a member left behind by a vanished record of the same id takes the new scores', async () => {
    const store = newStore();
    const subject = randomId();
    const record = inBucket(subject, 3, 60_000);
    const keys = indexKeys(subject, 3);
    await store.insert(record);
    // The record key gone (evicted, deleted by hand), its members still indexed with other scores.
    await client.del(keyLayout(prefix).recordKey(record.id));
    await client.zadd(keys.all, 5, record.id);
    await client.zadd(keys.sub, 5, record.id);
    await client.zadd(keys.seat, 5, record.id);
    const again = { ...record, expiresAt: t + 30_000 };
    await store.insert(again);
    expect(await store.get(record.id)).toEqual(again);
    expect(await client.zscore(keys.all, record.id)).toBe(String(t + 30_000));
    expect(await client.zscore(keys.sub, record.id)).toBe(String(t + 30_000));
    expect(Number(await client.zscore(keys.seat, record.id))).toBeGreaterThan(5);
  });

  it.each(['all', 'sub', 'seat'] as const)(
    'an index key of another type (%s) fails the insert with StoreDataInvalid and changes nothing',
    async (which) => {
      const store = newStore();
      const subject = randomId();
      const bucket = 5;
      const keys = indexKeys(subject, bucket);
      await store.insert(inBucket(subject, bucket, 60_000));
      const record = inBucket(subject, bucket, 30_000);
      // Members of the new id already there (a vanished record's) must keep their scores.
      await client.zadd(keys.all, 5, record.id);
      await client.zadd(keys.sub, 5, record.id);
      await client.del(keys[which]);
      await client.set(keys[which], 'not a sorted set');
      const before = await Promise.all(Object.values(keys).map(contents));
      await expect(store.insert(record)).rejects.toThrow(StoreDataInvalid);
      expect(await client.exists(keyLayout(prefix).recordKey(record.id))).toBe(0);
      expect(await Promise.all(Object.values(keys).map(contents))).toEqual(before);
    },
  );

  it('an index key of another type, with the new id in no index: the failed insert leaves no member behind', async () => {
    const store = newStore();
    const subject = randomId();
    const keys = indexKeys(subject, 9);
    const record = inBucket(subject, 9, 30_000);
    await client.set(keys.seat, 'not a sorted set');
    await expect(store.insert(record)).rejects.toThrow(StoreDataInvalid);
    expect(await client.exists(keyLayout(prefix).recordKey(record.id), keys.all, keys.sub)).toBe(0);
  });
});
