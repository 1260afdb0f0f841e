import { InvalidArgument } from '@cloakroom/core';
import { createPostgresKeySetStore } from '@cloakroom/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught, createWorld, type PgWorld } from './pg-harness';

let world: PgWorld;
beforeAll(async () => {
  world = await createWorld('crpg_keyset');
});
afterAll(async () => {
  await world?.teardown();
});

describe('postgres key-set store', () => {
  it('reads null when absent, creates only if absent, then compare-and-swaps by version', async () => {
    const ks = createPostgresKeySetStore({ pool: world.admin, ...world.tables });
    expect(ks.name).toBe('postgres');
    expect(await ks.read('default')).toBeNull();
    expect(await ks.write('default', new Uint8Array([1, 2]), 1)).toBe(false);
    expect(await ks.write('default', new Uint8Array([1, 2]), null)).toBe(true);
    expect(await ks.write('default', new Uint8Array([9]), null)).toBe(false);
    expect(await ks.read('default')).toEqual({ version: 1, document: new Uint8Array([1, 2]) });
    expect(await ks.write('default', new Uint8Array([3]), 2)).toBe(false);
    expect(await ks.write('default', new Uint8Array([3]), 1)).toBe(true);
    expect(await caught(() => ks.write('default', new Uint8Array([4]), 0))).toBeInstanceOf(
      InvalidArgument,
    );
    expect(await ks.write('default', new Uint8Array([4]), 2 ** 31)).toBe(false);
    const entry = await ks.read('default');
    expect(entry).toEqual({ version: 2, document: new Uint8Array([3]) });
    entry!.document[0] = 77;
    expect((await ks.read('default'))?.document[0]).toBe(3);
  });

  it('keeps documents of any bytes and size, per name', async () => {
    const ks = createPostgresKeySetStore({ pool: world.admin, ...world.tables });
    const big = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    expect(await ks.write('a.b-c_1', big, null)).toBe(true);
    expect(await ks.write('other', new Uint8Array(0), null)).toBe(true);
    expect((await ks.read('a.b-c_1'))?.document).toEqual(big);
    expect((await ks.read('other'))?.document).toEqual(new Uint8Array(0));
  });

  it('refuses names outside [A-Za-z0-9._-]{1,64} with InvalidArgument, as every store does, and bad write arguments', async () => {
    const ks = createPostgresKeySetStore({ pool: world.admin, ...world.tables });
    for (const name of ['', 'a/b', "x'; DROP", 'a'.repeat(65), '\0', 7]) {
      expect(await caught(() => ks.read(name as string))).toBeInstanceOf(InvalidArgument);
      expect(await caught(() => ks.write(name as string, new Uint8Array(), null))).toBeInstanceOf(
        InvalidArgument,
      );
    }
    expect(await caught(() => ks.write('x', new Uint8Array(), 1.5))).toBeInstanceOf(
      InvalidArgument,
    );
    const spoofed = { [Symbol.toStringTag]: 'Uint8Array', length: 0 };
    expect(await caught(() => ks.write('x', spoofed as never, null))).toBeInstanceOf(
      InvalidArgument,
    );
    expect(await ks.read('x')).toBeNull();
  });

  it('takes its copy of a document when write is called', async () => {
    const ks = createPostgresKeySetStore({ pool: world.admin, ...world.tables });
    const document = Uint8Array.from([5, 6, 7]);
    const writing = ks.write('copied', document, null);
    document.fill(0);
    expect(await writing).toBe(true);
    expect((await ks.read('copied'))?.document).toEqual(Uint8Array.from([5, 6, 7]));
  });
});
