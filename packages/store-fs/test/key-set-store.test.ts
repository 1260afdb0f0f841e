import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgument, StoreDataInvalid } from '@cloakroom/core';
import { createFsKeySetStore, createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { fakeClock, rec, tempDir } from './helpers';

describe('fs key-set store', () => {
  it('compare-and-swap: create-only, then versions counting up; stale writes change nothing', async () => {
    const dir = await tempDir();
    const keySets = createFsKeySetStore({ dir });
    expect(await keySets.read('default')).toBeNull();
    expect(await keySets.write('default', Uint8Array.of(1), null)).toBe(true);
    expect(await keySets.write('default', Uint8Array.of(2), null)).toBe(false);
    expect(await keySets.write('default', Uint8Array.of(2), 1)).toBe(true);
    expect(await keySets.write('default', Uint8Array.of(3), 1)).toBe(false);
    expect(await keySets.read('default')).toEqual({ version: 2, document: Uint8Array.of(2) });
    await expect(keySets.write('default', Uint8Array.of(3), 0)).rejects.toBeInstanceOf(
      InvalidArgument,
    );
  });

  it('shares a root with the session store without either seeing the other', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock });
    const keySets = createFsKeySetStore({ dir });
    await keySets.write('default', Uint8Array.of(1), null);
    const r = rec(clock);
    await store.insert(r);
    expect((await store.scan({ limit: 10 })).records).toEqual([r]);
    expect(await store.sweep(clock.now + 120_000)).toBe(1);
    expect((await keySets.read('default'))?.version).toBe(1);
  });

  it('a corrupt key-set file gives StoreDataInvalid on read and blocks writes (never silently reset)', async () => {
    const dir = await tempDir();
    const keySets = createFsKeySetStore({ dir });
    await keySets.write('default', new Uint8Array(100).fill(5), null);
    const path = join(dir, 'k', 'default.ks');
    const bytes = await readFile(path);
    bytes[40]! ^= 1;
    await writeFile(path, bytes);
    await expect(keySets.read('default')).rejects.toBeInstanceOf(StoreDataInvalid);
    await expect(keySets.write('default', Uint8Array.of(1), null)).rejects.toBeInstanceOf(
      StoreDataInvalid,
    );
  });
});
