import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Closed, InvalidArgument, StoreDataInvalid } from '@cloakroom/core';
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

  it('reads a key-set file written by earlier versions of this store (the layout moved to core unchanged)', async () => {
    // Bytes the store's own codec wrote before it moved to core: version 7, "sealed-key-set-doc".
    const earlier =
      '43524b5301401c000000000000000000127365616c65642d6b65792d7365742d646f6338074d55ef' +
      '4483bff625d55184935a931aa7562e116d9557574a8b781572e839';
    const dir = await tempDir();
    await mkdir(join(dir, 'k'), { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'k', 'default.ks'), Buffer.from(earlier, 'hex'), { mode: 0o600 });
    const keySets = createFsKeySetStore({ dir });
    expect(await keySets.read('default')).toEqual({
      version: 7,
      document: new TextEncoder().encode('sealed-key-set-doc'),
    });
    expect(await keySets.write('default', Uint8Array.of(1), 7)).toBe(true);
    expect((await keySets.read('default'))?.version).toBe(8);
  });

  it('a bad key-set name is InvalidArgument from read and write, as on every store', async () => {
    const keySets = createFsKeySetStore({ dir: await tempDir() });
    for (const name of ['', '../x', 'a/b', 'x'.repeat(65), 'nul\0', 5 as never]) {
      await expect(keySets.read(name)).rejects.toBeInstanceOf(InvalidArgument);
      await expect(keySets.write(name, Uint8Array.of(1), null)).rejects.toBeInstanceOf(
        InvalidArgument,
      );
    }
  });

  it('takes its copy of the document when write is called', async () => {
    const keySets = createFsKeySetStore({ dir: await tempDir() });
    const document = Uint8Array.of(1, 2, 3);
    const written = keySets.write('default', document, null);
    document[0] = 9;
    expect(await written).toBe(true);
    expect((await keySets.read('default'))?.document).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('after close, read and write reject with Closed; close is idempotent', async () => {
    const keySets = createFsKeySetStore({ dir: await tempDir() });
    await keySets.close?.();
    await keySets.close?.();
    await expect(keySets.read('default')).rejects.toBeInstanceOf(Closed);
    await expect(keySets.write('default', Uint8Array.of(1), null)).rejects.toBeInstanceOf(Closed);
  });
});
