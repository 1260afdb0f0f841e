import { createRedisStore } from '@cloakroom/store-redis';
import type { Cluster } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/redis/connection';
import { BUCKETS, bucketOf, bucketTags, keyLayout, slotOfTag } from '../../src/redis/key-layout';
import { resolveOptions } from '../../src/options';
import { encodePending, encodeRecord } from '../../src/codec';
import { decodeOrThrow } from '../../src/codec';
import type { Connection } from '../../src/redis/connection';
import { settlePending } from '../../src/redis/rotate-recovery';
import type { Script } from '../../src/redis/scripts';
import { SCRIPTS } from '../../src/redis/scripts';
import { ACL_RULE, CLUSTER_ACL_EXTRA } from './acl-rule';
import { startCluster } from './redis-servers';
import { deleteUnder, keysUnder, makeRecord, uniquePrefix } from './redis-test-env';

const cluster = await startCluster();
const { client } = cluster;
let prefix = uniquePrefix('cluster');
afterEach(async () => {
  await deleteUnder(client, prefix);
  prefix = uniquePrefix('cluster');
});
afterAll(() => cluster.stop());

/** A record whose id falls in another bucket (so another slot) than `other`. */
function inOtherBucket(other: string, overrides = {}) {
  for (;;) {
    const record = makeRecord(overrides);
    if (bucketOf(record.id) !== bucketOf(other)) return record;
  }
}

async function rawValues(c: Cluster): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const key of await keysUnder(c, prefix)) {
    if ((await c.type(key)) === 'string') out.push((await c.getBuffer(key)) as Buffer);
  }
  return out;
}

