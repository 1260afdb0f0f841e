import { ConfigInvalid, InvalidArgument } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';

// lazyConnect: these tests never reach a server.
const client = new Redis({ lazyConnect: true });
afterAll(() => client.disconnect());

describe('redis store options', () => {
  it.each([
    ['no client or url', {}],
    ['both client and url', { client, url: 'redis://127.0.0.1:6379' }],
    ['a non-ioredis client', { client: {} }],
    [
      'a node-redis cluster client',
      { client: createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:6379' }] }) },
    ],
    ['invalidation that is not an object', { client, invalidation: 5 }],
    ['an unknown invalidation option', { client, invalidation: { probeMs: 100 } }],
    ['a probe interval under 10 ms', { client, invalidation: { probeIntervalMs: 9 } }],
    ['a fractional probe timeout', { client, invalidation: { probeTimeoutMs: 10.5 } }],
    ['a non-redis url', { url: 'http://127.0.0.1' }],
    ['a prefix with braces (would change the hash tag)', { client, prefix: 'a{b}:' }],
    ['a prefix with glob characters', { client, prefix: 'a*:' }],
    ['an empty prefix', { client, prefix: '' }],
    ['a 65-character prefix', { client, prefix: 'p'.repeat(65) }],
    ['a zero timeout', { client, commandTimeoutMs: 0 }],
    ['a fractional timeout', { client, commandTimeoutMs: 1.5 }],
    ['a non-function clock', { client, clock: 5 }],
    ['a non-boolean clusterMode', { client, clusterMode: 'yes' }],
    ['an unknown option', { client, keyPrefix: 'x:' }],
    ['a zero maxInFlight', { client, maxInFlight: 0 }],
    ['a fractional maxInFlight', { client, maxInFlight: 2.5 }],
    ['replication that is not an object', { client, replication: 1 }],
    ['replication without replicas', { client, replication: { timeoutMs: 100 } }],
    ['replication with 0 replicas', { client, replication: { replicas: 0, timeoutMs: 100 } }],
    [
      'replication with a 0 ms WAIT (WAIT 0 blocks forever)',
      { client, replication: { replicas: 1, timeoutMs: 0 } },
    ],
    [
      'replication with an unknown writes mode',
      { client, replication: { replicas: 1, timeoutMs: 100, writes: 'some' } },
    ],
    [
      'replication with an unknown field',
      { client, replication: { replicas: 1, timeoutMs: 100, wait: true } },
    ],
    [
      'a timeout plus WAIT timeout past the timer limit',
      {
        client,
        commandTimeoutMs: 2_000_000_000,
        replication: { replicas: 1, timeoutMs: 2_000_000_000 },
      },
    ],
  ])('rejects %s with ConfigInvalid', (_, options) => {
    expect(() => createRedisStore(options as never)).toThrow(ConfigInvalid);
    expect(() => createRedisKeySetStore(options as never)).toThrow(ConfigInvalid);
  });

  it('rejects a client with its own keyPrefix (scripts build key names themselves)', () => {
    const prefixed = new Redis({ lazyConnect: true, keyPrefix: 'other:' });
    expect(() => createRedisStore({ client: prefixed })).toThrow(ConfigInvalid);
    prefixed.disconnect();
  });

  it('SEC-27 a url with a password is never echoed in the error', () => {
    try {
      createRedisStore({ url: 'http://user:hunter2@127.0.0.1' });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('hunter2');
    }
  });

  it('declares native expiry and sharing, and validates arguments before any command', async () => {
    const store = createRedisStore({ client });
    expect(store.name).toBe('redis');
    expect(store.capabilities).toEqual({ nativeExpiry: true, shared: true });
    // Not a real-shaped id or subject: missing, not an error (the binding store contract).
    expect(await store.get('')).toBeNull();
    expect(await store.get('x'.repeat(257))).toBeNull();
    expect(await store.get('\uD800')).toBeNull();
    expect(await store.delete('../x')).toBe(false);
    expect(await store.deleteBySubject('')).toBe(0);
    expect(await store.listBySubject('*')).toEqual([]);
    await expect(store.scan({ limit: 0 })).rejects.toThrow(InvalidArgument);
    await expect(store.scan({ limit: 1.5 })).rejects.toThrow(InvalidArgument);
    await expect(store.scan({ limit: 1, cursor: 7 as never })).rejects.toThrow(InvalidArgument);
    await expect(
      store.insert({
        id: 'a',
        subject: 's',
        expiresAt: 1.5,
        version: 1,
        payload: new Uint8Array(),
      }),
    ).rejects.toThrow(InvalidArgument);
    await expect(
      store.replace(
        { id: 'a', subject: 's', expiresAt: 1, version: 1, payload: new Uint8Array() },
        0,
      ),
    ).rejects.toThrow(InvalidArgument);
    const keySets = createRedisKeySetStore({ client });
    await expect(keySets.read('../x')).rejects.toThrow(InvalidArgument);
    await expect(keySets.write('ok', new Uint8Array(), 0)).rejects.toThrow(InvalidArgument);
    expect(client.status).toBe('wait'); // nothing was sent
  });

  it('accepts a node-redis standalone client (never connected here) and offers no watch on it', async () => {
    const nodeRedis = createClient();
    const store = createRedisStore({ client: nodeRedis });
    expect(store.watch).toBeUndefined();
    expect(createRedisStore({ client }).watch).toBeTypeOf('function');
    await store.close();
  });
});
