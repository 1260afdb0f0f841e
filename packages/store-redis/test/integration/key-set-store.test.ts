import { InvalidArgument } from '@cloakroom/core';
import { createRedisKeySetStore } from '@cloakroom/store-redis';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOrFail, deleteUnder, keysUnder, uniquePrefix } from './redis-test-env';

let client: Redis;
const prefix = uniquePrefix('keyset');
beforeAll(async () => {
  client = await connectOrFail();
});
afterAll(async () => {
  await deleteUnder(client, prefix);
  client.disconnect();
});

describe('redis key-set store', () => {
  it('create-only, then compare-and-swap; versions count 1, 2, 3', async () => {
    const keySets = createRedisKeySetStore({ client, prefix });
    expect(await keySets.read('a')).toBeNull();
    expect(await keySets.write('a', Uint8Array.of(1), 1)).toBe(false);
    expect(await keySets.write('a', Uint8Array.of(1), null)).toBe(true);
    expect(await keySets.write('a', Uint8Array.of(9), null)).toBe(false);
    expect(await keySets.read('a')).toEqual({ version: 1, document: Uint8Array.of(1) });
    expect(await keySets.write('a', Uint8Array.of(2), 2)).toBe(false);
    expect(await keySets.write('a', Uint8Array.of(2), 1)).toBe(true);
    expect(await keySets.write('a', Uint8Array.of(3), 2)).toBe(true);
    expect(await keySets.read('a')).toEqual({ version: 3, document: Uint8Array.of(3) });
    expect(await keySets.read('b')).toBeNull();
  });

  it('of 30 concurrent writes at one expected version exactly one wins, on two connections', async () => {
    const other = await connectOrFail();
    try {
      const stores = [
        createRedisKeySetStore({ client, prefix }),
        createRedisKeySetStore({ client: other, prefix }),
      ];
      await stores[0]?.write('race', Uint8Array.of(0), null);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => stores[i % 2]?.write('race', Uint8Array.of(i + 1), 1)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await stores[1]?.read('race')).toEqual({
        version: 2,
        document: Uint8Array.of(results.indexOf(true) + 1),
      });
    } finally {
      other.disconnect();
    }
  });

  it('documents round-trip byte for byte and returned copies do not alias the store', async () => {
    const keySets = createRedisKeySetStore({ client, prefix });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 70_000 }), async (doc) => {
        const name = `p${Math.random().toString(36).slice(2)}`;
        expect(await keySets.write(name, doc, null)).toBe(true);
        const entry = await keySets.read(name);
        expect(entry?.document).toEqual(doc);
        entry?.document.fill(0xff);
        expect((await keySets.read(name))?.document).toEqual(doc);
      }),
      { numRuns: 20 },
    );
  });

  it('names outside /^[A-Za-z0-9._-]{1,64}$/ are refused before Redis is asked; keys stay under the prefix', async () => {
    const keySets = createRedisKeySetStore({ client, prefix });
    for (const name of ['', '../x', 'a*', 'a{b}', 'x'.repeat(65), 'a b']) {
      await expect(keySets.read(name)).rejects.toThrow(InvalidArgument);
    }
    await keySets.write('under-prefix', Uint8Array.of(1), null);
    expect(await keysUnder(client, prefix)).toContain(`${prefix}keyset:under-prefix`);
  });
});
