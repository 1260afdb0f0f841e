import { ConfigInvalid } from '@cloakroom/core';
import type { Cluster, Redis } from 'ioredis';
import {
  type NodeRedisClient,
  adaptNodeRedis,
  isNodeRedisClient,
  isNodeRedisCluster,
} from './redis/node-redis';

/**
 * The replication guarantee (`RedisStoreOptions.replication`): after a
 * covered write the store sends `WAIT replicas timeoutMs` to the master
 * that took it, and throws `StoreUnavailable` unless at least `replicas`
 * replicas acknowledged it. Such a write did run on the master; it is not
 * known to survive a failover, so treat it as not acknowledged and retry
 * (deletes and revocations are idempotent; a retried rotate answers false,
 * see the README).
 *
 * @example
 * ```ts
 * const replication: ReplicationOptions = { replicas: 1, timeoutMs: 200 }; // revocations only
 * ```
 */
export interface ReplicationOptions {
  /** Replicas that must acknowledge a covered write. An integer from 1. */
  readonly replicas: number;
  /** Longest wait for them, in milliseconds (WAIT's timeout). An integer from 1. */
  readonly timeoutMs: number;
  /**
   * Which session writes wait: `'revocations'` (delete, deleteBySubject,
   * rotate, and a replace that shortens a record's life or moves it to
   * another subject) or `'all'` (insert and every replace too). Key-set
   * writes always wait.
   * @default 'revocations'
   */
  readonly writes?: 'revocations' | 'all';
}

/**
 * The liveness probe of the store's invalidation channel
 * (`RedisStoreOptions.invalidation`, used by `store.watch`, i.e. by a near
 * cache). Every `probeIntervalMs` the channel writes a probe key through the
 * store's client and must see its invalidation within `probeTimeoutMs`;
 * otherwise the channel stops vouching (`live` false, the cache dropped)
 * until a probe comes back in time. The channel's `boundMs`, the worst case
 * between a change and its invalidation while `live`, is their sum.
 *
 * @example
 * ```ts
 * const invalidation: InvalidationOptions = { probeIntervalMs: 100, probeTimeoutMs: 150 }; // bound 250 ms
 * ```
 */
export interface InvalidationOptions {
  /** Milliseconds between probes. An integer from 10 to 60000. @default 100 */
  readonly probeIntervalMs?: number;
  /** Milliseconds a probe may take. An integer from 10 to 60000. @default 150 */
  readonly probeTimeoutMs?: number;
}

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
   * auto-pipelining... as you need), or a connected node-redis v5 standalone
   * client (`createClient()`; about 0.6x the CPU per GET of ioredis at 64 in
   * flight; no `watch` on it, and a node-redis cluster is refused: use an
   * ioredis `Cluster`). The store never closes it. Exactly one of `client`
   * and `url` is required. The client must not set `keyPrefix` (use
   * `prefix`): the Lua scripts build key names themselves.
   */
  readonly client?: Redis | Cluster | NodeRedisClient;
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
   * outcome is unknown (the README says exactly when). A write covered by
   * `replication` may take `2 × replication.timeoutMs` longer.
   * @default 2000
   */
  readonly commandTimeoutMs?: number;
  /**
   * Keep every Lua script inside one cluster slot. On by default for an
   * ioredis `Cluster`; turn it on for a plain `Redis` client talking to a
   * proxy in front of a cluster (Envoy, a managed "cluster endpoint") that
   * refuses multi-slot scripts. Off, a standalone server runs subject
   * operations and scans over all buckets in one script and rotates in one.
   * On, the store offers no `insertWithLimit` (session limits need one
   * script over every bucket of a subject).
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
  /**
   * Most store calls that may wait for Redis at once. A call counts from
   * its start until its work and every command it sent have settled, also
   * after its timeout rejected it. Past the limit, calls fail at once with
   * `StoreUnavailable` and send nothing, so a silent Redis (frozen,
   * partitioned) cannot make the store queue commands without bound. A call
   * is one command (`get`, `insert`, `delete`...), up to four in sequence
   * (`rotate` across cluster slots), or 256 small scripts (`listBySubject`
   * and `deleteBySubject` on a cluster).
   * @default 1024
   */
  readonly maxInFlight?: number;
  /**
   * Wait for replicas after security-relevant writes (revocations), or after
   * all writes. Off by default: see {@link ReplicationOptions} and the
   * README for what holds without it.
   * @default undefined (no WAIT)
   */
  readonly replication?: ReplicationOptions;
  /**
   * The liveness probe of `watch` (the invalidation channel a near cache
   * listens to). Only used when something calls `watch`.
   * @default { probeIntervalMs: 100, probeTimeoutMs: 150 }
   */
  readonly invalidation?: InvalidationOptions;
}

/** {@link RedisStoreOptions} after validation. */
export interface ResolvedRedisOptions {
  /** The caller's client; a node-redis one seen through the ioredis methods the store uses. */
  readonly client: Redis | Cluster | undefined;
  /** True when the caller passed a node-redis client (no `watch` then). */
  readonly nodeRedis: boolean;
  readonly url: string | undefined;
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly clusterMode: boolean | undefined;
  readonly clock: () => number;
  readonly maxInFlight: number;
  readonly replication: Required<ReplicationOptions> | undefined;
  readonly invalidation: Required<InvalidationOptions>;
}

