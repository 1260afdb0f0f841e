// The three real backends the CLI tests run against, each isolated: a temp
// directory, a unique Redis prefix, a unique PostgreSQL schema. A backend
// that cannot be reached fails its suite (never skips).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import { createFsKeySetStore, createFsStore } from '@cloakroom/store-fs';
import { createPostgresKeySetStore, createPostgresStore } from '@cloakroom/store-postgres';
import { createRedisKeySetStore, createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REDIS_URL = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL =
  process.env.CLOAKROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Stores over the backend for the test's own "application" side. */
export interface AppStores {
  readonly store: SessionStore;
  readonly keySets: KeySetStore;
}

export interface Backend {
  readonly name: 'file' | 'redis' | 'postgres';
  /** The store URL the CLI gets. */
  readonly url: string;
  /** Stores on the same data, for the application side of a test. */
  open(clock?: () => number): AppStores;
  teardown(): Promise<void>;
}

const unique = () => randomBytes(6).toString('hex');

export async function fileBackend(): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-'));
  const opened: SessionStore[] = [];
  return {
    name: 'file',
    url: pathToFileURL(dir).href,
    open(clock) {
      const store = createFsStore({ dir, ...(clock ? { clock } : {}) });
      opened.push(store);
      return { store, keySets: createFsKeySetStore({ dir }) };
    },
    async teardown() {
      for (const s of opened) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function redisBackend(): Promise<Backend> {
  const prefix = `clitest:${unique()}:`;
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3000 });
  client.on('error', () => {});
  try {
    await client.ping();
  } catch (cause) {
    client.disconnect();
    throw new Error(`Redis unreachable at ${REDIS_URL}: start it or set CLOAKROOM_TEST_REDIS_URL`, {
      cause,
    });
  }
  const url = new URL(REDIS_URL);
  url.searchParams.set('prefix', prefix);
  return {
    name: 'redis',
    url: url.href,
    open(clock) {
      return {
        store: createRedisStore({ client, prefix, ...(clock ? { clock } : {}) }),
        keySets: createRedisKeySetStore({ client, prefix }),
      };
    },
    async teardown() {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
      await client.quit();
    },
  };
}

export async function postgresBackend(): Promise<Backend> {
  const schema = `cli_${unique()}`;
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (cause) {
    await pool.end();
    throw new Error(
      `PostgreSQL unreachable at ${POSTGRES_URL}: start it or set CLOAKROOM_TEST_POSTGRES_URL`,
      { cause },
    );
  }
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    name: 'postgres',
    url: url.href,
    open(clock) {
      return {
        store: createPostgresStore({ pool, schema, ...(clock ? { clock } : {}) }),
        keySets: createPostgresKeySetStore({ pool, schema }),
      };
    },
    async teardown() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
