import { StoreUnavailable } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer, tempDir, waitFor } from './redis-servers';
import { makeRecord, uniquePrefix } from './redis-test-env';

const TIMEOUT_MS = 500;
// Generous slack for a loaded CI machine; the point is "bounded", not "fast".
const BOUND_MS = TIMEOUT_MS + 1_000;

let port: number;
let server: RedisServer | undefined;
let client: Redis;
const dir = tempDir('fault');

beforeAll(async () => {
  port = await freePort();
  server = await startRedisServer(port, dir.dir);
  client = new Redis({ host: '127.0.0.1', port });
  client.on('error', () => {}); // the test kills the server on purpose
});
afterAll(async () => {
  client?.disconnect();
  await server?.kill();
  dir.remove();
});

async function failsWithinBound(work: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  const err = await work().then(
    (value) => new Error(`expected StoreUnavailable, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreUnavailable);
  expect(Date.now() - started).toBeLessThan(BOUND_MS);
}

describe('Redis stopped while the app runs', () => {
  it('every operation throws StoreUnavailable within the command timeout, and the same store recovers when Redis returns', async () => {
    const prefix = uniquePrefix('fault');
    const store = createRedisStore({ client, prefix, commandTimeoutMs: TIMEOUT_MS });
    const keySets = createRedisKeySetStore({ client, prefix, commandTimeoutMs: TIMEOUT_MS });
    const record = makeRecord();
    await store.insert(record);
    expect(await keySets.write('default', Uint8Array.of(1), null)).toBe(true);

    await (server as RedisServer).kill();
    server = undefined;

    const next = makeRecord({ subject: record.subject });
    await Promise.all([
      failsWithinBound(() => store.get(record.id)),
      failsWithinBound(() => store.insert(makeRecord())),
      failsWithinBound(() => store.replace({ ...record, version: 2 }, 1)),
      failsWithinBound(() =>
        store.rotate({ record: { ...record, version: 2 }, expectedVersion: 1 }, next),
      ),
      failsWithinBound(() => store.delete(record.id)),
      failsWithinBound(() => store.deleteBySubject(record.subject)),
      failsWithinBound(() => store.listBySubject(record.subject)),
      failsWithinBound(() => store.scan({ limit: 10 })),
      failsWithinBound(() => keySets.read('default')),
      failsWithinBound(() => keySets.write('default', Uint8Array.of(2), 1)),
    ]);
    // Still failing (no hang, no null) on a second round, long after the first timeouts.
    await failsWithinBound(() => store.get(record.id));

    // Same port, empty server (no persistence): the store object must work again.
    server = await startRedisServer(port, dir.dir);
    await waitFor(
      'the store to reconnect',
      async () => (await store.get(record.id)) === null,
      15_000,
    );
    await store.insert(record);
    expect(await store.get(record.id)).toEqual(record);
    // Scripts are gone from the restarted server's cache: EVALSHA falls back to EVAL.
    expect(
      await store.rotate({ record: { ...record, version: 2 }, expectedVersion: 1 }, next),
    ).toBe(true);
    expect((await store.listBySubject(record.subject)).map((r) => r.id).sort()).toEqual(
      [record.id, next.id].sort(),
    );
    expect(await keySets.write('default', Uint8Array.of(3), null)).toBe(true);
    await store.close();
  });
});

describe('Redis stopped while a store-owned client (url) waits for it', () => {
  it('calls fail with StoreUnavailable within the bound, inserts attempted during the outage never land after the restart, and the same store recovers', async () => {
    const prefix = uniquePrefix('fault-owned');
    const store = createRedisStore({
      url: `redis://127.0.0.1:${port}`,
      prefix,
      commandTimeoutMs: TIMEOUT_MS,
    });
    if (server === undefined) server = await startRedisServer(port, dir.dir);
    await waitFor('the store to connect', async () => (await store.get(makeRecord().id)) === null);

    await (server as RedisServer).kill();
    server = undefined;
    // Queued in the client's offline queue while it reconnects, then timed
    // out: the reset flushes them. (A restarted server has also lost its
    // script cache, which alone would stop a late EVALSHA here; the flush
    // itself is what the frozen-server test shows.) What fails on the old
    // reset is recovery: it waited for an 'end' a reconnecting client never
    // emits, and the store failed fast for good.
    const during = Array.from({ length: 20 }, () => makeRecord());
    await Promise.all(during.map((r) => failsWithinBound(() => store.insert(r))));
    await failsWithinBound(() => store.get(makeRecord().id));

    server = await startRedisServer(port, dir.dir);
    await waitFor(
      'the store to reconnect',
      async () => (await store.get(makeRecord().id)) === null,
      15_000,
    );
    const raw = new Redis({ host: '127.0.0.1', port });
    try {
      expect(await raw.keys(`${prefix}*`)).toEqual([]); // own server: KEYS is fine here
    } finally {
      raw.disconnect();
    }
    const after = makeRecord();
    await store.insert(after);
    expect(await store.get(after.id)).toEqual(after);
    await store.close();
  });
});
