import {
  type KeySetEntry,
  type KeySetStore,
  assertKeySetName,
  assertKeySetWrite,
  decodeKeySetEntry,
  encodeKeySetEntry,
} from '@cloakroom/core';
import { malformed } from './errors';
import { type RedisStoreOptions, resolveOptions } from './options';
import { connect } from './redis/connection';
import { keyLayout } from './redis/key-layout';
import { replicator } from './redis/replication';
import { SCRIPTS } from './redis/scripts';

/** A {@link KeySetStore} over Redis, with `close()` for a client it created from `url`. */
export interface RedisKeySetStore extends KeySetStore {
  readonly name: 'redis';
  /** Close the client if the store created it (`url`); never a client passed in. Idempotent. */
  close(): Promise<void>;
}

/**
 * Create a key-set store over Redis: one key per name,
 * `<prefix>keyset:<name>`, holding core's key-set entry (version, sealed
 * document, SHA-256 integrity digest), written by compare-and-swap in a Lua
 * script. Same options and failure behaviour as {@link createRedisStore};
 * key sets have no expiry. A value that fails its digest reads as
 * `StoreDataInvalid`, and a write over it is refused the same way. With
 * `replication`, every write waits for the replicas (whatever `writes`
 * says): a key set lost in a failover would take back a rotation.
 *
 * @throws ConfigInvalid for invalid options; `InvalidArgument` (from
 *   `read`/`write`) for a name outside `/^[A-Za-z0-9._-]{1,64}$/`, a
 *   document that is not a `Uint8Array`, or a bad `expectedVersion`;
 *   `Closed` after `close()`.
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createRedisKeySetStore } from '@cloakroom/store-redis';
 *
 * const keySets = createRedisKeySetStore({ client: new Redis() });
 * const entry = await keySets.read('default'); // null when absent
 * await keySets.write('default', sealedDocument, entry?.version ?? null);
 * ```
 */
export function createRedisKeySetStore(options: RedisStoreOptions): RedisKeySetStore {
  const resolved = resolveOptions(options);
  const conn = connect(resolved, 'redis key-set store');
  const keys = keyLayout(resolved.prefix);
  const replicas = replicator(conn, resolved.replication);

  return {
    name: 'redis',

    async read(name: string): Promise<KeySetEntry | null> {
      conn.assertOpen();
      assertKeySetName(name);
      const key = keys.keySetKey(name);
      const value = await conn.run((op) => op.getBuffer(key));
      if (value === null) return null;
      const entry = decodeKeySetEntry(value);
      if (entry === undefined) throw malformed('the stored key set is malformed');
      return entry;
    },

    async write(
      name: string,
      document: Uint8Array,
      expectedVersion: number | null,
    ): Promise<boolean> {
      conn.assertOpen();
      assertKeySetName(name);
      assertKeySetWrite(document, expectedVersion);
      const key = keys.keySetKey(name);
      // Encoded (the document copied) now, before the first await.
      const value = encodeKeySetEntry({ version: (expectedVersion ?? 0) + 1, document });
      const written = await conn.run(async (op) => {
        const r = await op.script(
          SCRIPTS.keySetWrite,
          [key],
          [
            expectedVersion === null ? '' : String(expectedVersion),
            Buffer.from(value.buffer, value.byteOffset, value.byteLength),
          ],
        );
        // A key set lost in a failover takes back a rotation whose new key
        // may already have sealed sessions: covered like a revocation, and
        // also when nothing was written (the retry of one that was).
        await replicas.after(op, 'revocation', [key]);
        return r;
      }, replicas.extraMs('revocation'));
      return written === 1;
    },

    async close(): Promise<void> {
      await conn.close();
    },
  };
}
