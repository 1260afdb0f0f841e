// node-redis (v5) as the store's client: a standalone client the caller
// created (`createClient()`), seen through the handful of ioredis methods the
// store sends, all as `sendCommand` with bulk strings returned as Buffers.
// Why at all: a bare GET costs ~0.6x the CPU of ioredis's at 64 in flight
// (packages/bench/src/redis-clients.ts). Standalone only: a node-redis
// cluster routes commands through a different API; use an ioredis Cluster.
import type { Redis } from 'ioredis';

type Arg = string | Buffer | number;

/** The part of a node-redis v5 client the store uses (structural: no import of `redis`). */
export interface NodeRedisClient {
  /** Sends one command; `typeMapping` asks for bulk strings as Buffers. */
  sendCommand(
    args: readonly (string | Buffer)[],
    options?: { readonly typeMapping?: Readonly<Record<number, unknown>> },
  ): Promise<unknown>;
  /** Whether the client is connected (node-redis's own flag). */
  readonly isOpen: boolean;
}

// RESP_TYPES.BLOB_STRING ('$'): bulk strings as Buffers, as ioredis's *Buffer methods return.
const BUFFERS = Object.freeze({ 36: Buffer });
const AS_BUFFERS = Object.freeze({ typeMapping: BUFFERS });

/** True for a node-redis standalone client (not an ioredis one, not a node-redis cluster). */
export function isNodeRedisClient(client: unknown): client is NodeRedisClient {
  if (typeof client !== 'object' || client === null) return false;
  const c = client as Record<string, unknown>;
  return (
    typeof c.sendCommand === 'function' &&
    typeof c.isOpen === 'boolean' &&
    typeof c.withTypeMapping === 'function' &&
    typeof c.evalshaBuffer !== 'function'
  );
}

/** True for a node-redis cluster client, which the store refuses. */
export function isNodeRedisCluster(client: unknown): boolean {
  if (typeof client !== 'object' || client === null) return false;
  const c = client as Record<string, unknown>;
  return (
    typeof c.sendCommand === 'function' && 'masters' in c && typeof c.evalshaBuffer !== 'function'
  );
}

const text = (args: readonly Arg[]): (string | Buffer)[] =>
  args.map((a) => (typeof a === 'number' ? String(a) : a));

/**
 * The ioredis methods the store calls, over a node-redis client. Only what
 * connection.ts, replication.ts and the health probe send; the store never
 * closes this client (the caller owns it) and `watch` is not offered on it.
 */
export function adaptNodeRedis(client: NodeRedisClient): Redis {
  const adapted = {
    isCluster: false,
    options: {},
    getBuffer: (key: string) => client.sendCommand(['GET', key], AS_BUFFERS),
    get: (key: string) => client.sendCommand(['GET', key]),
    evalshaBuffer: (...args: Arg[]) => client.sendCommand(['EVALSHA', ...text(args)], AS_BUFFERS),
    evalBuffer: (...args: Arg[]) => client.sendCommand(['EVAL', ...text(args)], AS_BUFFERS),
    wait: (replicas: number, timeoutMs: number) =>
      client.sendCommand(['WAIT', String(replicas), String(timeoutMs)]),
    ping: () => client.sendCommand(['PING']),
    set: (...args: Arg[]) => client.sendCommand(['SET', ...text(args)]),
  };
  return adapted as unknown as Redis;
}
