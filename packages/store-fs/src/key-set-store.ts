import { join } from 'node:path';
import type { KeySetEntry, KeySetStore } from '@cloakroom/core';
import {
  assertKeySetName,
  assertKeySetWrite,
  Closed,
  decodeKeySetEntry,
  encodeKeySetEntry,
  InvalidArgument,
} from '@cloakroom/core';
import { corruptKeySet, isMissing, unavailable } from './errors';
import { writeFileAtomic } from './fs/atomic-write';
import { acquireLock } from './fs/file-lock';
import { type Io, nodeIo } from './fs/io';
import { prepareRoot } from './fs/root';
import { type FsKeySetStoreOptions, resolveCommon } from './options';

/** Largest key-set document accepted (a key set is a few KiB). */
const MAX_DOCUMENT = 1024 * 1024;

/**
 * A {@link KeySetStore} over a directory: one checksummed file per name under
 * `<dir>/k/` (core's key-set entry layout), written atomically,
 * compare-and-swap under a per-name lock file so every process sharing the
 * directory agrees on one version sequence. May share its `dir` with
 * {@link createFsStore}.
 *
 * A name that does not match `/^[A-Za-z0-9._-]{1,64}$/` is rejected with
 * `InvalidArgument`, as on every store; a corrupt file with
 * `StoreDataInvalid` (from `read`, and from `write`, which never silently
 * resets it). After `close()`, `read` and `write` reject with `Closed`.
 *
 * @throws ConfigInvalid when `dir` is unsafe (see the session store).
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
  let closed = false;

  function open(): void {
    if (closed) throw new Closed('fs key-set store: closed');
  }

  async function load(name: string): Promise<KeySetEntry | null> {
    let bytes: Uint8Array;
    try {
      bytes = await io.readFile(pathOf(name));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    const entry = decodeKeySetEntry(bytes);
    if (entry === undefined) throw corruptKeySet(name);
    return entry;
  }

  return {
    name: 'fs',

    async read(name) {
      open();
      assertKeySetName(name);
      try {
        return await load(name);
      } catch (err) {
        throw unavailable('key-set read', err);
      }
    },

    async write(name, document, expectedVersion) {
      open();
      assertKeySetName(name);
      assertKeySetWrite(document, expectedVersion);
      if (document.byteLength > MAX_DOCUMENT)
        throw new InvalidArgument('fs key-set store: document over 1 MiB');
      // Copied before the first await: bytes the caller changes afterwards never reach the disk.
      const pending = { document: new Uint8Array(document), expectedVersion };
      let release: (() => Promise<void>) | undefined;
      try {
        release = await acquireLock(io, join(dir, `${name}.lock`), common.lock);
        const current = await load(name);
        if ((current?.version ?? null) !== pending.expectedVersion) return false;
        const version = (pending.expectedVersion ?? 0) + 1;
        await writeFileAtomic(
          io,
          dir,
          pathOf(name),
          encodeKeySetEntry({ version, document: pending.document }),
          common.durable,
        );
        return true;
      } catch (err) {
        throw unavailable('key-set write', err);
      } finally {
        await release?.();
      }
    },

    async close() {
      closed = true;
    },
  };
}
