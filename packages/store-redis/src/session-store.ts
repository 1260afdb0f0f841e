import { randomBytes } from 'node:crypto';
import {
  type InvalidationChannel,
  type InvalidationListener,
  InvalidArgument,
  type LimitedInsert,
  type ScanOptions,
  type ScanPage,
  type SessionRecord,
  type SessionStore,
  StoreConflict,
  type SubjectLimit,
  assertRecordVersion,
  assertSessionRecord,
  assertSubjectLimit,
  isStoreKey,
} from '@cloakroom/core';
import { decodeOrThrow, encodeRecord, liveRecord, pairsToRecords } from './codec';
import { malformed } from './errors';
import { type RedisStoreOptions, resolveOptions } from './options';
import { type ScanPosition, decodeCursor, encodeCursor } from './scan-cursor';
import type { Redis } from 'ioredis';
import { type Op, connect } from './redis/connection';
import { openChannel } from './redis/invalidation';
import { BUCKETS, bucketOf, keyLayout } from './redis/key-layout';
import { createSubscriberClient } from './redis/owned-client';
import { replicator } from './redis/replication';
import { rotate } from './redis/rotate';
import { type StoreContext, settlePending } from './redis/rotate-recovery';
import { scanPage } from './redis/scan';
import { SCRIPTS, type Script } from './redis/scripts';

/** A {@link SessionStore} over Redis or Redis Cluster. */
export interface RedisStore extends SessionStore {
  readonly name: 'redis';
  readonly capabilities: { readonly nativeExpiry: true; readonly shared: true };
  /**
   * The invalidation channel a near cache listens to (SEC-32): Redis
   * `CLIENT TRACKING` in broadcasting mode on a connection of its own,
   * checked end to end by a probe (see `RedisStoreOptions.invalidation` and
   * the README's "Redis near cache"). Present on a standalone (or Sentinel)
   * client only: `undefined` on a Redis Cluster or with `clusterMode`, so a
   * near cache refuses such a store instead of trusting one node's view.
   *
   * @example
   * ```ts
   * const channel = await store.watch?.({ invalidate: (id) => cache.delete(id), reset: () => cache.clear() });
   * if (channel?.live) { ...answer from the cache... }
   * ```
   */
  readonly watch?: (listener: InvalidationListener) => Promise<InvalidationChannel>;
  /**
   * {@link SessionStore.insertWithLimit}: one Lua script over every bucket of
   * the subject, so counting, evicting and inserting are one atomic step for
   * the whole fleet. Present on a standalone (or Sentinel) server, over an
   * ioredis or a node-redis client: `undefined` on a Redis Cluster or with
   * `clusterMode`, where a subject's records span slots no script can change
   * at once, so core refuses `sessionLimit` with `ConfigInvalid` instead of
   * holding a limit it cannot keep (see the README's "Session limits").
   *
   * Seats are kept by every write: a seat's place is the Redis server's
   * `TIME` when it was taken (one clock for the fleet; a limited insert
   * never sorts before the subject's latest seat). Records written before
   * seats existed (or by an older release) hold no seat, since they may be
   * forwarders: never counted nor evicted, until their next `rotate` seats
   * the successor, last. The script reads only seated records, so a
   * subject's forwarders cost it nothing.
   *
   * @example
   * ```ts
   * const r = await store.insertWithLimit?.(record, { max: 5, evict: 'oldest' });
   * if (r?.inserted) console.log('evicted', r.evicted.length);
   * ```
   */
  readonly insertWithLimit?: (record: SessionRecord, limit: SubjectLimit) => Promise<LimitedInsert>;
}

