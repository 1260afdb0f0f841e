import { describeSessionStore } from '@cloakroom/conformance';
import type { SessionStore } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { afterAll } from 'vitest';
import { connectOrFail, deleteUnder, dumpUnder, uniquePrefix } from './redis-test-env';

// clusterMode on a single server: one slot per script, cross-bucket rotates
// as two-phase commits. What a plain client behind a cluster proxy runs.
// With auto-pipelining on, as the README recommends.
const client = await connectOrFail({ enableAutoPipelining: true });
const prefixes = new WeakMap<SessionStore, string>();
afterAll(() => client.disconnect());

describeSessionStore(
  'redis (clusterMode on one server)',
  () => {
    const prefix = uniquePrefix('cluster-mode');
    const store = createRedisStore({
      client,
      prefix,
      clusterMode: true,
      commandTimeoutMs: 10_000,
    });
    prefixes.set(store, prefix);
    return store;
  },
  {
    cleanup: (store) => deleteUnder(client, prefixes.get(store) as string),
    inspect: (store) => dumpUnder(client, prefixes.get(store) as string),
  },
);
