// Shared by the integration tests: the test server, a unique prefix per
// run, raw access for checking what was really written, and clean-up.
import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '@cloakroom/core';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';

/** The Redis the suites run against; a suite that cannot reach it fails. */
export const REDIS_URL = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other run uses. */
export function uniquePrefix(label: string): string {
  return `cloakroom-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** A connected client; throws (failing the suite) when the server is unreachable. */
export async function connectOrFail(options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(REDIS_URL, {
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => (times > 3 ? null : 100),
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new Error(
      `Redis test server unreachable at ${REDIS_URL}: start it or set CLOAKROOM_TEST_REDIS_URL`,
      {
        cause: err,
      },
    );
  }
  return client;
}

/** Every key under `prefix` on every master (SCAN, test-side only). */
export async function keysUnder(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const nodes = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  const out: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
  }
  return out;
}

/** Delete every key under `prefix` (one DEL per key: keys may sit in different slots). */
export async function deleteUnder(client: Redis | Cluster, prefix: string): Promise<void> {
  for (const key of await keysUnder(client, prefix)) await client.del(key);
}

/** A random 43-character base64url id, shaped like a session id or subject index. */
export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

/** A record with fresh ids; override any field. */
export function makeRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomId(),
    subject: randomId(),
    expiresAt: Date.now() + 60_000,
    version: 1,
    payload: new Uint8Array(randomBytes(64)),
    ...overrides,
  };
}

/** Every key under `prefix` and everything in it (string values, sorted-set members), read raw. */
export async function dumpUnder(
  client: Redis | Cluster,
  prefix: string,
): Promise<(string | Uint8Array)[]> {
  const out: (string | Uint8Array)[] = [];
  for (const key of await keysUnder(client, prefix)) {
    out.push(key);
    const type = await client.type(key);
    if (type === 'string') {
      const value = await client.getBuffer(key);
      if (value !== null) out.push(new Uint8Array(value));
    } else if (type === 'zset') {
      out.push(...(await client.zrange(key, 0, -1, 'WITHSCORES')));
    } else if (type !== 'none') {
      throw new Error(`unexpected ${type} key under the test prefix`);
    }
  }
  return out;
}
