import { inspect } from 'node:util';
import { StoreConflict, StoreDataInvalid } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/redis/key-layout';
import { connectOrFail, deleteUnder, keysUnder, makeRecord, uniquePrefix } from './redis-test-env';

let client: Redis;
let prefix: string;

beforeAll(async () => {
  client = await connectOrFail();
});
afterEach(async () => {
  await deleteUnder(client, prefix);
});
afterAll(() => client.disconnect());

async function storeWithRecord() {
  prefix = uniquePrefix('garbage');
  const store = createRedisStore({ client, prefix });
  const record = makeRecord();
  await store.insert(record);
  const keys = await keysUnder(client, prefix);
  const recordKey = keys.find((k) => k.endsWith(`:s:${record.id}`)) as string;
  const indexKey = keys.find((k) => k.includes(':sub:')) as string;
  return { store, record, recordKey, indexKey };
}

describe('malformed data under the prefix: StoreDataInvalid, never a crash or a leak', () => {
  it.each([
    ['plain text', Buffer.from('hello, I am not a record')],
    ['empty value', Buffer.alloc(0)],
    ['right magic, truncated', Buffer.from([0xc7, 1, 0, 0])],
    [
      'right header, subject length past the end',
      Buffer.from([0xc7, 1, ...new Array(16).fill(0), 0xff, 0xff]),
    ],
    ['unknown kind', Buffer.from([0xc7, 9, ...new Array(30).fill(1)])],
  ])('%s at a record key', async (_, garbage) => {
    const { store, record, recordKey } = await storeWithRecord();
    await client.set(recordKey, garbage);
    const invalid = async (work: Promise<unknown>) => {
      const err = await work.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreDataInvalid);
      expect((err as Error).message).not.toContain(
        garbage.toString('latin1').slice(0, 8) || '\u0000',
      );
    };
    await invalid(store.get(record.id));
    await invalid(store.insert(record));
    await invalid(store.replace({ ...record, version: 2 }, 1));
    await invalid(
      store.rotate({ record: { ...record, version: 2 }, expectedVersion: 1 }, makeRecord()),
    );
    await invalid(store.listBySubject(record.subject));
    await invalid(store.scan({ limit: 10 }));
    // delete clears it (an operator's way out), then the id is free again.
    expect(await store.delete(record.id)).toBe(false);
    expect(await store.get(record.id)).toBeNull();
    await store.insert(record);
    expect(await store.get(record.id)).toEqual(record);
  });

  it('a record key of the wrong Redis type', async () => {
    const { store, record, recordKey } = await storeWithRecord();
    await client.del(recordKey);
    await client.hset(recordKey, 'field', 'value');
    await expect(store.get(record.id)).rejects.toThrow(StoreDataInvalid);
    const err = await store.insert(record).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreDataInvalid);
    // SEC-27: the driver error kept as cause no longer carries the command's arguments.
    const logged = inspect(err, { depth: 10 });
    expect(logged).toContain('WRONGTYPE');
    expect(logged).not.toContain(record.id);
    expect(logged).not.toContain(record.subject);
    await expect(store.listBySubject(record.subject)).rejects.toThrow(StoreDataInvalid);
    await expect(store.scan({ limit: 5 })).rejects.toThrow(StoreDataInvalid);
    expect(await store.deleteBySubject(record.subject)).toBe(0);
  });

  it('an index key of the wrong Redis type', async () => {
    const { store, record, indexKey } = await storeWithRecord();
    await client.del(indexKey);
    await client.set(indexKey, 'not a sorted set');
    await expect(store.listBySubject(record.subject)).rejects.toThrow(StoreDataInvalid);
    await expect(store.deleteBySubject(record.subject)).rejects.toThrow(StoreDataInvalid);
    // Checked before the first write: a failed insert leaves no record behind.
    let other = makeRecord({ subject: record.subject });
    while (bucketOf(other.id) !== bucketOf(record.id))
      other = makeRecord({ subject: record.subject });
    await expect(store.insert(other)).rejects.toThrow(StoreDataInvalid);
    expect((await keysUnder(client, prefix)).some((k) => k.endsWith(other.id))).toBe(false);
    await expect(store.replace({ ...record, version: 2 }, 1)).rejects.toThrow(StoreDataInvalid);
    expect((await store.get(record.id))?.version).toBe(1);
  });

  it('index members that are not ids of ours are ignored and pruned', async () => {
    const { store, record, indexKey } = await storeWithRecord();
    await client.zadd(indexKey, Date.now() + 60_000, '../../etc/passwd', Date.now() + 60_000, '*');
    expect(await store.listBySubject(record.subject)).toEqual([record]);
    expect(await client.zrange(indexKey, 0, -1)).toEqual([record.id]);
  });

  it('unrelated keys under the prefix are never read or touched', async () => {
    const { store, record } = await storeWithRecord();
    await client.set(`${prefix}junk`, 'x');
    await client.hset(`${prefix}another`, 'a', 'b');
    expect((await store.scan({ limit: 100 })).records).toEqual([record]);
    expect(await store.deleteBySubject(record.subject)).toBe(1);
    expect(await client.get(`${prefix}junk`)).toBe('x');
  });

  it('a malformed key-set document', async () => {
    prefix = uniquePrefix('garbage-keyset');
    const keySets = createRedisKeySetStore({ client, prefix });
    await client.set(`${prefix}keyset:default`, 'garbage');
    await expect(keySets.read('default')).rejects.toThrow(StoreDataInvalid);
    await expect(keySets.write('default', new Uint8Array(1), null)).rejects.toThrow(
      StoreDataInvalid,
    );
  });

  it('a pending successor whose rotate never decided is invisible and blocks the id', async () => {
    const { store, record, recordKey } = await storeWithRecord();
    // Shape of a cross-slot reservation (kind 2) without its decision key.
    const value = await client.getBuffer(recordKey);
    const tx = Buffer.from('tx-unknown');
    const old = Buffer.from('some-old-id');
    const pending = Buffer.concat([
      Buffer.from([0xc7, 2]),
      (value as Buffer).subarray(2, 20 + Buffer.byteLength(record.subject)),
      Buffer.from([tx.length]),
      tx,
      Buffer.from([0, old.length]),
      old,
      Buffer.from(record.payload),
    ]);
    await client.set(recordKey, pending);
    expect(await store.get(record.id)).toBeNull();
    expect(await store.listBySubject(record.subject)).toEqual([]);
    await expect(store.insert(record)).rejects.toThrow(StoreConflict);
  });
});
