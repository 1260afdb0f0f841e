// The invalidation channel (store.watch) against a private redis-server, so
// CLIENT KILL, CLIENT PAUSE, FLUSHALL and restarts touch nobody else's data.
import type { InvalidationChannel, InvalidationListener } from '@cloakroom/core';
import { StoreUnavailable } from '@cloakroom/core';
import { type RedisStore, createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer, tempDir, waitFor } from './redis-servers';
import { makeRecord, uniquePrefix } from './redis-test-env';

let port: number;
let server: RedisServer | undefined;
let raw: Redis;
const dir = tempDir('invalidation');

beforeAll(async () => {
  port = await freePort();
  server = await startRedisServer(port, dir.dir);
  raw = new Redis({ host: '127.0.0.1', port });
  raw.on('error', () => {});
});
afterAll(async () => {
  raw?.disconnect();
  await server?.kill();
  dir.remove();
});

/** A listener that records what it was told. */
function recorder() {
  const ids: string[] = [];
  let resets = 0;
  const listener: InvalidationListener = {
    invalidate: (id) => ids.push(id),
    reset: () => {
      resets++;
    },
  };
  return {
    listener,
    ids,
    get resets() {
      return resets;
    },
  };
}

function newStore(extra: Partial<Parameters<typeof createRedisStore>[0]> = {}): RedisStore {
  return createRedisStore({
    url: `redis://127.0.0.1:${port}`,
    prefix: uniquePrefix('watch'),
    commandTimeoutMs: 2_000,
    ...extra,
  });
}

async function watching(store: RedisStore) {
  const rec = recorder();
  const channel = (await store.watch?.(rec.listener)) as InvalidationChannel;
  return { rec, channel };
}

async function channelClientIds(): Promise<string[]> {
  const list = await raw.client('LIST');
  return String(list)
    .split('\n')
    .filter((line) => line.includes('name=cloakroom-invalidation'))
    .map((line) => /id=(\d+)/.exec(line)?.[1] as string);
}

