import {
  InvalidArgument,
  StoreDataInvalid,
  type KeySetEntry,
  type KeySetStore,
} from '@cloakroom/core';
import { connect } from './connection';
import { keyLayout } from './key-layout';
import { type RedisStoreOptions, resolveOptions } from './options';
import { decodeKeySet, encodeKeySet } from './record-codec';
import { SCRIPTS } from './scripts';
import { isUint8Array } from './validate';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A {@link KeySetStore} over Redis, with `close()` for a client it created from `url`. */
export interface RedisKeySetStore extends KeySetStore {
  readonly name: 'redis';
  /** Close the client if the store created it (`url`); never a client passed in. Idempotent. */
  close(): Promise<void>;
}

/**
 * Create a key-set store over Redis: one key per name,
 * `<prefix>keyset:<name>`, written by compare-and-swap in a Lua script.
 * Same options and failure behaviour as {@link createRedisStore}; key sets
 * have no expiry.
 *
 * @throws ConfigInvalid for invalid options; `InvalidArgument` (from
 *   `read`/`write`) for a name outside `/^[A-Za-z0-9._-]{1,64}$/`, a
 *   document that is not a `Uint8Array`, or a bad `expectedVersion`.
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
  const assertName = (name: unknown): void => {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new InvalidArgument('key set name must match /^[A-Za-z0-9._-]{1,64}$/');
    }
  };

  return {
    name: 'redis',

    async read(name: string): Promise<KeySetEntry | null> {
      conn.assertOpen();
      assertName(name);
      const value = await conn.run(() => conn.client.getBuffer(keys.keySetKey(name)));
      if (value === null) return null;
      const entry = decodeKeySet(value);
      if (entry === undefined) {
        throw new StoreDataInvalid('redis key-set store: the stored key set is malformed');
      }
      return entry;
    },

    async write(
      name: string,
      document: Uint8Array,
      expectedVersion: number | null,
    ): Promise<boolean> {
      conn.assertOpen();
      assertName(name);
      if (!isUint8Array(document)) {
        throw new InvalidArgument('key set document must be a Uint8Array');
      }
      if (
        expectedVersion !== null &&
        (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1)
      ) {
        throw new InvalidArgument('expectedVersion must be null or a positive integer');
      }
      const written = await conn.run(() =>
        conn.script(
          SCRIPTS.keySetWrite,
          [keys.keySetKey(name)],
          [
            expectedVersion === null ? '' : String(expectedVersion),
            encodeKeySet((expectedVersion ?? 0) + 1, document),
          ],
        ),
      );
      return written === 1;
    },

    async close(): Promise<void> {
      await conn.close();
    },
  };
}
