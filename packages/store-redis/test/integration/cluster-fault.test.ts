import { StoreConflict, StoreUnavailable } from '@cloakroom/core';
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
    // The first write may still meet the node settling (a restarted master
    // without its script cache, on a loaded machine): retried until it lands,
    // a conflict meaning an earlier attempt that timed out did land.
    await waitFor(
      'a write to land on the restarted master',
      async () => {
        await store.insert(victim).catch((e: unknown) => {
          if (!(e instanceof StoreConflict)) throw e;
        });
        return true;
      },
      30_000,
    );
    expect(await store.get(victim.id)).toEqual(victim);
    // deleteBySubject runs one script per bucket, a quarter of them on the
    // restarted master whose script cache is empty (EVALSHA, NOSCRIPT, EVAL):
    // on a loaded machine that can exceed the 500 ms timeout once; retried,
    // then the record must be gone.
    await waitFor(
      'deleteBySubject to complete',
      async () => {
        await store.deleteBySubject(victim.subject);
        return true;
      },
      30_000,
    );
    expect(await store.get(victim.id)).toBeNull();
  });
});