describe('store.watch: Redis CLIENT TRACKING (SEC-32)', () => {
  it('is live once set up and names every session id that changes, written by this store or another', async () => {
    const a = newStore();
    const { rec, channel } = await watching(a);
    expect(channel.live).toBe(true);
    expect(channel.boundMs).toBe(250);

    const r1 = makeRecord();
    const r2 = makeRecord({ subject: r1.subject });
    const r3 = makeRecord();
    await a.insert(r1);
    await a.insert(r2);
    await a.insert(r3);
    await a.replace({ ...r1, version: 2 }, 1);
    const next = makeRecord({ subject: r3.subject });
    await a.rotate({ record: { ...r3, version: 2 }, expectedVersion: 1 }, next);
    expect(await a.deleteBySubject(r1.subject)).toBe(2);
    await a.delete(next.id);
    await waitFor(
      'the invalidations',
      async () => rec.ids.includes(next.id) && rec.ids.length >= 9,
    );
    for (const id of [r1.id, r2.id, r3.id, next.id]) expect(rec.ids).toContain(id);
    // Index keys and probes are not tracked or are recognised: no reset
    // beyond the one when tracking came up.
    const resetsBefore = rec.resets;
    await a.get(r1.id);
    expect(rec.resets).toBe(resetsBefore);
    expect(channel.live).toBe(true);
    await a.close();
    expect(channel.live).toBe(false);
  });

  it('a write by another instance (another store on its own client, same prefix) reaches the listener', async () => {
    const prefix = uniquePrefix('fleet');
    const a = newStore({ prefix });
    const b = newStore({ prefix });
    const { rec, channel } = await watching(a);
    const record = makeRecord();
    await b.insert(record);
    await waitFor('insert invalidation', async () => rec.ids.includes(record.id));
    const seen = rec.ids.length;
    await b.delete(record.id);
    await waitFor('delete invalidation', async () => rec.ids.length > seen);
    expect(channel.live).toBe(true);
    await a.close();
    await b.close();
  });

  it('an expired record (Redis TTL) is invalidated', async () => {
    const a = newStore();
    const { rec } = await watching(a);
    const record = makeRecord({ expiresAt: Date.now() + 300 });
    await a.insert(record);
    const count = () => rec.ids.filter((id) => id === record.id).length;
    await waitFor('insert', async () => count() >= 1);
    await waitFor('expiry', async () => count() >= 2, 5_000);
    await a.close();
  });

  it('SEC-32: killing the channel connection drops the cache (reset, not live) before it is live again', async () => {
    const a = newStore();
    const { rec, channel } = await watching(a);
    const resetsBefore = rec.resets;
    const ids = await channelClientIds();
    expect(ids.length).toBe(1);
    await raw.client('KILL', 'ID', ids[0] as string);
    await waitFor('not live', async () => !channel.live);
    expect(rec.resets).toBeGreaterThan(resetsBefore);
    // It comes back by itself, with tracking set up anew (and a reset then).
    const resetsDown = rec.resets;
    await waitFor('live again', async () => channel.live);
    expect(rec.resets).toBeGreaterThan(resetsDown);
    const record = makeRecord();
    await a.insert(record);
    await waitFor('invalidation after reconnect', async () => rec.ids.includes(record.id));
    await a.close();
  });

  it('SEC-32: an overdue probe (writes paused on the server) turns the channel not live and drops the cache', async () => {
    const a = newStore({ invalidation: { probeIntervalMs: 20, probeTimeoutMs: 50 } });
    const { rec, channel } = await watching(a);
    expect(channel.boundMs).toBe(70);
    const resetsBefore = rec.resets;
    await raw.client('PAUSE', '600', 'WRITE');
    await waitFor('not live', async () => !channel.live, 2_000);
    expect(rec.resets).toBeGreaterThan(resetsBefore);
    await waitFor('live after the pause', async () => channel.live, 5_000);
    await a.close();
  });

  it('SEC-32: a flush (no key named) resets the listener', async () => {
    const a = newStore();
    const { rec } = await watching(a);
    const resetsBefore = rec.resets;
    await raw.flushall();
    await waitFor('reset on flush', async () => rec.resets > resetsBefore);
    await a.close();
  });

  it('SEC-32: a key under a record prefix that names no session resets the listener', async () => {
    const prefix = uniquePrefix('garbage');
    const a = createRedisStore({ url: `redis://127.0.0.1:${port}`, prefix });
    const { rec } = await watching(a);
    const record = makeRecord();
    await a.insert(record);
    await waitFor('insert', async () => rec.ids.includes(record.id));
    const keys = await raw.keys(`${prefix}*:s:*`);
    const base = (keys[0] as string).slice(0, (keys[0] as string).lastIndexOf(':s:') + 3);
    const resetsBefore = rec.resets;
    await raw.set(`${base}not-a-session-id`, 'x');
    await waitFor('reset', async () => rec.resets > resetsBefore);
    await a.close();
  });

  it('SEC-32: a restarted server: not live while it is down, live again (after a reset) once it is back', async () => {
    const a = newStore({ commandTimeoutMs: 500 });
    const { rec, channel } = await watching(a);
    const resetsBefore = rec.resets;
    await (server as RedisServer).kill();
    server = undefined;
    await waitFor('not live', async () => !channel.live);
    expect(rec.resets).toBeGreaterThan(resetsBefore);
    server = await startRedisServer(port, dir.dir);
    await waitFor('live again', async () => channel.live, 20_000);
    const record = makeRecord();
    await a.insert(record);
    await waitFor('invalidation after restart', async () => rec.ids.includes(record.id));
    await a.close();
  });

  it('watch rejects with StoreUnavailable when the server is unreachable', async () => {
    const store = createRedisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 300 });
    await expect(store.watch?.(recorder().listener)).rejects.toBeInstanceOf(StoreUnavailable);
    await store.close();
  });

  it('is absent in cluster mode: a near cache cannot trust one node for a cluster', () => {
    const store = newStore({ clusterMode: true });
    expect(store.watch).toBeUndefined();
    void store.close();
  });

  it('a store on a caller-owned client opens its own connection for the channel and leaves the caller client alone', async () => {
    const own = new Redis({ host: '127.0.0.1', port });
    const store = createRedisStore({ client: own, prefix: uniquePrefix('own') });
    const { rec, channel } = await watching(store);
    const record = makeRecord();
    await store.insert(record);
    await waitFor('invalidation', async () => rec.ids.includes(record.id));
    await store.close();
    expect(channel.live).toBe(false);
    expect(await own.ping()).toBe('PONG');
    own.disconnect();
  });
});
