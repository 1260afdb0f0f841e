import {
  assertKeySetName,
  assertKeySetWrite,
  type KeySetEntry,
  type KeySetStore,
} from '@cloakroom/core';

/**
 * A {@link KeySetStore} in this process's memory: one sealed key-set
 * document per name, written by compare-and-swap.
 *
 * Versions start at 1 and each successful write stores
 * `(expectedVersion ?? 0) + 1`. Documents are copied on write and on read,
 * so neither side can change the other's bytes. Not shared between
 * processes: a fleet needs the Redis or PostgreSQL key-set store.
 *
 * @throws InvalidArgument (from `read`/`write`) for a name outside
 *   `/^[A-Za-z0-9._-]{1,64}$/`, a document that is not a `Uint8Array`, or an
 *   `expectedVersion` that is neither `null` nor a positive integer.
 * @example
 * ```ts
 * import { createMemoryKeySetStore } from '@cloakroom/store-memory';
 *
 * const keySets = createMemoryKeySetStore();
 * await keySets.write('default', sealedDocument, null); // true: created, version 1
 * const entry = await keySets.read('default');         // { version: 1, document }
 * ```
 */
export function createMemoryKeySetStore(): KeySetStore {
  const documents = new Map<string, { version: number; document: Uint8Array }>();

  return {
    name: 'memory',

    async read(name: string): Promise<KeySetEntry | null> {
      assertKeySetName(name);
      const stored = documents.get(name);
      if (stored === undefined) return null;
      return { version: stored.version, document: stored.document.slice() };
    },

    async write(
      name: string,
      document: Uint8Array,
      expectedVersion: number | null,
    ): Promise<boolean> {
      assertKeySetName(name);
      assertKeySetWrite(document, expectedVersion);
      const stored = documents.get(name);
      const current = stored === undefined ? null : stored.version;
      if (current !== expectedVersion) return false;
      documents.set(name, {
        version: (expectedVersion ?? 0) + 1,
        // A plain Uint8Array copy, whatever subclass (e.g. Buffer) came in.
        document: new Uint8Array(document),
      });
      return true;
    },
  };
}
