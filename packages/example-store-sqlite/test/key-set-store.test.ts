import { Closed, InvalidArgument } from '@cloakroom/core';
import { createSqliteKeySetStore } from '@cloakroom/example-store-sqlite';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

const caught = async (fn: () => Promise<unknown>) =>
  fn().then(
    () => undefined,
    (e: unknown) => e,
  );

describe('sqlite example key sets: argument checks (core helpers)', () => {
  it('a name outside /^[A-Za-z0-9._-]{1,64}$/ throws InvalidArgument, as on every store', async () => {
    const keySets = createSqliteKeySetStore();
    for (const name of ['', 'a/b', '../x', 'a b', 'x'.repeat(65), 'é', 7, null]) {
      expect(await caught(() => keySets.read(name as string))).toBeInstanceOf(InvalidArgument);
      expect(
        await caught(() => keySets.write(name as string, new Uint8Array(1), null)),
      ).toBeInstanceOf(InvalidArgument);
    }
    await keySets.close();
  });

  it('a document that is not a Uint8Array or a bad expected version throws InvalidArgument, changing nothing', async () => {
    const keySets = createSqliteKeySetStore();
    await keySets.write('k', Uint8Array.from([1]), null);
    const spoofed = { [Symbol.toStringTag]: 'Uint8Array', length: 0 };
    for (const bad of ['text', [1, 2], new Uint16Array(1), null, spoofed]) {
      expect(await caught(() => keySets.write('k', bad as never, 1))).toBeInstanceOf(
        InvalidArgument,
      );
    }
    for (const v of [0, -1, 1.5, '1', undefined]) {
      expect(
        await caught(() => keySets.write('k', Uint8Array.from([2]), v as never)),
      ).toBeInstanceOf(InvalidArgument);
    }
    expect(await keySets.read('k')).toEqual({ version: 1, document: Uint8Array.from([1]) });
    await keySets.close();
  });

  it('after close read and write throw Closed, close is idempotent, and a caller database stays open', async () => {
    const database = new Database(':memory:');
    const keySets = createSqliteKeySetStore({ database });
    await keySets.write('k', Uint8Array.from([1]), null);
    await keySets.close();
    await keySets.close();
    expect(await caught(() => keySets.read('k'))).toBeInstanceOf(Closed);
    expect(await caught(() => keySets.read('bad/name'))).toBeInstanceOf(Closed);
    expect(await caught(() => keySets.write('k', Uint8Array.from([2]), 1))).toBeInstanceOf(Closed);
    expect(database.open).toBe(true);
    database.close();
  });
});