const KNOWN = new Set([
  'client',
  'url',
  'prefix',
  'commandTimeoutMs',
  'clusterMode',
  'clock',
  'maxInFlight',
  'replication',
  'invalidation',
]);
const PREFIX = /^[A-Za-z0-9:._-]{1,64}$/;
const MAX_TIMER_MS = 2_147_483_647;

function clientKeyPrefix(client: Redis | Cluster): unknown {
  const options = (client as unknown as { options?: Record<string, unknown> }).options ?? {};
  const redisOptions = options.redisOptions as Record<string, unknown> | undefined;
  return options.keyPrefix || redisOptions?.keyPrefix;
}

function resolveReplication(value: unknown): Required<ReplicationOptions> | undefined {
  if (value === undefined) return undefined;
  const shape = '`replication` must be { replicas, timeoutMs, writes? }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigInvalid(shape);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'replicas' && key !== 'timeoutMs' && key !== 'writes') {
      throw new ConfigInvalid(`unknown replication option "${key}"`);
    }
  }
  const { replicas, timeoutMs, writes = 'revocations' } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(replicas) || (replicas as number) < 1) {
    throw new ConfigInvalid('`replication.replicas` must be a positive integer');
  }
  // WAIT with timeout 0 blocks forever: never a valid bound.
  if (
    !Number.isSafeInteger(timeoutMs) ||
    (timeoutMs as number) < 1 ||
    (timeoutMs as number) > MAX_TIMER_MS
  ) {
    throw new ConfigInvalid(
      `\`replication.timeoutMs\` must be an integer from 1 to ${MAX_TIMER_MS}`,
    );
  }
  if (writes !== 'revocations' && writes !== 'all') {
    throw new ConfigInvalid("`replication.writes` must be 'revocations' or 'all'");
  }
  return { replicas: replicas as number, timeoutMs: timeoutMs as number, writes };
}

function probeMs(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 10 || (value as number) > 60_000) {
    throw new ConfigInvalid(`\`invalidation.${name}\` must be an integer from 10 to 60000`);
  }
  return value as number;
}

function resolveInvalidation(value: unknown): Required<InvalidationOptions> {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigInvalid('`invalidation` must be { probeIntervalMs?, probeTimeoutMs? }');
  }
  for (const key of Object.keys(value)) {
    if (key !== 'probeIntervalMs' && key !== 'probeTimeoutMs') {
      throw new ConfigInvalid(`unknown invalidation option "${key}"`);
    }
  }
  const { probeIntervalMs, probeTimeoutMs } = value as Record<string, unknown>;
  return {
    probeIntervalMs: probeMs(probeIntervalMs, 'probeIntervalMs', 100),
    probeTimeoutMs: probeMs(probeTimeoutMs, 'probeTimeoutMs', 150),
  };
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
    maxInFlight = 1024,
    replication,
    invalidation,
  } = options as Record<string, unknown>;
  if ((client === undefined) === (url === undefined)) {
    throw new ConfigInvalid('pass exactly one of `client` (an ioredis Redis or Cluster) and `url`');
  }
  if (isNodeRedisCluster(client)) {
    throw new ConfigInvalid(
      'a node-redis cluster client is not supported: pass an ioredis Cluster',
    );
  }
  const nodeRedis = isNodeRedisClient(client);
  if (client !== undefined && !nodeRedis) {
    const c = client as { isCluster?: unknown; evalshaBuffer?: unknown };
    if (
      typeof c !== 'object' ||
      typeof c.isCluster !== 'boolean' ||
      typeof c.evalshaBuffer !== 'function'
    ) {
      throw new ConfigInvalid(
        '`client` must be an ioredis Redis or Cluster, or a node-redis standalone client',
      );
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
  if (!Number.isSafeInteger(maxInFlight) || (maxInFlight as number) < 1) {
    throw new ConfigInvalid('`maxInFlight` must be a positive integer');
  }
  const resolvedReplication = resolveReplication(replication);
  if (
    resolvedReplication !== undefined &&
    (commandTimeoutMs as number) + resolvedReplication.timeoutMs > MAX_TIMER_MS
  ) {
    throw new ConfigInvalid(
      `\`commandTimeoutMs\` plus \`replication.timeoutMs\` must not exceed ${MAX_TIMER_MS}`,
    );
  }
  return {
    maxInFlight: maxInFlight as number,
    replication: resolvedReplication,
    invalidation: resolveInvalidation(invalidation),
    client: nodeRedis
      ? adaptNodeRedis(client as NodeRedisClient)
      : (client as Redis | Cluster | undefined),
    nodeRedis,
    url: url as string | undefined,
    prefix,
    commandTimeoutMs: commandTimeoutMs as number,
    clusterMode: clusterMode as boolean | undefined,
    clock: clock as () => number,
  };
}
