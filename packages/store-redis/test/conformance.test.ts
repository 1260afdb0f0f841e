import { describeKeySetStore, describeSessionStore } from '@cloakroom/conformance';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { afterAll } from 'vitest';
import { connectOrFail, deleteUnder, dumpUnder, uniquePrefix } from './integration/redis-test-env';

const client = await connectOrFail();
const prefixes = new WeakMap<SessionStore | KeySetStore, string>();
let t = 1_700_000_000_000;
afterAll(() => client.disconnect());

describeSessionStore(
  'redis',
  () => {
    const prefix = uniquePrefix('conformance');
    // A generous timeout: a loaded CI machine must not turn a slow reply into a model mismatch.
    const store = createRedisStore({ client, prefix, commandTimeoutMs: 10_000, clock: () => t });
    prefixes.set(store, prefix);
    return store;
  },
  {
    now: () => t,
    advanceTime: (ms) => {
      t += ms;
    },
    cleanup: (store) => deleteUnder(client, prefixes.get(store) as string),
    // SEC-02 at rest: every key and value under the prefix, read with the raw client.
    inspect: (store) => dumpUnder(client, prefixes.get(store) as string),
    unreachable: () => createRedisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 1000 }),
  },
);

describeKeySetStore(
  'redis',
  () => {
    const prefix = uniquePrefix('keyset-conformance');
    const store = createRedisKeySetStore({ client: client, prefix });
    prefixes.set(store, prefix);
    return store;
  },
  { cleanup: (store) => deleteUnder(client, prefixes.get(store) as string) },
);
