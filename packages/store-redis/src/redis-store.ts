import {
  InvalidArgument,
  StoreConflict,
  StoreDataInvalid,
  type ScanOptions,
  type ScanPage,
  type SessionRecord,
  type SessionStore,
} from '@cloakroom/core';
import { connect } from './connection';
import { BUCKETS, bucketOf, keyLayout } from './key-layout';
import { type RedisStoreOptions, resolveOptions } from './options';
import { encodeRecord } from './record-codec';
import { type StoreContext, pairsToRecords, readRecord } from './records';
import { rotate } from './rotate';
import { scanPage } from './scan';
import { SCRIPTS } from './scripts';
import { assertKey, assertRecord, assertVersion } from './validate';

/** A {@link SessionStore} over Redis or Redis Cluster. */
export interface RedisStore extends SessionStore {
  readonly name: 'redis';
  readonly capabilities: { readonly nativeExpiry: true; readonly shared: true };
}

/**
 * Create a session store over an ioredis `Redis` or `Cluster` client.
 *
 * - Atomic: insert, replace, rotate, delete and the subject operations are
 *   Lua scripts (EVALSHA, falling back to EVAL after a server restart).
 *   Records live in 256 buckets, one cluster slot each, so a record and its
 *   indexes always share a slot; a cluster rotate whose two ids fall in
 *   different slots is a two-phase commit (see the README).
 * - `get` is one GET. Records carry a Redis TTL and their `expiresAt`; a
 *   record is dead from `clock() >= expiresAt` whatever Redis's expiry says.
 * - Bounded: every operation rejects with `StoreUnavailable` after
 *   `commandTimeoutMs`; when Redis comes back the client reconnects and the
 *   same store works again.
 * - Malformed data under the prefix makes reads throw `StoreDataInvalid`
 *   (never a crash, never its bytes in the message); `delete` removes it.
 * - Validates input (`InvalidArgument`); after `close()` every call throws `Closed`.
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
  const subjectKeys = (subject: string): string[] =>
    Array.from({ length: BUCKETS }, (_, b) => keys.subjectIndexKey(b, subject));

  // A cluster runs one script per bucket (one slot each); a standalone server one for all.
  const perBucket = async (
    subject: string,
    run: (indexKeys: string[]) => Promise<unknown>,
  ): Promise<unknown[]> => {
    const all = subjectKeys(subject);
    return conn.isCluster ? Promise.all(all.map((key) => run([key]))) : [await run(all)];
  };

  return {
    name: 'redis',
    capabilities: Object.freeze({ nativeExpiry: true, shared: true }),

    async insert(record: SessionRecord): Promise<void> {
      conn.assertOpen();
      assertRecord(record);
      const base = keys.bucketBase(bucketOf(record.id));
      const inserted = await conn.run(() =>
        conn.script(
          SCRIPTS.insert,
          [keys.recordKey(record.id)],
          [
            String(conn.now()),
            String(record.expiresAt),
            record.id,
            base,
            record.subject,
            encodeRecord(record),
          ],
        ),
      );
      if (inserted !== 1) throw new StoreConflict('a live record with this id already exists');
    },

    async get(id: string): Promise<SessionRecord | null> {
      conn.assertOpen();
      assertKey(id, 'id');
      return conn.run(() =>
        conn.client.getBuffer(keys.recordKey(id)).then((value) => readRecord(ctx, id, value)),
      );
    },

    async replace(record: SessionRecord, expectedVersion: number): Promise<boolean> {
      conn.assertOpen();
      assertRecord(record);
      assertVersion(expectedVersion, 'expectedVersion');
      const written = await conn.run(() =>
        conn.script(
          SCRIPTS.replace,
          [keys.recordKey(record.id)],
          [
            String(conn.now()),
            String(expectedVersion),
            String(record.expiresAt),
            record.id,
            keys.bucketBase(bucketOf(record.id)),
            record.subject,
            encodeRecord(record),
          ],
        ),
      );
      return written === 1;
    },

    async rotate(old, next): Promise<boolean> {
      conn.assertOpen();
      if (typeof old !== 'object' || old === null) {
        throw new InvalidArgument('old must be { record, expectedVersion }');
      }
      assertRecord(old.record, 'old.record');
      assertVersion(old.expectedVersion, 'old.expectedVersion');
      assertRecord(next, 'next');
      return rotate(ctx, old.record, old.expectedVersion, next);
    },

    async delete(id: string): Promise<boolean> {
      conn.assertOpen();
      assertKey(id, 'id');
      const deleted = await conn.run(() =>
        conn.script(
          SCRIPTS.delete,
          [keys.recordKey(id)],
          [String(conn.now()), id, keys.bucketBase(bucketOf(id))],
        ),
      );
      return deleted === 1;
    },

    async deleteBySubject(subject: string): Promise<number> {
      conn.assertOpen();
      assertKey(subject, 'subject');
      const counts = await conn.run(() =>
        perBucket(subject, (indexKeys) =>
          conn.script(SCRIPTS.deleteSubject, indexKeys, [String(conn.now()), subject]),
        ),
      );
      return counts.reduce<number>((sum, n) => sum + Number(n), 0);
    },

    async listBySubject(subject: string): Promise<SessionRecord[]> {
      conn.assertOpen();
      assertKey(subject, 'subject');
      return conn.run(async () => {
        const replies = await perBucket(subject, (indexKeys) =>
          conn.script(SCRIPTS.listSubject, indexKeys, [String(conn.now()), subject]),
        );
        const now = conn.now();
        const out: SessionRecord[] = [];
        for (const reply of replies) {
          if (!Array.isArray(reply) || reply[0] !== 0) {
            throw new StoreDataInvalid('redis store: a record value under the prefix is malformed');
          }
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
      return scanPage(ctx, cursor, limit);
    },

    async close(): Promise<void> {
      await conn.close();
    },
  };
}
