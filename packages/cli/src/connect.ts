// Open the backend a StoreSpec names: one client or pool shared by the
// session store and the key-set store, closed by the CLI when it is done.
import { statSync } from 'node:fs';
import { CliFailure } from './cli-errors';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import { createFsKeySetStore, createFsStore } from '@cloakroom/store-fs';
import {
  createPostgresKeySetStore,
  createPostgresStore,
  migrate,
  type MigrateResult,
} from '@cloakroom/store-postgres';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import type { StoreSpec } from './store-url';

/** An open backend. */
export interface Connection {
  readonly kind: StoreSpec['kind'];
  /** A session store over the backend; `clock` overrides its notion of now (used by `stats`). */
  sessionStore(clock?: () => number): SessionStore;
  keySetStore(): KeySetStore;
  /** Postgres only: run the migrations. */
  migrate?(): Promise<MigrateResult>;
  /** Close every store opened here, then the client or pool. Idempotent. */
  close(): Promise<void>;
}

const TIMEOUT_MS = 5000;

function redisClient(spec: Extract<StoreSpec, { kind: 'redis' | 'redis-cluster' }>) {
  const common = {
    lazyConnect: false,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 200, 1000),
  };
  // Auto-pipelining: rewrap and sweep issue many commands at once.
  const client =
    spec.kind === 'redis'
      ? new Redis(spec.url, { ...common, enableAutoPipelining: true })
      : new Cluster(
          spec.nodes.map((n) => ({ host: n.host, port: n.port })),
          {
            enableAutoPipelining: true,
            clusterRetryStrategy: common.retryStrategy,
            redisOptions: {
              ...common,
              ...(spec.username === undefined ? {} : { username: spec.username }),
              ...(spec.password === undefined ? {} : { password: spec.password }),
              ...(spec.tls ? { tls: {} } : {}),
            },
          },
        );
  // Connection errors surface as StoreUnavailable from the store call that
  // needed the server; the client's own error events would only add noise
  // (and ioredis prints unhandled ones with host details).
  client.on('error', () => {});
  return client;
}

/**
 * Open the backend. A file store's directory must already exist unless
 * `create` is set, so a typo in the path does not start an empty store.
 */
export function connect(spec: StoreSpec, options: { readonly create?: boolean } = {}): Connection {
  const closers: (() => Promise<void>)[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  switch (spec.kind) {
    case 'file': {
      if (!options.create) {
        let isDir = false;
        try {
          isDir = statSync(spec.dir).isDirectory();
        } catch {
          isDir = false;
        }
        if (!isDir) {
          throw new CliFailure(
            'file store directory does not exist (create it, or run `cloakroom keys init` to start a new store)',
          );
        }
      }
      return {
        kind: 'file',
        sessionStore: (clock) => {
          const store = createFsStore({ dir: spec.dir, ...(clock ? { clock } : {}) });
          closers.push(() => store.close());
          return store;
        },
        keySetStore: () => createFsKeySetStore({ dir: spec.dir }),
        close,
      };
    }
    case 'redis':
    case 'redis-cluster': {
      const client = redisClient(spec);
      closers.push(async () => {
        client.disconnect();
      });
      const prefix = spec.prefix === undefined ? {} : { prefix: spec.prefix };
      return {
        kind: spec.kind,
        sessionStore: (clock) => {
          const store = createRedisStore({ client, ...prefix, ...(clock ? { clock } : {}) });
          closers.push(() => store.close());
          return store;
        },
        keySetStore: () => {
          const keySets = createRedisKeySetStore({ client, ...prefix });
          closers.push(() => keySets.close());
          return keySets;
        },
        close,
      };
    }
    case 'postgres': {
      const pool = new pg.Pool({
        connectionString: spec.connectionString,
        connectionTimeoutMillis: TIMEOUT_MS,
        max: 4,
      });
      pool.on('error', () => {});
      closers.push(() => pool.end());
      const names = {
        ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        ...(spec.table === undefined ? {} : { table: spec.table }),
      };
      return {
        kind: 'postgres',
        sessionStore: (clock) => {
          const store = createPostgresStore({ pool, ...names, ...(clock ? { clock } : {}) });
          closers.push(() => store.close());
          return store;
        },
        keySetStore: () => createPostgresKeySetStore({ pool, ...names }),
        migrate: () => migrate(pool, names),
        close,
      };
    }
  }
}
