import { describeKeySetStore, describeSessionStore } from '@cloakroom/conformance';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { createClient } from 'redis';
import { afterAll } from 'vitest';
import {
  REDIS_URL,
  connectOrFail,
  deleteUnder,
  dumpUnder,
  uniquePrefix,
} from './integration/redis-test-env';

const client = await connectOrFail();
const prefixes = new WeakMap<SessionStore | KeySetStore, string>();
afterAll(() => client.disconnect());

describeSessionStore(
  'redis',
  () => {
    const prefix = uniquePrefix('conformance');
    // The real clock: Redis TTLs run on real time, so a frozen test clock would let
    // Redis drop records the store still calls live. A generous timeout, so a
    // loaded CI machine cannot turn a slow reply into a model mismatch.
    const store = createRedisStore({ client, prefix, commandTimeoutMs: 10_000 });
    prefixes.set(store, prefix);
    return store;
  },
  {
    cleanup: (store) => deleteUnder(client, prefixes.get(store) as string),
    // SEC-02 at rest: every key and value under the prefix, read with the raw client.
    inspect: (store) => dumpUnder(client, prefixes.get(store) as string),
    unreachable: () => createRedisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 1000 }),
    // A standalone ioredis store has both: losing one must fail the suite, not skip its checks.
    requiredMethods: ['insertWithLimit', 'watch'],
    // The store is handed a client the test owns: closing the store must leave it usable.
    callerClient: async () => {
      const own = await connectOrFail();
      const prefix = uniquePrefix('caller-client');
      return {
        store: createRedisStore({ client: own, prefix, commandTimeoutMs: 10_000 }),
        clientUsable: async () => (await own.ping()) === 'PONG',
        release: async () => {
          await deleteUnder(own, prefix);
          own.disconnect();
        },
      };
    },
  },
);

// The same suite over a node-redis v5 client (the caller's own, standalone).
const nodeRedis = createClient({ url: REDIS_URL });
nodeRedis.on('error', () => {});
await nodeRedis.connect();
afterAll(() => nodeRedis.quit());

describeSessionStore(
  'redis (node-redis client)',
  () => {
    const prefix = uniquePrefix('conformance-node-redis');
    const store = createRedisStore({ client: nodeRedis, prefix, commandTimeoutMs: 10_000 });
    prefixes.set(store, prefix);
    return store;
  },
  {
    cleanup: (store) => deleteUnder(client, prefixes.get(store) as string),
    inspect: (store) => dumpUnder(client, prefixes.get(store) as string),
    unreachable: () => createRedisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 1000 }),
    // Session limits over node-redis too (no watch: see the README's "Which client").
    requiredMethods: ['insertWithLimit'],
    callerClient: async () => {
      const own = createClient({ url: REDIS_URL });
      own.on('error', () => {});
      await own.connect();
      const prefix = uniquePrefix('caller-node-redis');
      return {
        store: createRedisStore({ client: own, prefix, commandTimeoutMs: 10_000 }),
        clientUsable: async () => (await own.ping()) === 'PONG',
        release: async () => {
          await deleteUnder(client, prefix);
          await own.quit();
        },
      };
    },
  },
);

describeKeySetStore(
  'redis',
  () => {
    const prefix = uniquePrefix('keyset-conformance');
    const store = createRedisKeySetStore({ client, prefix });
    prefixes.set(store, prefix);
    return store;
  },
  {
    cleanup: (store) => deleteUnder(client, prefixes.get(store) as string),
    unreachable: () =>
      createRedisKeySetStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 1000 }),
    callerClient: async () => {
      const own = await connectOrFail();
      const prefix = uniquePrefix('keyset-caller-client');
      return {
        store: createRedisKeySetStore({ client: own, prefix }),
        clientUsable: async () => (await own.ping()) === 'PONG',
        release: async () => {
          await deleteUnder(own, prefix);
          own.disconnect();
        },
      };
    },
  },
);
