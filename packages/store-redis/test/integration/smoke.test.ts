import { createRedisStore } from '@cloakroom/store-redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectOrFail, deleteUnder, makeRecord, uniquePrefix } from './redis-test-env';

let client: Redis;
const prefix = uniquePrefix('smoke');
beforeAll(async () => {
  client = await connectOrFail();
});
afterAll(async () => {
  await deleteUnder(client, prefix);
  client.disconnect();
});

it('smoke', async () => {
  const store = createRedisStore({ client, prefix });
  const r = makeRecord();
  await store.insert(r);
  expect(await store.get(r.id)).toEqual(r);
  await expect(store.insert(r)).rejects.toThrow();
  expect(await store.replace({ ...r, version: 2 }, 1)).toBe(true);
  expect(await store.replace({ ...r, version: 3 }, 1)).toBe(false);
  const n = makeRecord({ subject: r.subject });
  expect(await store.rotate({ record: { ...r, version: 3 }, expectedVersion: 2 }, n)).toBe(true);
  expect((await store.listBySubject(r.subject)).length).toBe(2);
  const page = await store.scan({ limit: 10 });
  console.log(page.records.length, page.cursor);
  expect(await store.deleteBySubject(r.subject)).toBe(2);
  expect(await store.get(r.id)).toBeNull();
  expect(await store.delete(n.id)).toBe(false);
});
