import { StoreUnavailable } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore, RedisGaveUp } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACL_RULE, WATCH_ACL_EXTRA } from './acl-rule';
import { freePort, type RedisServer, startRedisServer, tempDir, waitFor } from './redis-servers';
import { makeRecord } from './redis-test-env';

let server: RedisServer;
let admin: Redis;
let port: number;
const dir = tempDir('acl');

beforeAll(async () => {
  port = await freePort();
  server = await startRedisServer(port, dir.dir);
  admin = new Redis({ host: '127.0.0.1', port });
  await admin.call('ACL', 'SETUSER', 'cloakroom', ...ACL_RULE.split(' '));
});
afterAll(async () => {
  admin?.disconnect();
  await server?.kill();
  dir.remove();
});

describe('SEC-28 a least-privilege ACL user', () => {
  it('can run every store and key-set operation, and nothing else', async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      username: 'cloakroom',
      password: 's3cret-test-password',
    });
    client.on('error', () => {});
    try {
      const store = createRedisStore({ client });
      const keySets = createRedisKeySetStore({ client });
      const a = makeRecord();
      const b = makeRecord({ subject: a.subject });
      await store.insert(a);
      expect(await store.get(a.id)).toEqual(a);
      expect(await store.replace({ ...a, version: 2 }, 1)).toBe(true);
      expect(await store.rotate({ record: { ...a, version: 3 }, expectedVersion: 2 }, b)).toBe(
        true,
      );
      expect(await store.listBySubject(a.subject)).toHaveLength(2);
      expect((await store.scan({ limit: 10 })).records).toHaveLength(2);
      expect(await store.delete(b.id)).toBe(true);
      expect(await store.deleteBySubject(a.subject)).toBe(1);
      const c = makeRecord({ subject: a.subject });
      expect(await store.insertWithLimit?.(c, { max: 1, evict: 'oldest' })).toEqual({
        inserted: true,
        evicted: [],
      });
      expect(await store.insertWithLimit?.(b, { max: 1, evict: 'oldest' })).toEqual({
        inserted: true,
        evicted: [c.id],
      });
      expect(await keySets.write('default', Uint8Array.of(1), null)).toBe(true);
      expect((await keySets.read('default'))?.version).toBe(1);
      // WAIT (the replication guarantee) is granted: with no replica it
      // answers 0 acknowledgements, not NOPERM.
      const guarded = createRedisStore({ client, replication: { replicas: 1, timeoutMs: 10 } });
      const refused = await guarded.delete(a.id).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StoreUnavailable);
      expect((refused as Error).cause).toBeInstanceOf(RedisGaveUp);
      expect(((refused as Error).cause as RedisGaveUp).reason).toBe('replication');

      // Outside the grant: other keys, other commands, other prefixes.
      await expect(client.get('elsewhere')).rejects.toThrow(/NOPERM/);
      await expect(client.keys('*')).rejects.toThrow(/NOPERM/);
      await expect(client.flushall()).rejects.toThrow(/NOPERM/);
      const foreign = createRedisStore({ client, prefix: 'otherapp:' });
      await expect(foreign.get(a.id)).rejects.toThrow(StoreUnavailable);
    } finally {
      client.disconnect();
    }
  });

  it('SEC-28: watch needs the documented extra rule; without it, it refuses with StoreUnavailable', async () => {
    await admin.call('ACL', 'SETUSER', 'cloakroom-watch', ...ACL_RULE.split(' '));
    const url = `redis://cloakroom-watch:s3cret-test-password@127.0.0.1:${port}`;
    const listener = { invalidate: () => {}, reset: () => {} };
    const denied = createRedisStore({ url, commandTimeoutMs: 1_000 });
    await expect(denied.watch?.(listener)).rejects.toBeInstanceOf(StoreUnavailable);
    await denied.close();

    await admin.call('ACL', 'SETUSER', 'cloakroom-watch', ...WATCH_ACL_EXTRA.split(' '));
    const store = createRedisStore({ url, commandTimeoutMs: 1_000 });
    const ids: string[] = [];
    const channel = await store.watch?.({ invalidate: (id) => ids.push(id), reset: () => {} });
    expect(channel?.live).toBe(true);
    const record = makeRecord();
    await store.insert(record);
    await waitFor('invalidation', async () => ids.includes(record.id));
    await store.close();
  });
});
