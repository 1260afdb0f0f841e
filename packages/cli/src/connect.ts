// Open the backend a StoreSpec names: one client or pool shared by the
// session store and the key-set store, closed by the CLI when it is done.
// Each backend's packages are optional peers, loaded only when a URL of
// their scheme is used, so a filesystem user installs no database driver.
import { statSync } from 'node:fs';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import type { MigrateResult } from '@cloakroom/store-postgres';
import { CliFailure } from './cli-errors';
import type { StoreSpec } from './store-url';

/** An open backend. */
export interface Connection {
  readonly spec: StoreSpec;
  /** A session store over the backend; `clock` overrides its notion of now (used by `stats`). */
  sessionStore(clock?: () => number): SessionStore;
  keySetStore(): KeySetStore;
  /** Postgres only: run the migrations. */
  migrate?(): Promise<MigrateResult>;
  /**
   * The last error the client reported on its own (a refused or dropped
   * connection), for messages: commands fail with a retry-limit error that
   * no longer says why.
   */
  lastClientError(): unknown;
  /** Close every store opened here, then the client or pool. Idempotent. */
  close(): Promise<void>;
}

const TIMEOUT_MS = 5000;

/** Which packages each scheme needs, for the "not installed" message. */
const PACKAGES: Readonly<Record<StoreSpec['kind'], string>> = {
  file: '@cloakroom/store-fs',
  redis: '@cloakroom/store-redis ioredis',
  'redis-cluster': '@cloakroom/store-redis ioredis',
  postgres: '@cloakroom/store-postgres pg',
};

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Import what a store kind needs, or fail with {@link CliFailure} carrying
 * the install command when a package is not installed (any other import
 * failure passes through). Nothing of the message comes from the loader's
 * error (it holds file paths); the error stays as `cause` for `--debug`.
 *
 * @example
 * ```ts
 * const { migrationSql } = await loadBackend('postgres', () => import('@cloakroom/store-postgres'));
 * ```
 */
export async function loadBackend<T>(kind: StoreSpec['kind'], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    const packages = PACKAGES[kind];
    throw new CliFailure(
      `${kind} stores need ${packages.split(' ').join(' and ')}, which ${packages.includes(' ') ? 'are' : 'is'} not installed: npm install --global ${packages} (next to @cloakroom/cli)`,
      { cause: error },
    );
  }
}

type RedisSpec = Extract<StoreSpec, { kind: 'redis' | 'redis-cluster' }>;

async function openRedis(spec: RedisSpec): Promise<Connection> {
  const [{ Cluster, Redis }, stores] = await loadBackend(spec.kind, () =>
    Promise.all([import('ioredis'), import('@cloakroom/store-redis')]),
  );
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
  // needed the server; the last one is kept for the message (ioredis would
  // print unhandled ones with host details).
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  const closers: (() => Promise<void>)[] = [];
  const prefix = spec.prefix === undefined ? {} : { prefix: spec.prefix };
  return withClose(
    spec,
    {
      sessionStore: (clock) => {
        const store = stores.createRedisStore({ client, ...prefix, ...(clock ? { clock } : {}) });
        closers.push(() => store.close());
        return store;
      },
      keySetStore: () => {
        const keySets = stores.createRedisKeySetStore({ client, ...prefix });
        closers.push(() => keySets.close());
        return keySets;
      },
      lastClientError: () => lastError,
    },
    closers,
    async () => {
      client.disconnect();
    },
  );
}

async function openPostgres(spec: Extract<StoreSpec, { kind: 'postgres' }>): Promise<Connection> {
  const [pg, stores] = await loadBackend(spec.kind, () =>
    Promise.all([import('pg'), import('@cloakroom/store-postgres')]),
  );
  const Pool = pg.default?.Pool ?? (pg as unknown as typeof pg.default).Pool;
  const pool = new Pool({
    connectionString: spec.connectionString,
    connectionTimeoutMillis: TIMEOUT_MS,
    max: 4,
  });
  let lastError: unknown;
  pool.on('error', (error: unknown) => {
    lastError = error;
  });
  const closers: (() => Promise<void>)[] = [];
  const names = {
    ...(spec.schema === undefined ? {} : { schema: spec.schema }),
    ...(spec.table === undefined ? {} : { table: spec.table }),
  };
  return withClose(
    spec,
    {
      sessionStore: (clock) => {
        const store = stores.createPostgresStore({ pool, ...names, ...(clock ? { clock } : {}) });
        closers.push(() => store.close());
        return store;
      },
      keySetStore: () => stores.createPostgresKeySetStore({ pool, ...names }),
      migrate: () => stores.migrate(pool, names),
      lastClientError: () => lastError,
    },
    closers,
    () => pool.end(),
  );
}

async function openFile(
  spec: Extract<StoreSpec, { kind: 'file' }>,
  create: boolean,
): Promise<Connection> {
  const stores = await loadBackend(spec.kind, () => import('@cloakroom/store-fs'));
  if (!create) {
    let isDir = false;
    try {
      isDir = statSync(spec.dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      throw new CliFailure(
        `file store directory ${spec.dir} does not exist (create it, or run \`cloakroom keys init\` to start a new store)`,
      );
    }
  }
  const closers: (() => Promise<void>)[] = [];
  return withClose(
    spec,
    {
      sessionStore: (clock) => {
        const store = stores.createFsStore({ dir: spec.dir, ...(clock ? { clock } : {}) });
        closers.push(() => store.close());
        return store;
      },
      keySetStore: () => stores.createFsKeySetStore({ dir: spec.dir }),
      lastClientError: () => undefined,
    },
    closers,
    async () => {},
  );
}

function withClose(
  spec: StoreSpec,
  parts: Omit<Connection, 'spec' | 'close'>,
  closers: (() => Promise<void>)[],
  closeClient: () => Promise<void>,
): Connection {
  let closed = false;
  return {
    spec,
    ...parts,
    async close() {
      if (closed) return;
      closed = true;
      // Stores first (they may flush), then the client they share.
      for (const c of [...closers].reverse()) await c().catch(() => undefined);
      await closeClient().catch(() => undefined);
    },
  };
}

/**
 * Open the backend, importing its packages now. A file store's directory
 * must already exist unless `create` is set, so a typo in the path does not
 * start an empty store. Throws {@link CliFailure} naming the packages to
 * install when the scheme's packages are missing.
 *
 * @example
 * ```ts
 * const conn = await connect(parseStoreUrl('file:///var/lib/app/cloakroom'));
 * try {
 *   console.log(conn.sessionStore().name);
 * } finally {
 *   await conn.close();
 * }
 * ```
 */
export function connect(
  spec: StoreSpec,
  options: { readonly create?: boolean } = {},
): Promise<Connection> {
  switch (spec.kind) {
    case 'file':
      return openFile(spec, options.create === true);
    case 'redis':
    case 'redis-cluster':
      return openRedis(spec);
    case 'postgres':
      return openPostgres(spec);
  }
}