describe('Redis Cluster: layout and cross-slot operations (three masters on loopback)', () => {
  it('every key carries its bucket hash tag: the slot Redis computes is the bucket slot, and records spread over every master', async () => {
    const store = createRedisStore({ client, prefix });
    const subjects = [makeRecord().subject, makeRecord().subject];
    for (let i = 0; i < 150; i++)
      await store.insert(makeRecord({ subject: subjects[i % 2] as string }));
    const keys = await keysUnder(client, prefix);
    expect(keys.length).toBeGreaterThan(150);
    for (const key of keys) {
      const tag = /^[^{]*\{([^}]*)\}/.exec(key)?.[1] as string;
      const bucket = bucketTags().indexOf(tag);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(await client.cluster('KEYSLOT', key)).toBe(slotOfTag(tag));
      expect(Math.floor(slotOfTag(tag) / (16384 / BUCKETS))).toBe(bucket);
    }
    for (const node of client.nodes('master')) {
      const [, held] = await node.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100_000);
      expect(held.length).toBeGreaterThan(0);
    }
    expect(await store.deleteBySubject(subjects[0] as string)).toBe(75);
    expect(await store.listBySubject(subjects[1] as string)).toHaveLength(75);
  });

  it('SEC-32: a store on a Cluster client offers no watch, so no near cache trusts one node', async () => {
    const store = createRedisStore({ client, prefix });
    expect(store.watch).toBeUndefined();
    await store.close();
  });

  it('a store on a Cluster client offers no insertWithLimit (a subject spans slots), not even with clusterMode: false', async () => {
    for (const store of [
      createRedisStore({ client, prefix }),
      createRedisStore({ client, prefix, clusterMode: false }),
    ]) {
      expect(store.insertWithLimit).toBeUndefined();
      await store.close();
    }
  });

  it('replication: WAIT goes to the master that owns the written key (one per master for deleteBySubject)', async () => {
    // No replicas in this cluster: every WAIT answers 0, so each covered
    // write fails with reason 'replication' (not a routing error), and the
    // per-node command counts show where each WAIT went.
    const store = createRedisStore({
      client,
      prefix,
      replication: { replicas: 1, timeoutMs: 20 },
    });
    const waitsPerNode = async () => {
      const out = new Map<number, number>();
      for (const node of client.nodes('master')) {
        const stats = await node.info('commandstats');
        out.set(
          node.options.port as number,
          Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0),
        );
      }
      return out;
    };
    const ownerPort = async (id: string) => {
      const slot = slotOfTag(bucketTags()[bucketOf(id)] as string);
      for (const [from, to, owner] of await client.cluster('SLOTS')) {
        if (owner !== undefined && slot >= from && slot <= to) return owner[1] as number;
      }
      throw new Error('slot not served');
    };
    const record = makeRecord();
    await store.insert(record); // not a revocation: no WAIT
    const before = await waitsPerNode();
    const err = await store.delete(record.id).catch((e: unknown) => e);
    expect(((err as Error).cause as { reason?: string }).reason).toBe('replication');
    const after = await waitsPerNode();
    const owner = await ownerPort(record.id);
    for (const [port, n] of after) {
      expect(n - (before.get(port) as number)).toBe(port === owner ? 1 : 0);
    }
    const bySubject = await store.deleteBySubject(record.subject).catch((e: unknown) => e);
    expect(((bySubject as Error).cause as { reason?: string }).reason).toBe('replication');
    const last = await waitsPerNode();
    for (const [port, n] of last) expect(n - (after.get(port) as number)).toBe(1);
  });

  it('a cross-slot rotate commits both records and leaves no pending value behind', async () => {
    const store = createRedisStore({ client, prefix });
    const old = makeRecord();
    const next = inOtherBucket(old.id, { subject: old.subject });
    expect(slotOfTag(bucketTags()[bucketOf(old.id)] as string)).not.toBe(
      slotOfTag(bucketTags()[bucketOf(next.id)] as string),
    );
    await store.insert(old);
    expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next)).toBe(
      true,
    );
    expect(await store.get(next.id)).toEqual(next);
    expect((await store.get(old.id))?.version).toBe(2);
    expect((await rawValues(client)).filter((v) => v[0] === 0xc7 && v[1] === 2)).toEqual([]);
  });

  it('SEC-06 concurrent cross-slot rotates of one version from two cluster clients: exactly one successor, losers leave nothing', async () => {
    const second = (await startClusterClient()) as Cluster;
    try {
      const stores = [
        createRedisStore({ client, prefix }),
        createRedisStore({ client: second, prefix }),
      ];
      const old = makeRecord();
      await stores[0]?.insert(old);
      const successors = Array.from({ length: 30 }, () =>
        inOtherBucket(old.id, { subject: old.subject }),
      );
      const results = await Promise.all(
        successors.map((next, i) =>
          stores[i % 2]?.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = successors[results.indexOf(true)];
      const live = await stores[1]?.listBySubject(old.subject);
      expect(live?.map((r) => r.id).sort()).toEqual([old.id, winner?.id].sort());
      for (const [i, next] of successors.entries()) {
        expect(await stores[i % 2]?.get(next.id)).toEqual(next === winner ? next : null);
      }
      expect((await rawValues(client)).filter((v) => v[0] === 0xc7 && v[1] === 2)).toEqual([]);
    } finally {
      second.disconnect();
    }
  });

  it('SEC-28 the README ACL rule plus the cluster topology commands is enough for a cluster client', async () => {
    const rule = `${ACL_RULE.replace('~cloakroom:*', `~${prefix}*`)} ${CLUSTER_ACL_EXTRA}`;
    for (const node of client.nodes('master'))
      await node.call('ACL', 'SETUSER', 'cr-cluster', ...rule.split(' '));
    const { Cluster: ClusterClient } = await import('ioredis');
    const limited = new ClusterClient(
      cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { username: 'cr-cluster', password: 's3cret-test-password' } },
    );
    limited.on('error', () => {});
    try {
      const store = createRedisStore({ client: limited, prefix });
      const old = makeRecord();
      const next = inOtherBucket(old.id, { subject: old.subject });
      await store.insert(old);
      expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next)).toBe(
        true,
      );
      expect(await store.get(next.id)).toEqual(next);
      expect(await store.listBySubject(old.subject)).toHaveLength(2);
      expect((await store.scan({ limit: 5 })).records.length).toBeLessThanOrEqual(2);
      expect(await store.deleteBySubject(old.subject)).toBe(2);
    } finally {
      limited.disconnect();
      for (const node of client.nodes('master')) await node.call('ACL', 'DELUSER', 'cr-cluster');
    }
  });

  describe('a process dying in the middle of a cross-slot rotate', () => {
    // Runs the rotate's phases by hand to stop where a crash would.
    async function phases(upTo: 'prepare' | 'decide') {
      const store = createRedisStore({ client, prefix });
      const conn = connect(resolveOptions({ client, prefix }), 'test');
      const keys = keyLayout(prefix);
      const old = makeRecord();
      const next = inOtherBucket(old.id, { subject: old.subject });
      await store.insert(old);
      const tx = 'test-tx-0001';
      const now = String(Date.now());
      const nextBase = keys.bucketBase(bucketOf(next.id));
      expect(
        await scriptVia(
          conn,
          SCRIPTS.prepare,
          [keys.recordKey(next.id)],
          [now, next.id, nextBase, next.subject, encodePending(next, tx, old.id), '300000'],
        ),
      ).toBe(1);
      if (upTo === 'decide') {
        const moved = { ...old, version: 2 };
        expect(
          await scriptVia(
            conn,
            SCRIPTS.decide,
            [keys.recordKey(old.id)],
            [
              now,
              '1',
              old.id,
              keys.bucketBase(bucketOf(old.id)),
              old.subject,
              String(old.expiresAt),
              encodeRecord(moved),
              tx,
              '360000',
            ],
          ),
        ).toBe(1);
      }
      return { store, old, next };
    }

    it('after the commit point: a reader finishes the rotate (the successor is live, nothing lost)', async () => {
      const { store, old, next } = await phases('decide');
      expect(await store.get(next.id)).toEqual(next);
      expect((await store.get(old.id))?.version).toBe(2);
      expect((await store.listBySubject(old.subject)).map((r) => r.id).sort()).toEqual(
        [old.id, next.id].sort(),
      );
      expect((await rawValues(client)).filter((v) => v[0] === 0xc7 && v[1] === 2)).toEqual([]);
    });

    it('SEC-06 a reader that read the pending value just before the writer promoted it still answers the successor', async () => {
      const { next } = await phases('decide');
      const conn = connect(resolveOptions({ client, prefix }), 'test');
      const keys = keyLayout(prefix);
      // What the reader saw: the pending value. Then the writer's phase 3 wins the race.
      const seen = await client.getBuffer(keys.recordKey(next.id));
      const pending = seen === null ? undefined : decodeOrThrow(seen).pending;
      expect(pending).toBeDefined();
      const promoted = await scriptVia(
        conn,
        SCRIPTS.promote,
        [keys.recordKey(next.id)],
        [String(Date.now()), pending?.tx ?? '', next.id, keys.bucketBase(bucketOf(next.id))],
      );
      expect(Buffer.isBuffer(promoted)).toBe(true);
      // The reader now settles what it saw: its own promote finds nothing pending.
      const settled = await conn.run((op) =>
        settlePending({ conn, keys }, op, next.id, pending as never),
      );
      expect(settled).toEqual(next);
    });

    it('before the commit point: the successor does not exist and the old record is untouched', async () => {
      const { store, old, next } = await phases('prepare');
      expect(await store.get(next.id)).toBeNull();
      expect(await store.get(old.id)).toEqual(old);
      expect(await store.listBySubject(old.subject)).toEqual([old]);
      const scanned = [];
      let cursor: string | undefined;
      do {
        const page = await store.scan(
          cursor === undefined ? { limit: 100 } : { limit: 100, cursor },
        );
        scanned.push(...page.records);
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(scanned).toEqual([old]);
      // The old record can still be rotated normally.
      const other = inOtherBucket(old.id, { subject: old.subject });
      expect(
        await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, other),
      ).toBe(true);
    });

    it('SEC-07 deleteBySubject also removes an in-flight successor: it never comes back', async () => {
      const { store, old, next } = await phases('decide');
      expect(await store.deleteBySubject(old.subject)).toBe(1);
      expect(await store.get(next.id)).toBeNull();
      expect(await store.get(old.id)).toBeNull();
      expect(await store.listBySubject(old.subject)).toEqual([]);
    });
  });
});

/** One script, as the store's operations send it. */
function scriptVia(
  conn: Connection,
  script: Script,
  keys: string[],
  args: (string | Buffer)[],
): Promise<unknown> {
  return conn.run((op) => op.script(script, keys, args));
}

async function startClusterClient(): Promise<Cluster> {
  const { Cluster: ClusterClient } = await import('ioredis');
  const c = new ClusterClient(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  c.on('error', () => {});
  await c.ping();
  return c;
}