/**
 * Create a session store over an ioredis `Redis` or `Cluster` client (or a
 * node-redis v5 standalone client).
 *
 * - Atomic: insert, replace, rotate, delete and the subject operations are
 *   Lua scripts (EVALSHA, falling back to EVAL after a server restart).
 *   Records live in 256 buckets, one cluster slot each, so a record and its
 *   indexes always share a slot; a cluster rotate whose two ids fall in
 *   different slots is a two-phase commit (see the README).
 * - `insertWithLimit` (core's `sessionLimit`) on a standalone server only:
 *   one script over every bucket of the subject; `undefined` on a cluster.
 * - `get` is one GET. Records carry a Redis TTL and their `expiresAt`; a
 *   record is dead from `clock() >= expiresAt` whatever Redis's expiry says.
 * - Bounded: every operation rejects with `StoreUnavailable` after
 *   `commandTimeoutMs`; at most `maxInFlight` commands wait for Redis, and
 *   after a timeout the store sends nothing to that node (calls fail fast)
 *   until a PING is answered. When Redis comes back the same store works again.
 * - With `replication`, revocations (or all writes) wait for replicas and
 *   throw `StoreUnavailable` when too few acknowledge in time.
 * - Malformed data under the prefix makes reads throw `StoreDataInvalid`
 *   (never a crash, never its bytes in the message); `delete` removes it.
 * - An id or subject that is not 43 characters of `[A-Za-z0-9_-]` reads as
 *   missing: `get` → null, `delete` → false, `deleteBySubject` → 0,
 *   `listBySubject` → []; `insert`, `replace` and `rotate` throw
 *   `InvalidArgument`. After `close()` every call throws `Closed`.
 *
 * @throws ConfigInvalid for invalid options.
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createRedisStore } from '@cloakroom/store-redis';
 *
 * const client = new Redis('rediss://cloakroom:secret@redis.internal:6380');
 * const store = createRedisStore({ client, prefix: 'myapp:sessions:' });
 * // ...hand it to createCloakroom({ store, ... })
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const resolved = resolveOptions(options);
  const conn = connect(resolved, 'redis store');
  const keys = keyLayout(resolved.prefix);
  const ctx: StoreContext = { conn, keys };
  const replicas = replicator(conn, resolved.replication);
  const subjectKeys = (subject: string): string[] =>
    Array.from({ length: BUCKETS }, (_, b) => keys.subjectIndexKey(b, subject));

  /** The arguments `insert` and `insertWithLimit` share: expiry, id, bucket base, subject, the encoded record. */
  const insertArgs = (record: SessionRecord): (string | Buffer)[] => [
    String(record.expiresAt),
    record.id,
    keys.bucketBase(bucketOf(record.id)),
    record.subject,
    encodeRecord(record),
  ];

  /**
   * A subject operation's script over every bucket: on a cluster, one call
   * per bucket naming its index key; on a standalone server, one call of
   * the `all` shape, which builds the 256 index keys itself (lua-bucket-scripts.ts).
   */
  const perBucket = async (
    op: Op,
    subject: string,
    perKey: Script,
    all: Script,
  ): Promise<unknown[]> => {
    const now = String(conn.now());
    if (!conn.isCluster) {
      return [
        await op.script(all, [keys.subjectIndexKey(0, subject)], [now, subject, resolved.prefix]),
      ];
    }
    return Promise.all(subjectKeys(subject).map((key) => op.script(perKey, [key], [now, subject])));
  };
  /** The keys whose masters a subject operation wrote on: every bucket's on a cluster, the one server's otherwise. */
  const subjectWriteKeys = (subject: string): string[] =>
    conn.isCluster ? subjectKeys(subject) : [keys.subjectIndexKey(0, subject)];

  // Fetched once per store instance; a failed fetch is retried by the next scan.
  let cursorKey: Uint8Array | undefined;
  const cursorKeyOf = async (op: Op): Promise<Uint8Array> => {
    if (cursorKey !== undefined) return cursorKey;
    const value = await op.script(
      SCRIPTS.cursorKey,
      [keys.cursorKey()],
      [randomBytes(32).toString('base64url')],
    );
    if (!Buffer.isBuffer(value) || value.length < 32)
      throw malformed('the scan cursor key is malformed');
    cursorKey = new Uint8Array(value);
    return cursorKey;
  };

  // One script over every bucket of the subject: standalone only (see RedisStore.insertWithLimit).
  const insertWithLimit = async (
    record: SessionRecord,
    limit: SubjectLimit,
  ): Promise<LimitedInsert> => {
    conn.assertOpen();
    assertSessionRecord(record);
    assertSubjectLimit(limit);
    const key = keys.recordKey(record.id);
    // Encoded (the payload copied) now, before the first await.
    const args = [...insertArgs(record), String(limit.max), limit.evict, resolved.prefix];
    const reply = await conn.run(async (op) => {
      // One key: the script builds the subject's index key of every bucket itself.
      const r = await op.script(SCRIPTS.insertLimit, [key], [String(conn.now()), ...args]);
      // Evicting is revoking; a bare insert is a write. An answer that
      // changed nothing may be the retry of one that did: wait as for a revocation.
      const plain = Array.isArray(r) && r[0] === 1 && r.length === 1;
      await replicas.after(op, plain ? 'write' : 'revocation', [key]);
      return r;
    }, replicas.extraMs('revocation'));
    if (!Array.isArray(reply)) throw malformed('unexpected script reply');
    const [code, ...ids] = reply as unknown[];
    if (code === 0) throw new StoreConflict('a live record with this id already exists');
    if (code === 2) return { inserted: false };
    if (code !== 1) throw malformed('unexpected script reply');
    const evicted = ids.map((id) => {
      if (!Buffer.isBuffer(id)) throw malformed('unexpected script reply');
      return id.toString('utf8');
    });
    return { inserted: true, evicted };
  };

  // Channels opened by watch, closed with the store.
  const channels = new Set<InvalidationChannel & { readonly closed: boolean }>();
  const watch = async (listener: InvalidationListener): Promise<InvalidationChannel> => {
    conn.assertOpen();
    if (
      typeof listener !== 'object' ||
      listener === null ||
      typeof listener.invalidate !== 'function' ||
      typeof listener.reset !== 'function'
    ) {
      throw new InvalidArgument('watch needs a listener { invalidate(id), reset() }');
    }
    for (const c of channels) if (c.closed) channels.delete(c);
    const channel = await openChannel(
      {
        conn,
        keys,
        prefix: resolved.prefix,
        subscriber: createSubscriberClient(resolved.url ?? (conn.client as Redis)),
        probe: resolved.invalidation,
        label: conn.label,
      },
      listener,
    );
    channels.add(channel);
    // The store closed while the channel was opening.
    if (!conn.isOpen) await channel.close();
    return channel;
  };

  return {
    name: 'redis',
    capabilities: Object.freeze({ nativeExpiry: true, shared: true }),
    // No channel on a cluster (see RedisStore.watch) nor on a node-redis client.
    ...(conn.isCluster || resolved.nodeRedis ? {} : { watch }),
    // No limit on a cluster: a subject's records span slots (see RedisStore.insertWithLimit).
    ...(conn.isCluster || conn.client.isCluster ? {} : { insertWithLimit }),

    async insert(record: SessionRecord): Promise<void> {
      conn.assertOpen();
      assertSessionRecord(record);
      const key = keys.recordKey(record.id);
      // Encoded (the payload copied) now, before the first await.
      const args = insertArgs(record);
      const inserted = await conn.run(async (op) => {
        const r = await op.script(SCRIPTS.insert, [key], [String(conn.now()), ...args]);
        if (r === 1) await replicas.after(op, 'write', [key]);
        return r;
      }, replicas.extraMs('write'));
      if (inserted !== 1) throw new StoreConflict('a live record with this id already exists');
    },

    async get(id: string): Promise<SessionRecord | null> {
      conn.assertOpen();
      if (!isStoreKey(id)) return null;
      const value = await conn.getBuffer(keys.recordKey(id));
      if (value === null) return null;
      const stored = decodeOrThrow(value);
      // A successor of an unfinished cluster rotate (rare): settled as an operation of its own.
      const pending = stored.pending;
      if (pending !== undefined) return conn.run((op) => settlePending(ctx, op, id, pending));
      return liveRecord(id, stored, conn.now());
    },

    async replace(record: SessionRecord, expectedVersion: number): Promise<boolean> {
      conn.assertOpen();
      assertSessionRecord(record);
      assertRecordVersion(expectedVersion, 'expectedVersion');
      const key = keys.recordKey(record.id);
      const args = [
        String(expectedVersion),
        String(record.expiresAt),
        record.id,
        keys.bucketBase(bucketOf(record.id)),
        record.subject,
        encodeRecord(record),
      ];
      const written = await conn.run(async (op) => {
        const r = await op.script(SCRIPTS.replace, [key], [String(conn.now()), ...args]);
        // 2: it shortened the record's life or moved it to another subject.
        // 0: nothing written, but this may be the retry of one that was
        // (then its replication is what the caller is waiting for).
        await replicas.after(op, r === 1 ? 'write' : 'revocation', [key]);
        return r;
      }, replicas.extraMs('revocation'));
      return written === 1 || written === 2;
    },

    async rotate(old, next): Promise<boolean> {
      conn.assertOpen();
      if (typeof old !== 'object' || old === null) {
        throw new InvalidArgument('old must be { record, expectedVersion }');
      }
      assertSessionRecord(old.record, 'old.record');
      assertRecordVersion(old.expectedVersion, 'old.expectedVersion');
      assertSessionRecord(next, 'next');
      const { record: oldRecord, expectedVersion } = old;
      return conn.run(async (op) => {
        // rotate() encodes both records (copying the payloads) before its first await.
        const rotated = await rotate(ctx, op, oldRecord, expectedVersion, next);
        // The old ticket became a tombstone: a revocation, also when this
        // answers false as the retry of a rotate that went through.
        await replicas.after(op, 'revocation', [
          keys.recordKey(oldRecord.id),
          keys.recordKey(next.id),
        ]);
        return rotated;
      }, replicas.extraMs('revocation'));
    },

    async delete(id: string): Promise<boolean> {
      conn.assertOpen();
      if (!isStoreKey(id)) return false;
      const key = keys.recordKey(id);
      const deleted = await conn.run(async (op) => {
        const r = await op.script(
          SCRIPTS.delete,
          [key],
          [String(conn.now()), id, keys.bucketBase(bucketOf(id))],
        );
        // Also when nothing was deleted: a retried delete must still be replicated.
        await replicas.after(op, 'revocation', [key]);
        return r;
      }, replicas.extraMs('revocation'));
      return deleted === 1;
    },

    async deleteBySubject(subject: string): Promise<number> {
      conn.assertOpen();
      if (!isStoreKey(subject)) return 0;
      const counts = await conn.run(async (op) => {
        const all = await perBucket(op, subject, SCRIPTS.deleteSubject, SCRIPTS.deleteSubjectAll);
        await replicas.after(op, 'revocation', subjectWriteKeys(subject));
        return all;
      }, replicas.extraMs('revocation'));
      return counts.reduce<number>((sum, n) => sum + Number(n), 0);
    },

    async listBySubject(subject: string): Promise<SessionRecord[]> {
      conn.assertOpen();
      if (!isStoreKey(subject)) return [];
      return conn.run(async (op) => {
        const replies = await perBucket(op, subject, SCRIPTS.listSubject, SCRIPTS.listSubjectAll);
        const now = conn.now();
        const out: SessionRecord[] = [];
        for (const reply of replies) {
          if (!Array.isArray(reply) || reply[0] !== 0) throw malformed();
          out.push(...pairsToRecords(reply, 1, now));
        }
        return out;
      });
    },

    async scan(scanOptions: ScanOptions): Promise<ScanPage> {
      conn.assertOpen();
      if (typeof scanOptions !== 'object' || scanOptions === null) {
        throw new InvalidArgument('scan options must be { cursor?, limit }');
      }
      const { cursor, limit } = scanOptions;
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new InvalidArgument('scan limit must be a positive integer');
      }
      if (cursor !== undefined && typeof cursor !== 'string') {
        throw new InvalidArgument('scan cursor is not one this store returned');
      }
      return conn.run(async (op) => {
        const key = await cursorKeyOf(op);
        const from: ScanPosition =
          cursor === undefined ? { bucket: 0 } : decodeCursor(key, cursor, BUCKETS);
        const page = await scanPage(ctx, op, from, limit);
        return page.next === undefined
          ? { records: page.records }
          : { records: page.records, cursor: encodeCursor(key, page.next) };
      });
    },

    async close(): Promise<void> {
      await Promise.all([...channels].map((c) => c.close()));
      channels.clear();
      await conn.close();
    },
  };
}
