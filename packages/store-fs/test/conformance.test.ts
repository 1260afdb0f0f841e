import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeKeySetStore, describeSessionStore } from '@cloakroom/conformance';
import { createFsKeySetStore, createFsStore, type FsStore } from '@cloakroom/store-fs';

let t = 1_700_000_000_000;
const fresh = (): string => mkdtempSync(join(tmpdir(), 'cloakroom-fs-conf-'));
const dirOf = (store: object): string => (store as FsStore).dir;
const keySetDirs = new WeakMap<object, string>();

describeSessionStore('fs', () => createFsStore({ dir: fresh(), clock: () => t }), {
  now: () => t,
  advanceTime: (ms) => {
    t += ms;
  },
  cleanup: (store) => rm(dirOf(store), { recursive: true, force: true }),
  // SEC-02 at rest: every file under the store's directory, read directly, names included.
  inspect: async (store) => {
    const { readdir } = await import('node:fs/promises');
    const entries = await readdir(dirOf(store), { recursive: true, withFileTypes: true });
    const dump: (string | Uint8Array)[] = [];
    for (const e of entries) {
      dump.push(join(e.parentPath, e.name));
      if (e.isFile()) dump.push(new Uint8Array(await readFile(join(e.parentPath, e.name))));
    }
    return dump;
  },
  // The file-system analogue of an unreachable server: the store's directory is deleted (or unmounted).
  unreachable: async () => {
    const dir = fresh();
    const store = createFsStore({ dir });
    await rm(dir, { recursive: true, force: true });
    return store;
  },
});

describeKeySetStore(
  'fs',
  () => {
    const dir = fresh();
    const keySets = createFsKeySetStore({ dir, durability: 'none' });
    keySetDirs.set(keySets, dir);
    return keySets;
  },
  { cleanup: (keySets) => rm(keySetDirs.get(keySets)!, { recursive: true, force: true }) },
);
