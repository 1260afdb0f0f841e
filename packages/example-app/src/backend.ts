import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigInvalid, type KeySetStore, type SessionStore } from '@cloakroom/core';
import { createFsKeySetStore, createFsStore } from '@cloakroom/store-fs';
import { createPostgresKeySetStore, createPostgresStore, migrate } from '@cloakroom/store-postgres';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Where sessions and the shared key set live. */
export interface Backend {
  /** `filesystem`, `redis` or `postgres`, for the page footer and the start-up line. */
  readonly kind: 'filesystem' | 'redis' | 'postgres';
  readonly store: SessionStore;
  readonly keySets: KeySetStore;
  /** Whether expired records must be swept by the app (no native expiry). */
  readonly needsSweep: boolean;
  /** Closes the clients this module opened (the manager closes the session store). */
  close(): Promise<void>;
}

/** Options of {@link openBackend}. */
export interface BackendOptions {
  /** `redis://`, `rediss://`, `postgres://`, `postgresql://` or `file://`; unset: the filesystem store. */
  readonly storeUrl?: string;
  /** The app's data directory; the filesystem store lives in `<dataDir>/sessions`. */
  readonly dataDir: string;
  /** Redis key prefix. @default 'cloakroom-example:' */
  readonly redisPrefix?: string;
  /** PostgreSQL schema. @default 'public' */
  readonly postgresSchema?: string;
}

/**
 * Opens the session store and the key-set store on one backend, so every
 * instance of the app shares both sessions and the rotating key set.
 *
 * @throws ConfigInvalid for an unsupported URL scheme (the URL itself is never echoed: it may hold a password).
 * @example
 * ```ts
 * const backend = await openBackend({ storeUrl: 'redis://127.0.0.1:6379', dataDir });
 * ```
 */
export async function openBackend(options: BackendOptions): Promise<Backend> {
  const url = options.storeUrl;
  if (url === undefined || url === '') return fsBackend(join(options.dataDir, 'sessions'));
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') return fsBackend(fileURLToPath(url));
  if (scheme === 'redis' || scheme === 'rediss') {
    // One client for both stores; the stores never close a client they were given.
    const client = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    const prefix = options.redisPrefix ?? 'cloakroom-example:';
    return {
      kind: 'redis',
      store: createRedisStore({ client, prefix }),
      keySets: createRedisKeySetStore({ client, prefix }),
      needsSweep: false,
      close: async () => {
        await client.quit().catch(() => client.disconnect());
      },
    };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
    pool.on('error', (err) => console.error(`postgres idle client error: ${err.message}`));
    const schema = options.postgresSchema ?? 'public';
    try {
      // A demo migrates at start; production runs migrate() at deploy time as the schema owner.
      await migrate(pool, { schema });
    } catch (error) {
      await pool.end();
      throw error;
    }
    return {
      kind: 'postgres',
      store: createPostgresStore({ pool, schema }),
      keySets: createPostgresKeySetStore({ pool, schema }),
      needsSweep: true,
      close: () => pool.end(),
    };
  }
  throw new ConfigInvalid(
    'CLOAKROOM_STORE_URL must start with redis://, rediss://, postgres://, postgresql:// or file://',
  );
}

// The store creates its directory 0700 and refuses one others can write to.
function fsBackend(dir: string): Backend {
  return {
    kind: 'filesystem',
    store: createFsStore({ dir }),
    keySets: createFsKeySetStore({ dir }),
    needsSweep: true,
    close: async () => {},
  };
}
