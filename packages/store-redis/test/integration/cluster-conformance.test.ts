import { describeKeySetStore, describeSessionStore } from '@cloakroom/conformance';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { afterAll } from 'vitest';
import { startCluster } from './redis-servers';
import { deleteUnder, dumpUnder, uniquePrefix } from './redis-test-env';

// Three masters on loopback, started here and killed in afterAll.
const cluster = await startCluster();
afterAll(() => cluster.stop());
const prefixes = new WeakMap<SessionStore | KeySetStore, string>();

describeSessionStore(
  'redis cluster',
  () => {
    const prefix = uniquePrefix('cluster-conformance');
    const store = createRedisStore({
      client: cluster.client,
      prefix,
      commandTimeoutMs: 10_000,
    });
    prefixes.set(store, prefix);
    return store;
  },
  {
    cleanup: (store) => deleteUnder(cluster.client, prefixes.get(store) as string),
    inspect: (store) => dumpUnder(cluster.client, prefixes.get(store) as string),
    unreachable: () => createRedisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 1000 }),
  },
);

describeKeySetStore(
  'redis cluster',
  () => {
    const prefix = uniquePrefix('keyset-conformance');
    const store = createRedisKeySetStore({ client: cluster.client, prefix });
    prefixes.set(store, prefix);
    return store;
  },
  { cleanup: (store) => deleteUnder(cluster.client, prefixes.get(store) as string) },
);
