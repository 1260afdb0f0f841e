// redis+cluster:// against a real three-master cluster: the key set, a
// rewrap across slots, stats and revoke-subject.
import { createCloakroom, generateSecret, rotatingKeys } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../run-helper';
import { type TestCluster, startCluster } from './redis-cluster';

describe('cloakroom against a Redis Cluster (redis+cluster://)', () => {
  let cluster: TestCluster;
  let client: Cluster;
  const master = Buffer.from(generateSecret()).toString('base64url');
  const prefix = 'clitest:cluster:';
  let now = Date.now();
  const clock = () => now;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await startCluster();
    client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    client.on('error', () => {});
    env = {
      CLOAKROOM_STORE_URL: `redis+cluster://${cluster.ports.map((p) => `127.0.0.1:${p}`).join(',')}?prefix=${prefix}`,
      CLOAKROOM_MASTER_KEY: master,
    };
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('SEC-14 init, sessions on many slots, storage rotation, rewrap, stats and revoke-subject', async () => {
    expect((await cli(['keys', 'init'], env, { clock })).code).toBe(0);
    const app = createCloakroom({
      store: createRedisStore({ client, prefix }),
      keys: rotatingKeys({
        store: createRedisKeySetStore({ client, prefix }),
        masterKey: master,
        clock,
      }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      clock,
    });
    const tickets: string[] = [];
    for (let i = 0; i < 12; i++)
      tickets.push((await app.create(i % 2 === 0 ? 'even' : 'odd')).ticket);
    const rotated = await cli(['keys', 'rotate', 'storage', '--json'], env, { clock });
    expect(rotated.code, rotated.stderr).toBe(0);
    const newId = rotated.json<{ rotated: { id: string }[] }>().rotated[0]!.id;
    now += 10 * 60_000;
    const r = await cli(['rewrap', '--batch-size', '3', '--json'], env, { clock });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ complete: true, rewrapped: 12, byKeyId: { [newId]: 12 } });
    const stats = await cli(['stats', '--json'], env);
    expect(stats.json()).toMatchObject({
      store: 'redis',
      nativeExpiry: true,
      total: 12,
      byKeyId: { [newId]: 12 },
    });
    const revoked = await cli(['revoke-subject', 'odd', '--json'], env, { clock });
    expect(revoked.json()).toEqual({ revoked: 6 });
    const fresh = createCloakroom({
      store: createRedisStore({ client, prefix }),
      keys: rotatingKeys({
        store: createRedisKeySetStore({ client, prefix }),
        masterKey: master,
        clock,
      }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      clock,
    });
    const subjects = await Promise.all(
      tickets.map(async (t) => (await fresh.resolve(t))?.subject ?? null),
    );
    expect(subjects).toEqual(tickets.map((_, i) => (i % 2 === 0 ? 'even' : null)));
    await app.close();
    await fresh.close();
  }, 60_000);
});
