import { ConfigInvalid } from '@cloakroom/core';
import type { Cluster, Redis } from 'ioredis';

/**
 * Options for {@link createRedisStore} and {@link createRedisKeySetStore}.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = {
 *   client: new Redis({ username: 'cloakroom', password: process.env.REDIS_PASSWORD, tls: {} }),
 *   prefix: 'myapp:sessions:',
 *   commandTimeoutMs: 1000,
 * };
 * ```
 */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` you created (with ACL user/password, TLS,
   * auto-pipelining... as you need). The store never closes it. Exactly one
   * of `client` and `url` is required. The client must not set `keyPrefix`
   * (use `prefix`): the Lua scripts build key names themselves.
   */
  readonly client?: Redis | Cluster;
  /**
   * Convenience: a `redis://` or `rediss://` URL (user and password may be in
   * it) for a standalone server. The store creates this client (with
   * `enableAutoPipelining: true`) and closes it in `close()`.
   */
  readonly url?: string;
  /**
   * Prefix of every key, so several apps (or test runs) share one Redis.
   * 1 to 64 characters from `[A-Za-z0-9:._-]`: no braces (they would change
   * the cluster hash tag) and no glob characters.
   * @default 'cloakroom:'
   */
  readonly prefix?: string;
  /**
   * Longest time one store operation may take, in milliseconds. Past it the
   * operation rejects with `StoreUnavailable`, whatever the client's own
   * timeouts, so a dead Redis never hangs a request. The command itself may
   * still run later, when the client reconnects: as with any timeout, the
   * outcome is unknown.
   * @default 2000
   */
  readonly commandTimeoutMs?: number;
  /**
   * Keep every Lua script inside one cluster slot. On by default for an
   * ioredis `Cluster`; turn it on for a plain `Redis` client talking to a
   * proxy in front of a cluster (Envoy, a managed "cluster endpoint") that
   * refuses multi-slot scripts. Off, a standalone server runs subject
   * operations and scans over all buckets in one script and rotates in one.
   * @default client.isCluster
   */
  readonly clusterMode?: boolean;
  /**
   * The store's notion of now, in epoch milliseconds. A record is dead from
   * `clock() >= expiresAt`, whatever Redis's own expiry says. Redis TTLs are
   * set as `expiresAt - clock()` and then run on real time, so a frozen test
   * clock lets Redis drop records early: use one only in short tests.
   * @default Date.now
   */
  readonly clock?: () => number;
}

/** {@link RedisStoreOptions} after validation. */
export interface ResolvedRedisOptions {
  readonly client: Redis | Cluster | undefined;
  readonly url: string | undefined;
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly clusterMode: boolean | undefined;
  readonly clock: () => number;
}

const KNOWN = new Set(['client', 'url', 'prefix', 'commandTimeoutMs', 'clusterMode', 'clock']);
const PREFIX = /^[A-Za-z0-9:._-]{1,64}$/;
const MAX_TIMER_MS = 2_147_483_647;

function clientKeyPrefix(client: Redis | Cluster): unknown {
  const options = (client as unknown as { options?: Record<string, unknown> }).options ?? {};
  const redisOptions = options.redisOptions as Record<string, unknown> | undefined;
  return options.keyPrefix || redisOptions?.keyPrefix;
}

/** Apply defaults and validate. @throws ConfigInvalid naming the bad option (never its value). */
export function resolveOptions(options: unknown): ResolvedRedisOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigInvalid('redis store options must be an object with `client` or `url`');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ConfigInvalid(`unknown redis store option "${key}"`);
  }
  const {
    client,
    url,
    prefix = 'cloakroom:',
    commandTimeoutMs = 2000,
    clusterMode,
    clock = Date.now,
  } = options as Record<string, unknown>;
  if ((client === undefined) === (url === undefined)) {
    throw new ConfigInvalid('pass exactly one of `client` (an ioredis Redis or Cluster) and `url`');
  }
  if (client !== undefined) {
    const c = client as { isCluster?: unknown; evalshaBuffer?: unknown };
    if (
      typeof c !== 'object' ||
      typeof c.isCluster !== 'boolean' ||
      typeof c.evalshaBuffer !== 'function'
    ) {
      throw new ConfigInvalid('`client` must be an ioredis Redis or Cluster');
    }
    if (clientKeyPrefix(client as Redis | Cluster)) {
      throw new ConfigInvalid('the client sets `keyPrefix`; use the store `prefix` option instead');
    }
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    // The URL may hold a password: never echo it.
    throw new ConfigInvalid('`url` must be a redis:// or rediss:// URL');
  }
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new ConfigInvalid('`prefix` must be 1 to 64 characters from [A-Za-z0-9:._-]');
  }
  if (
    !Number.isSafeInteger(commandTimeoutMs) ||
    (commandTimeoutMs as number) < 1 ||
    (commandTimeoutMs as number) > MAX_TIMER_MS
  ) {
    throw new ConfigInvalid(`\`commandTimeoutMs\` must be an integer from 1 to ${MAX_TIMER_MS}`);
  }
  if (clusterMode !== undefined && typeof clusterMode !== 'boolean') {
    throw new ConfigInvalid('`clusterMode` must be a boolean');
  }
  if (typeof clock !== 'function') {
    throw new ConfigInvalid('`clock` must be a function returning epoch milliseconds');
  }
  return {
    client: client as Redis | Cluster | undefined,
    url: url as string | undefined,
    prefix,
    commandTimeoutMs: commandTimeoutMs as number,
    clusterMode: clusterMode as boolean | undefined,
    clock: clock as () => number,
  };
}
