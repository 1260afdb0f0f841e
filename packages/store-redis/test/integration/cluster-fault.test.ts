import { StoreUnavailable } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketOf, bucketTags, slotOfTag } from '../../src/redis/key-layout';
import { startCluster, waitFor } from './redis-servers';
import { makeRecord, uniquePrefix } from './redis-test-env';

const TIMEOUT_MS = 500;
const BOUND_MS = TIMEOUT_MS + 1_000;
const cluster = await startCluster();
afterAll(() => cluster.stop());

/** The port of the master serving `id`'s bucket, from the live slot map. */
async function portOf(id: string): Promise<number> {
  const slot = slotOfTag(bucketTags()[bucketOf(id)] as string);
  for (const [from, to, master] of await cluster.client.cluster('SLOTS')) {
    if (master !== undefined && slot >= from && slot <= to) return master[1];
  }
  throw new Error(`slot ${slot} is not served`);
}

describe('a cluster master stopped while the app runs', () => {
  it('sessions on it fail with StoreUnavailable within the timeout; the same store works again once it is back', async () => {
    const prefix = uniquePrefix('cluster-fault');
    const store = createRedisStore({
      client: cluster.client,
      prefix,
      commandTimeoutMs: TIMEOUT_MS,
    });
    const victim = makeRecord();
    const port = await portOf(victim.id);
    await store.insert(victim);
    let neighbour = makeRecord();
    while ((await portOf(neighbour.id)) !== port) neighbour = makeRecord();

    await cluster.killNode(port);
    const started = Date.now();
    const err = await store.get(victim.id).then(
      (value) => new Error(`expected StoreUnavailable, got ${JSON.stringify(value)}`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect(Date.now() - started).toBeLessThan(BOUND_MS);
    await expect(store.insert(neighbour)).rejects.toThrow(StoreUnavailable);

    // Same port and node config, no data (no persistence): it rejoins with its slots.
    await cluster.restartNode(port);
    await waitFor(
      'the store to reach the restarted master',
      async () => (await store.get(victim.id)) === null,
      30_000,
    );
    await store.insert(victim);
    expect(await store.get(victim.id)).toEqual(victim);
    expect(await store.deleteBySubject(victim.subject)).toBe(1);
  });
});
