import { InvalidArgument } from '@cloakroom/core';
import { createMemoryKeySetStore } from '@cloakroom/store-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const doc = (...bytes: number[]) => Uint8Array.from(bytes);

describe('createMemoryKeySetStore', () => {
  it('is named "memory" and reads null for an absent name', async () => {
    const keySets = createMemoryKeySetStore();
    expect(keySets.name).toBe('memory');
    expect(await keySets.read('default')).toBeNull();
  });

  it('create-only write (null) succeeds once at version 1, then fails', async () => {
    const keySets = createMemoryKeySetStore();
    expect(await keySets.write('default', doc(1), null)).toBe(true);
    expect(await keySets.read('default')).toEqual({ version: 1, document: doc(1) });
    expect(await keySets.write('default', doc(2), null)).toBe(false);
    expect(await keySets.read('default')).toEqual({ version: 1, document: doc(1) });
  });

  it('a write at the stored version succeeds and stores version + 1; any other version changes nothing', async () => {
    const keySets = createMemoryKeySetStore();
    await keySets.write('k', doc(1), null);
    expect(await keySets.write('k', doc(2), 2)).toBe(false);
    expect(await keySets.write('k', doc(2), 1)).toBe(true);
    expect(await keySets.write('k', doc(3), 1)).toBe(false);
    expect(await keySets.read('k')).toEqual({ version: 2, document: doc(2) });
    expect(await keySets.write('absent', doc(9), 1)).toBe(false);
    expect(await keySets.read('absent')).toBeNull();
  });

  it('names are independent', async () => {
    const keySets = createMemoryKeySetStore();
    await keySets.write('a', doc(1), null);
    await keySets.write('b', doc(2), null);
    await keySets.write('b', doc(3), 1);
    expect(await keySets.read('a')).toEqual({ version: 1, document: doc(1) });
    expect(await keySets.read('b')).toEqual({ version: 2, document: doc(3) });
  });

  it('of N concurrent writes at one expected version exactly one wins', async () => {
    const keySets = createMemoryKeySetStore();
    await keySets.write('k', doc(0), null);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => keySets.write('k', doc(i), 1)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await keySets.read('k')).toEqual({ version: 2, document: doc(results.indexOf(true)) });
  });

  it('documents are copied in and out', async () => {
    const keySets = createMemoryKeySetStore();
    const written = doc(1, 2, 3);
    await keySets.write('k', written, null);
    written.fill(0);
    const first = await keySets.read('k');
    first?.document.fill(9);
    const second = await keySets.read('k');
    expect(second?.document).toEqual(doc(1, 2, 3));
    expect(Object.getPrototypeOf(second?.document)).toBe(Uint8Array.prototype);
  });

  it('any sequence of writes keeps version = number of successful writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }), { maxLength: 30 }),
        async (expectations) => {
          const keySets = createMemoryKeySetStore();
          let version: number | null = null;
          for (const [i, expected] of expectations.entries()) {
            const ok = await keySets.write('k', doc(i), expected);
            expect(ok).toBe(expected === version);
            if (ok) version = (expected ?? 0) + 1;
            expect((await keySets.read('k'))?.version ?? null).toBe(version);
          }
        },
      ),
    );
  });

  it.each(['', 'a/b', '../x', 'a b', 'x'.repeat(65), 'é', '__proto__\u0000', 7])(
    'rejects the name %j with InvalidArgument',
    async (name) => {
      const keySets = createMemoryKeySetStore();
      await expect(keySets.read(name as string)).rejects.toThrow(InvalidArgument);
      await expect(keySets.write(name as string, doc(1), null)).rejects.toThrow(InvalidArgument);
    },
  );

  it('accepts names at the edges of the allowed pattern, including __proto__', async () => {
    const keySets = createMemoryKeySetStore();
    for (const name of ['x'.repeat(64), 'A.b_c-9', '__proto__', 'constructor']) {
      expect(await keySets.write(name, doc(1), null)).toBe(true);
      expect(await keySets.read(name)).toEqual({ version: 1, document: doc(1) });
    }
  });

  it('rejects a non-Uint8Array document and an invalid expected version, changing nothing', async () => {
    const keySets = createMemoryKeySetStore();
    await keySets.write('k', doc(1), null);
    for (const bad of ['text', [1, 2], new Uint16Array(1), null]) {
      await expect(keySets.write('k', bad as never, 1)).rejects.toThrow(InvalidArgument);
    }
    for (const v of [0, -1, 1.5, '1', undefined]) {
      await expect(keySets.write('k', doc(2), v as never)).rejects.toThrow(InvalidArgument);
    }
    expect(await keySets.read('k')).toEqual({ version: 1, document: doc(1) });
  });
});
