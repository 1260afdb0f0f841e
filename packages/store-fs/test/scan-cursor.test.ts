import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigInvalid, InvalidArgument } from '@cloakroom/core';
import { createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../src/scan-cursor';
import { spawnFixture } from './child';
import { key, tempDir } from './helpers';

describe('fs store: scan cursors', () => {
  it('a cursor decodes to the id it was made for, under its own key only', () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const id = key();
    const cursor = encodeCursor(k1, id);
    expect(cursor.startsWith('fs1.')).toBe(true);
    expect(decodeCursor(k1, cursor)).toBe(id);
    expect(() => decodeCursor(k2, cursor)).toThrow(InvalidArgument);
    expect(() => decodeCursor(k1, `${cursor} `)).toThrow(InvalidArgument);
    expect(() => decodeCursor(k1, undefined)).toThrow(InvalidArgument);
  });

  it('processes that open a new directory at the same instant agree on one cursor key', async () => {
    const ROUNDS = 25;
    const dirs = await Promise.all(Array.from({ length: ROUNDS }, () => tempDir()));
    const children = Array.from({ length: 4 }, () => spawnFixture('cursor-key.ts', dirs));
    await Promise.all(children.map((c) => c.waitFor((l) => l === 'loaded', 20_000)));
    const start = Date.now() + 300;
    for (const c of children) c.proc.stdin!.write(`go ${start}\n`);
    await Promise.all(children.map((c) => c.waitFor((l) => l === 'done', 30_000)));
    for (const [i, dir] of dirs.entries()) {
      const onDisk = (await readFile(join(dir, 'cursor.key'))).toString('hex');
      expect(onDisk).toHaveLength(64);
      for (const c of children) expect(c.lines, `round ${i}`).toContain(`${i} ${onDisk}`);
      // No temp file of a losing candidate is left.
      expect(await readdir(dir)).toEqual(['cursor.key']);
    }
  });

  it('a corrupt cursor key is refused at start with ConfigInvalid that says how to fix it', async () => {
    const dir = await tempDir();
    createFsStore({ dir });
    await writeFile(join(dir, 'cursor.key'), 'short');
    expect(() => createFsStore({ dir })).toThrow(ConfigInvalid);
    expect(() => createFsStore({ dir })).toThrow(/delete it/);
  });
});
