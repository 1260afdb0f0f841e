import type { KeySetStore } from '@cloakroom/core';
import fc from 'fast-check';
import {
  type ConformanceCheck,
  ConformanceFailure,
  ensure,
  replayParameters,
  runCount,
} from './harness';
import type { KeySetStoreFactory, KeySetStoreSuiteOptions } from './options';
import { describeError, outcome, randomPayload, sameBytes } from './records';

/**
 * A check of the key-set-store suite.
 * @example
 * ```ts
 * const cas: KeySetStoreCheck = keySetStoreChecks.find((c) => c.id === 'key-set-cas')!;
 * ```
 */
export type KeySetStoreCheck = ConformanceCheck<KeySetStoreFactory, KeySetStoreSuiteOptions>;

async function withKeySets<T>(
  factory: KeySetStoreFactory,
  options: KeySetStoreSuiteOptions,
  fn: (store: KeySetStore) => Promise<T>,
): Promise<T> {
  const store = await factory();
  const teardown = async () => {
    // The contract has no close(); stores that hold connections usually add one.
    const close = (store as { close?: () => Promise<void> }).close;
    if (typeof close === 'function') await close.call(store);
    if (options.cleanup) await options.cleanup(store);
  };
  let result: T;
  try {
    result = await fn(store);
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
  await teardown();
  return result;
}

async function expectEntry(
  store: KeySetStore,
  name: string,
  version: number,
  document: Uint8Array,
  when: string,
) {
  const entry = await store.read(name);
  ensure(entry !== null, `${when}: read(${JSON.stringify(name)}) returned null`);
  ensure(entry.version === version, `${when}: version ${String(entry.version)}, want ${version}`);
  ensure(entry.document instanceof Uint8Array, `${when}: document is not a Uint8Array`);
  ensure(
    sameBytes(entry.document, document),
    `${when}: document differs (${entry.document.byteLength} bytes, want ${document.byteLength})`,
  );
}

const n = (c: number | undefined) => Math.max(2, c ?? 20);

const casCheck: KeySetStoreCheck = {
  id: 'key-set-cas',
  name: 'write is compare-and-swap: null creates only when absent, a number replaces only at that version, versions count up from 1',
  async run(factory, options) {
    await withKeySets(factory, options, async (store) => {
      ensure((await store.read('default')) === null, 'read of an absent name must be null');
      ensure(
        (await store.write('absent', randomPayload(4), 1)) === false,
        'write at version 1 of an absent name must be false',
      );
      ensure((await store.read('absent')) === null, 'a refused write must not create the document');
      const d1 = randomPayload(40);
      ensure(
        (await store.write('default', d1, null)) === true,
        'create-only write of an absent name must be true',
      );
      await expectEntry(store, 'default', 1, d1, 'after create');
      ensure(
        (await store.write('default', randomPayload(8), null)) === false,
        'create-only write over an existing document must be false',
      );
      await expectEntry(store, 'default', 1, d1, 'after a refused create');
      const d2 = randomPayload(40);
      ensure(
        (await store.write('default', d2, 1)) === true,
        'write at the current version must be true',
      );
      await expectEntry(store, 'default', 2, d2, 'after a replace');
      for (const stale of [1, 3, 100]) {
        ensure(
          (await store.write('default', randomPayload(8), stale)) === false,
          `write at version ${stale} (current 2) must be false`,
        );
      }
      await expectEntry(store, 'default', 2, d2, 'after refused writes');
    });
  },
};

const concurrentCheck: KeySetStoreCheck = {
  id: 'key-set-concurrent',
  name: 'concurrent writes with one expected version (or all create-only): exactly one wins and its document is stored',
  async run(factory, options) {
    await withKeySets(factory, options, async (store) => {
      for (const expected of [null, 1, 2]) {
        const docs = Array.from({ length: n(options.concurrency) }, () => randomPayload(24));
        const results = await Promise.all(docs.map((d) => store.write('race', d, expected)));
        const winners = docs.filter((_, i) => results[i] === true);
        ensure(
          winners.length === 1,
          `${winners.length} of ${docs.length} concurrent writes at ${String(expected)} won, want 1`,
        );
        await expectEntry(
          store,
          'race',
          (expected ?? 0) + 1,
          winners[0]!,
          `after concurrent writes at ${String(expected)}`,
        );
      }
    });
  },
};

const bytesCheck: KeySetStoreCheck = {
  id: 'key-set-bytes',
  name: 'documents round-trip byte for byte (every byte value, empty, 64 KiB) and are copies both ways',
  async run(factory, options) {
    await withKeySets(factory, options, async (store) => {
      const every = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
      const docs = [every, new Uint8Array(0), randomPayload(64 * 1024)];
      for (const [i, d] of docs.entries()) {
        const input = d.slice();
        ensure(await store.write(`doc-${i}`, input, null), 'create must succeed');
        input.fill(1);
        await expectEntry(
          store,
          `doc-${i}`,
          1,
          d,
          `document ${i} after mutating the written bytes`,
        );
        const read = await store.read(`doc-${i}`);
        read?.document.fill(2);
        await expectEntry(
          store,
          `doc-${i}`,
          1,
          d,
          `document ${i} after mutating the returned bytes`,
        );
      }
    });
  },
};

const VALID = [
  'a',
  'A',
  '__proto__',
  'constructor',
  'toString',
  'key.set-1_x',
  'x'.repeat(64),
  '..',
  '.',
];
const INVALID = [
  '',
  '../escape',
  'a/b',
  'a\\b',
  'x'.repeat(65),
  'name with space',
  'nul\u0000byte',
  '*',
  'ключ',
];

const namesCheck: KeySetStoreCheck = {
  id: 'key-set-names',
  name: 'names: every valid name is its own document (case-sensitive, __proto__ harmless); invalid names are refused with ConfigInvalid or kept apart',
  async run(factory, options) {
    await withKeySets(factory, options, async (store) => {
      const docs = new Map(VALID.map((name) => [name, randomPayload(12)]));
      for (const [name, doc] of docs)
        ensure(
          await store.write(name, doc, null),
          `create of valid name ${JSON.stringify(name.slice(0, 20))} must succeed`,
        );
      for (const [name, doc] of docs)
        await expectEntry(store, name, 1, doc, `valid name ${JSON.stringify(name.slice(0, 20))}`);
      for (const name of INVALID) {
        const doc = randomPayload(12);
        const wrote = await outcome(() => store.write(name, doc, null));
        if (!wrote.ok) {
          const code = (wrote.error as { code?: unknown }).code;
          ensure(
            code === 'ERR_CONFIG_INVALID' || code === 'ERR_INVALID_ARGUMENT',
            () =>
              `write of invalid name ${JSON.stringify(name.slice(0, 20))} threw ${describeError(wrote.error)}, want ConfigInvalid`,
          );
          const read = await outcome(() => store.read(name));
          ensure(
            read.ok ? read.value === null : (read.error as { code?: unknown }).code === code,
            () =>
              `read of a refused invalid name ${JSON.stringify(name.slice(0, 20))} must be null or throw the same error`,
          );
        } else {
          ensure(wrote.value === true, 'create of an accepted name must succeed');
          await expectEntry(
            store,
            name,
            1,
            doc,
            `accepted name ${JSON.stringify(name.slice(0, 20))}`,
          );
        }
      }
      for (const [name, doc] of docs)
        await expectEntry(
          store,
          name,
          1,
          doc,
          `valid name ${JSON.stringify(name.slice(0, 20))} after the invalid ones`,
        );
    });
  },
};

const modelCheck: KeySetStoreCheck = {
  id: 'key-set-model',
  name: 'model: random read/write sequences over a few names match a reference map',
  timeoutMs: (options) => 30_000 + runCount(options.numRuns) * 1_000,
  async run(factory, options) {
    const names = ['one', 'two', 'One'];
    const op = fc.record({
      name: fc.constantFrom(...names),
      write: fc.boolean(),
      delta: fc.constantFrom<number | null>(0, 0, 0, -1, 1, null),
      doc: fc.uint8Array({ maxLength: 32 }),
    });
    const property = fc.asyncProperty(fc.array(op, { maxLength: 40, size: 'max' }), async (ops) => {
      await withKeySets(factory, options, async (store) => {
        const model = new Map<string, { version: number; document: Uint8Array }>();
        for (const [i, o] of ops.entries()) {
          const current = model.get(o.name);
          if (!o.write) {
            const entry = await store.read(o.name);
            if (!current) ensure(entry === null, `step ${i}: read(${o.name}) must be null`);
            else await expectEntry(store, o.name, current.version, current.document, `step ${i}`);
            continue;
          }
          const expected = o.delta === null ? null : Math.max(1, (current?.version ?? 1) + o.delta);
          const ok = await store.write(o.name, o.doc, expected);
          const should = expected === null ? !current : current?.version === expected;
          ensure(
            ok === should,
            `step ${i}: write(${o.name}, v${String(expected)}) returned ${String(ok)}, want ${should}`,
          );
          if (should) model.set(o.name, { version: (expected ?? 0) + 1, document: o.doc });
        }
      });
    });
    try {
      await fc.assert(property, { numRuns: runCount(options.numRuns), ...replayParameters() });
    } catch (err) {
      throw new ConformanceFailure(err instanceof Error ? err.message : String(err), {
        cause: err,
      });
    }
  },
};

/**
 * Every check of the key-set-store suite, each callable on its own.
 *
 * @example
 * ```ts
 * for (const check of keySetStoreChecks) await check.run(() => createMyKeySets(), {});
 * ```
 */
export const keySetStoreChecks: readonly KeySetStoreCheck[] = [
  casCheck,
  concurrentCheck,
  bytesCheck,
  namesCheck,
  modelCheck,
];
