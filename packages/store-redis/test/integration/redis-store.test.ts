import { Closed, type SessionRecord, StoreConflict, StoreDataInvalid } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/redis/connection';
import { BUCKETS, bucketOf, keyLayout } from '../../src/redis/key-layout';
import { resolveOptions } from '../../src/options';
import {
  connectOrFail,
  deleteUnder,
  keysUnder,
  makeRecord,
  REDIS_URL,
  uniquePrefix,
} from './redis-test-env';

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
  prefix = uniquePrefix('store');
  return createRedisStore({ client, prefix, clock });
}

/** Name and argument count of each command the client sends while `work` runs. */
async function sentDuring(work: () => Promise<unknown>): Promise<[string, number][]> {
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

/** Names of the commands the client sends while `work` runs. */
async function commandsDuring(work: () => Promise<unknown>): Promise<string[]> {
  return (await sentDuring(work)).map(([name]) => name);
}

describe('redis store against a real server', () => {
  it('get is one round trip: a single GET of the record key', async () => {
    const store = newStore();
    const record = makeRecord({ expiresAt: t + 60_000 });
    await store.insert(record);
    expect(await commandsDuring(() => store.get(record.id))).toEqual(['get']);
    expect(await commandsDuring(() => store.get(makeRecord().id))).toEqual(['get']);
  });

  it('never sends KEYS or SCAN, whatever the operation', async () => {
    const store = newStore();
    const a = makeRecord({ expiresAt: t + 60_000 });
    const b = makeRecord({ subject: a.subject, expiresAt: t + 60_000 });
    const names = await commandsDuring(async () => {
      await store.insert(a);
      await store.replace({ ...a, version: 2 }, 1);
      await store.rotate({ record: { ...a, version: 3 }, expectedVersion: 2 }, b);
      await store.listBySubject(a.subject);
      let cursor: string | undefined;
      do {
        const page = await store.scan(cursor === undefined ? { limit: 1 } : { limit: 1, cursor });
        cursor = page.cursor;
      } while (cursor !== undefined);
      await store.delete(b.id);
      await store.deleteBySubject(a.subject);
    });
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => n === 'keys' || n === 'scan')).toEqual([]);
  });

  it('native expiry: the record key carries a Redis TTL equal to expiresAt - now', async () => {
    const store = newStore();
    const record = makeRecord({ expiresAt: t + 30_000 });
    await store.insert(record);
    const [recordKey] = (await keysUnder(client, prefix)).filter((k) => k.includes('}:s:'));
    const ttl = await client.pttl(recordKey as string);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('expiresAt is checked on read: a record Redis still holds is dead from clock() >= expiresAt', async () => {
    const store = newStore();
    const record = makeRecord({ expiresAt: t + 10_000 });
    await store.insert(record);
    t += 9_999;
    expect(await store.get(record.id)).not.toBeNull();
    t += 1;
    // Redis has not expired it (its TTL runs on real time), the store must not return it.
    expect((await keysUnder(client, prefix)).some((k) => k.includes('}:s:'))).toBe(true);
    expect(await store.get(record.id)).toBeNull();
    expect(await store.listBySubject(record.subject)).toEqual([]);
    expect((await store.scan({ limit: 10 })).records).toEqual([]);
    expect(await store.replace({ ...record, version: 2 }, 1)).toBe(false);
    expect(await store.delete(record.id)).toBe(false);
    // ...and insert may take the id over.
    await store.insert({ ...record, expiresAt: t + 5_000 });
    expect((await store.get(record.id))?.expiresAt).toBe(t + 5_000);
  });

  it('subject index: expired members are pruned and the index key expires with its last member', async () => {
    const store = newStore();
    const subject = makeRecord().subject;
    for (let i = 0; i < 20; i++)
      await store.insert(makeRecord({ subject, expiresAt: t + 1_000 + i }));
    t += 2_000;
    const survivor = makeRecord({ subject, expiresAt: t + 50_000 });
    await store.insert(survivor);
    const indexKeys = (await keysUnder(client, prefix)).filter((k) => k.includes(':sub:'));
    let members = 0;
    for (const key of indexKeys) {
      members += await client.zcard(key);
      const ttl = await client.pttl(key);
      if ((await client.zcard(key)) > 0) {
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(50_000);
      }
    }
    // Only buckets written after the clock moved were pruned on write; listing prunes the rest.
    expect(members).toBeGreaterThanOrEqual(1);
    expect(await store.listBySubject(subject)).toEqual([survivor]);
    let after = 0;
    for (const key of (await keysUnder(client, prefix)).filter((k) => k.includes(':sub:'))) {
      after += await client.zcard(key);
    }
    expect(after).toBe(1);
  });

  it('listBySubject returns no ghosts: a member whose record vanished (eviction, manual DEL) is dropped', async () => {
    const store = newStore();
    const a = makeRecord({ expiresAt: t + 60_000 });
    const b = makeRecord({ subject: a.subject, expiresAt: t + 60_000 });
    await store.insert(a);
    await store.insert(b);
    const keyOfA = (await keysUnder(client, prefix)).find((k) => k.endsWith(`:s:${a.id}`));
    await client.del(keyOfA as string);
    expect(await store.listBySubject(a.subject)).toEqual([b]);
    const members: string[] = [];
    for (const key of (await keysUnder(client, prefix)).filter((k) => k.includes(':sub:'))) {
      members.push(...(await client.zrange(key, 0, -1)));
    }
    expect(members).toEqual([b.id]);
  });

  it('replace moves the record between subject indexes atomically', async () => {
    const store = newStore();
    const a = makeRecord({ expiresAt: t + 60_000 });
    await store.insert(a);
    const moved = { ...a, subject: makeRecord().subject, version: 2 };
    expect(await store.replace(moved, 1)).toBe(true);
    expect(await store.listBySubject(a.subject)).toEqual([]);
    expect(await store.listBySubject(moved.subject)).toEqual([moved]);
    expect(await store.deleteBySubject(a.subject)).toBe(0);
    expect(await store.deleteBySubject(moved.subject)).toBe(1);
  });

  it('Lua atomicity: of 50 concurrent replaces, inserts or rotates at one version, exactly one wins (two connections)', async () => {
    const other = await connectOrFail();
    try {
      const store = newStore();
      const twin = createRedisStore({ client: other, prefix, clock });
      const stores = [store, twin];
      const base = makeRecord({ expiresAt: t + 60_000 });
      const inserts = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => stores[i % 2]!.insert(base)),
      );
      expect(inserts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        inserts.filter((r) => r.status === 'rejected' && r.reason instanceof StoreConflict),
      ).toHaveLength(49);

      const replaced = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores[i % 2]!.replace({ ...base, version: 2, payload: Uint8Array.of(i) }, 1),
        ),
      );
      expect(replaced.filter(Boolean)).toHaveLength(1);
      const winner = replaced.indexOf(true);
      expect((await store.get(base.id))?.payload).toEqual(Uint8Array.of(winner));

      const successors = Array.from({ length: 50 }, () =>
        makeRecord({ subject: base.subject, expiresAt: t + 60_000 }),
      );
      const rotated = await Promise.all(
        successors.map((next, i) =>
          stores[i % 2]!.rotate({ record: { ...base, version: 3 }, expectedVersion: 2 }, next),
        ),
      );
      expect(rotated.filter(Boolean)).toHaveLength(1);
      const live = await store.listBySubject(base.subject);
      expect(live.map((r) => r.id).sort()).toEqual(
        [base.id, successors[rotated.indexOf(true)]!.id].sort(),
      );
      await twin.close();
    } finally {
      other.disconnect();
    }
  });

  it('works through an auto-pipelining client (ioredis drops the command name of callBuffer there)', async () => {
    const piped = await connectOrFail({ enableAutoPipelining: true });
    try {
      const store = newStore();
      const twin = createRedisStore({ client: piped, prefix, clock });
      const records = Array.from({ length: 40 }, () => makeRecord({ expiresAt: t + 60_000 }));
      await Promise.all(records.map((r) => twin.insert(r)));
      const got = await Promise.all(records.map((r) => twin.get(r.id)));
      expect(got).toEqual(records);
      const [first] = records as [SessionRecord];
      const next = makeRecord({ subject: first.subject, expiresAt: t + 60_000 });
      expect(
        await twin.rotate({ record: { ...first, version: 2 }, expectedVersion: 1 }, next),
      ).toBe(true);
      expect(await store.listBySubject(first.subject)).toHaveLength(2);
      expect((await twin.scan({ limit: 100 })).records).toHaveLength(41);
      expect(await twin.deleteBySubject(first.subject)).toBe(2);
    } finally {
      piped.disconnect();
    }
  });

  it('on an auto-pipelining client, a write alone in flight leaves at once; concurrent writes still share writes', async () => {
    const piped = await connectOrFail({ enableAutoPipelining: true });
    try {
      await piped.ping(); // connected, so nothing waits in the offline queue
      let writes = 0;
      const stream = (piped as unknown as { stream: { write: (...a: unknown[]) => boolean } })
        .stream;
      const write = stream.write.bind(stream);
      stream.write = (...a: unknown[]) => {
        writes++;
        return write(...a);
      };
      const store = newStore();
      const twin = createRedisStore({ client: piped, prefix, clock });
      // Written during the call itself, not on a later turn of the loop.
      const lone = makeRecord({ expiresAt: t + 60_000 });
      const inserting = twin.insert(lone);
      expect(writes).toBe(1);
      await inserting;
      expect(await store.get(lone.id)).toEqual(lone);
      const next = makeRecord({ subject: lone.subject, expiresAt: t + 60_000 });
      writes = 0;
      const rotating = twin.rotate({ record: { ...lone, version: 2 }, expectedVersion: 1 }, next);
      expect(writes).toBe(1);
      expect(await rotating).toBe(true);

      // 64 at once: the first leaves alone, the other 63 in a handful of batches.
      writes = 0;
      const many = Array.from({ length: 64 }, () => makeRecord({ expiresAt: t + 60_000 }));
      await Promise.all(many.map((r) => twin.insert(r)));
      expect(writes).toBeLessThanOrEqual(5);
      expect(await Promise.all(many.map((r) => store.get(r.id)))).toEqual(many);

      // Right after a burst the connection's recent load is high: a lone read
      // still waits for the batch; after some quiet calls it goes at once again.
      writes = 0;
      const afterBurst = twin.get(lone.id);
      expect(writes).toBe(0);
      await afterBurst;
      for (let i = 0; i < 40; i++) await twin.get(lone.id);
      writes = 0;
      const quiet = twin.get(lone.id);
      expect(writes).toBe(1);
      await quiet;

      // One call sending many scripts at once (clusterMode: a script per
      // bucket, 256 of them) still batches them.
      const sharded = createRedisStore({ client: piped, prefix, clock, clusterMode: true });
      writes = 0;
      expect(await sharded.deleteBySubject(many[0]?.subject as string)).toBe(1);
      expect(writes).toBeLessThanOrEqual(8);

      // A server that lost its scripts: the lone write falls back to EVAL.
      await piped.script('FLUSH');
      const afterFlush = makeRecord({ expiresAt: t + 60_000 });
      await twin.insert(afterFlush);
      expect(await store.get(afterFlush.id)).toEqual(afterFlush);
      await expect(twin.insert(afterFlush)).rejects.toThrow(StoreConflict);
    } finally {
      piped.disconnect();
    }
  });

  it('close() never quits a client passed in; a url store closes only its own client', async () => {
    const store = newStore();
    await store.close();
    await store.close();
    await expect(store.get(makeRecord().id)).rejects.toThrow(Closed);
    expect(await client.ping()).toBe('PONG');

    const owned = createRedisStore({ url: REDIS_URL, prefix: uniquePrefix('owned') });
    expect(await owned.get(makeRecord().id)).toBeNull();
    await owned.close();
    await expect(owned.get(makeRecord().id)).rejects.toThrow(Closed);
  });

  it('a client the store makes from `url` auto-pipelines: 64 concurrent reads leave in a handful of writes', async () => {
    const conn = connect(
      resolveOptions({ url: REDIS_URL, prefix: uniquePrefix('pipelined') }),
      'redis store',
    );
    const own = conn.client as Redis;
    expect(own.options.enableAutoPipelining).toBe(true);
    await own.ping(); // connected, so the batch below is not the offline queue's
    let writes = 0;
    const stream = (own as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
    const write = stream.write.bind(stream);
    stream.write = (...a: unknown[]) => {
      writes++;
      return write(...a);
    };
    const ids = Array.from({ length: 64 }, () => makeRecord().id);
    await Promise.all(ids.map((id) => own.getBuffer(`${id}-absent`)));
    expect(writes).toBeLessThanOrEqual(4);
    await conn.close();
  });
});

/** A record of `subject` whose id falls in `bucket`. */
function recordIn(bucket: number, subject: string, expiresAt: number) {
  for (;;) {
    const r = makeRecord({ subject, expiresAt });
    if (bucketOf(r.id) === bucket) return r;
  }
}

// listBySubject and deleteBySubject on a standalone server: one script that
// finds the subject's buckets itself (lua-bucket-scripts.ts, keysFound),
// instead of a call naming all 256 index keys.
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
    const listing = await sentDuring(async () => {
      listed = await store.listBySubject(subject);
    });
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
    expect([...(listed as typeof records)].sort(byId)).toEqual([...records].sort(byId));
    // EVALSHA sha numkeys key now subject prefix: the 256 index keys are not sent.
    expect(listing).toEqual([['evalsha', 6]]);

    const deleting = await sentDuring(async () => {
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
