import { join } from 'node:path';
import type { KeySetEntry, KeySetStore } from '@cloakroom/core';
import { ConfigInvalid, InvalidArgument, StoreDataInvalid } from '@cloakroom/core';
import { writeFileAtomic } from './atomic-write';
import { acquireLock } from './file-lock';
import { type Io, isMissing, nodeIo, unavailable } from './io';
import { decodeKeySet, encodeKeySet } from './key-set-codec';
import { isKeySetName } from './layout';
import { type FsCommonOptions, resolveCommon } from './options';
import { prepareRoot } from './root';

/**
 * Options for {@link createFsKeySetStore}: the common ones (`dir`,
 * `durability`, `lockTimeoutMs`, `staleLockMs`).
 *
 * @example
 * ```ts
 * const keySets = createFsKeySetStore({ dir: '/var/lib/myapp/cloakroom' });
 * ```
 */
export interface FsKeySetStoreOptions extends FsCommonOptions {}

/** Largest key-set document accepted (a key set is a few KiB). */
const MAX_DOCUMENT = 1024 * 1024;

/**
 * A {@link KeySetStore} over a directory: one checksummed file per name under
 * `<dir>/k/`, written atomically, compare-and-swap under a per-name lock file
 * so every process sharing the directory agrees on one version sequence.
 * May share its `dir` with {@link createFsStore}.
 *
 * @throws ConfigInvalid when `dir` is unsafe (see the session store), and
 *   from `read`/`write` when a name does not match `/^[A-Za-z0-9._-]{1,64}$/`.
 * @example
 * ```ts
 * import { createFsKeySetStore } from '@cloakroom/store-fs';
 * const keySets = createFsKeySetStore({ dir: '/var/lib/myapp/sessions' });
 * const entry = await keySets.read('default');
 * await keySets.write('default', sealedDocument, entry?.version ?? null);
 * ```
 */
export function createFsKeySetStore(options: FsKeySetStoreOptions): KeySetStore {
  return createFsKeySetStoreWithIo(options, nodeIo);
}

/** Internal: the key-set store over an injectable file system. */
export function createFsKeySetStoreWithIo(options: FsKeySetStoreOptions, io: Io): KeySetStore {
  const common = resolveCommon(options);
  const dir = join(prepareRoot(common.dir, ['k']).root, 'k');
  // The `.ks` / `.lock` suffixes keep every name (even "." or "..") a plain file inside `dir`.
  const pathOf = (name: string): string => join(dir, `${name}.ks`);

  function checkName(name: string): void {
    if (!isKeySetName(name)) {
      throw new ConfigInvalid('fs key-set store: names must match /^[A-Za-z0-9._-]{1,64}$/');
    }
  }

  async function load(name: string): Promise<KeySetEntry | null> {
    let bytes: Uint8Array;
    try {
      bytes = await io.readFile(pathOf(name));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    const entry = decodeKeySet(bytes);
    if (entry === undefined) {
      throw new StoreDataInvalid(`fs key-set store: file for key set "${name}" is corrupt`);
    }
    return entry;
  }

  return {
    name: 'fs',

    async read(name) {
      checkName(name);
      try {
        return await load(name);
      } catch (err) {
        throw unavailable('key-set read', err);
      }
    },

    async write(name, document, expectedVersion) {
      checkName(name);
      if (!(document instanceof Uint8Array))
        throw new InvalidArgument('fs key-set store: document must be a Uint8Array');
      if (document.byteLength > MAX_DOCUMENT)
        throw new InvalidArgument('fs key-set store: document over 1 MiB');
      if (
        expectedVersion !== null &&
        (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1)
      ) {
        throw new InvalidArgument(
          'fs key-set store: expectedVersion must be null or a positive integer',
        );
      }
      let release: (() => Promise<void>) | undefined;
      try {
        release = await acquireLock(io, join(dir, `${name}.lock`), common.lock);
        const current = await load(name);
        if ((current?.version ?? null) !== expectedVersion) return false;
        const version = (expectedVersion ?? 0) + 1;
        await writeFileAtomic(
          io,
          dir,
          pathOf(name),
          encodeKeySet({ version, document }),
          common.durable,
        );
        return true;
      } catch (err) {
        throw unavailable('key-set write', err);
      } finally {
        await release?.();
      }
    },
  };
}
