// listBySubject and deleteBySubject on a standalone server: one script that
// finds the subject's buckets itself (lua-bucket-scripts.ts, keysFound),
// instead of a call naming all 256 index keys.
import { StoreDataInvalid } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETS, bucketOf, keyLayout } from '../../src/redis/key-layout';
import { connectOrFail, deleteUnder, makeRecord, uniquePrefix } from './redis-test-env';

let client: Redis;
let prefix: string;
let t = 1_700_000_000_000;
const clock = () => t;

beforeAll(async () => {
  client = await connectOrFail();
});
afterEach(async () => {
  await deleteUnder(client, prefix);
});
afterAll(() => client.disconnect());

function newStore() {
  prefix = uniquePrefix('subject-scripts');
  return createRedisStore({ client, prefix, clock });
}

/** Name and argument count of each command the client sends while `work` runs. */
async function commandsDuring(work: () => Promise<unknown>): Promise<[string, number][]> {
  const sent: [string, number][] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
    sent.push([command.name.toLowerCase(), command.args.length]);
    return (original as (...a: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  try {
    await work();
  } finally {
    client.sendCommand = original;
  }
  return sent;
}

/** A record of `subject` whose id falls in `bucket`. */
function recordIn(bucket: number, subject: string, expiresAt: number) {
  for (;;) {
    const r = makeRecord({ subject, expiresAt });
    if (bucketOf(r.id) === bucket) return r;
  }
}

describe('subject operations on a standalone server', () => {
  it('are one script of a few arguments, and find the records in every bucket', async () => {
    const store = newStore();
    const subject = makeRecord().subject;
    // The first and last bucket, neighbours inside one group of 16, and a spread.
    const buckets = [0, 1, 15, 16, 17, 100, 128, 200, 240, 254, BUCKETS - 1];
    const records = buckets.map((b) => recordIn(b, subject, t + 60_000 + b));
    for (const r of records) await store.insert(r);
    const other = makeRecord({ expiresAt: t + 60_000 });
    await store.insert(other);
    // Once each first: a server that has not seen a script answers NOSCRIPT and gets EVAL.
    await store.listBySubject(other.subject);
    await store.deleteBySubject(makeRecord().subject);

    let listed: unknown[] = [];
    const listing = await commandsDuring(async () => {
      listed = await store.listBySubject(subject);
    });
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
    expect([...(listed as typeof records)].sort(byId)).toEqual([...records].sort(byId));
    // EVALSHA sha numkeys key now subject prefix: the 256 index keys are not sent.
    expect(listing).toEqual([['evalsha', 6]]);

    const deleting = await commandsDuring(async () => {
      expect(await store.deleteBySubject(subject)).toBe(records.length);
    });
    expect(deleting).toEqual([['evalsha', 6]]);
    expect(await store.listBySubject(subject)).toEqual([]);
    for (const r of records) expect(await store.get(r.id)).toBeNull();
    // Nothing of the subject is left in any bucket, index or seats.
    const layout = keyLayout(prefix);
    for (const b of buckets) {
      expect(await client.exists(layout.subjectIndexKey(b, subject))).toBe(0);
      expect(await client.exists(`${layout.bucketBase(b)}seat:${subject}`)).toBe(0);
    }
  });

  it.each([
    ['in a group of 16 buckets that also holds one of its records', 3],
    ['in a group where it has no record', 77],
    ['in the last bucket', BUCKETS - 1],
  ])('an index key of the wrong type %s is still found: StoreDataInvalid', async (_, bucket) => {
    const store = newStore();
    const subject = makeRecord().subject;
    // Records in bucket 2 (so bucket 3 shares its group) and in bucket 130.
    const kept = [recordIn(2, subject, t + 60_000), recordIn(130, subject, t + 60_000)];
    for (const r of kept) await store.insert(r);
    await client.set(keyLayout(prefix).subjectIndexKey(bucket, subject), 'not a sorted set');
    await expect(store.listBySubject(subject)).rejects.toThrow(StoreDataInvalid);
    await expect(store.deleteBySubject(subject)).rejects.toThrow(StoreDataInvalid);
    // Checked before any write: nothing was deleted.
    for (const r of kept) expect(await store.get(r.id)).toEqual(r);
  });

  it('a listing that removes members sets the index expiry to its latest live member again', async () => {
    const store = newStore();
    const subject = makeRecord().subject;
    const near = recordIn(9, subject, t + 60_000);
    let far = recordIn(9, subject, t + 3_600_000);
    await store.insert(near);
    await store.insert(far);
    const index = keyLayout(prefix).subjectIndexKey(9, subject);
    const seats = `${keyLayout(prefix).bucketBase(9)}seat:${subject}`;
    // The store's clock is t; Redis's PTTL counts from the real now.
    const expiryOf = async (key: string) => Date.now() + (await client.pttl(key));
    const slack = 5_000;
    expect(Math.abs((await expiryOf(index)) - (Date.now() + 3_600_000))).toBeLessThan(slack);

    // A listing that changes nothing leaves the expiry where the last write put it.
    expect(await store.listBySubject(subject)).toHaveLength(2);
    expect(Math.abs((await expiryOf(index)) - (Date.now() + 3_600_000))).toBeLessThan(slack);

    // The far record's key disappears behind the store's back: its member is a ghost.
    await client.del(keyLayout(prefix).recordKey(far.id));
    expect(await store.listBySubject(subject)).toEqual([near]);
    expect(await client.zrange(index, 0, -1)).toEqual([near.id]);
    expect(Math.abs((await expiryOf(index)) - (Date.now() + 60_000))).toBeLessThan(slack);
    expect(Math.abs((await expiryOf(seats)) - (Date.now() + 60_000))).toBeLessThan(slack);

    // A member dead by the store's clock is pruned, and the expiry follows too.
    far = recordIn(9, subject, t + 3_600_000);
    await store.insert(far);
    t += 120_000;
    expect(await store.listBySubject(subject)).toEqual([far]);
    expect(await client.zrange(index, 0, -1)).toEqual([far.id]);
    expect(Math.abs((await expiryOf(index)) - (Date.now() + 3_480_000))).toBeLessThan(slack);
  });
});
