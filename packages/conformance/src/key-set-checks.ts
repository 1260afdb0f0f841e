import fc from 'fast-check';
import { ConformanceFailure, ensure, judged, replayParameters, runCount } from './harness';
import {
  keySetCallerClientCheck,
  keySetClosedCheck,
  keySetCopyAtCallCheck,
  keySetMessagesCheck,
  keySetUnreachableCheck,
} from './key-set-contract';
import { expectEntry, type KeySetStoreCheck, withKeySets } from './key-set-harness';
import { expectRejection, randomPayload } from './records';

export type { KeySetStoreCheck } from './key-set-harness';

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
const INVALID: readonly unknown[] = [
  '',
  '../escape',
  'a/b',
  'a\\b',
  'x'.repeat(65),
  'name with space',
  'nul\u0000byte',
  '*',
  'ключ',
  'default\n',
  123,
  null,
  undefined,
];

const namesCheck: KeySetStoreCheck = {
  id: 'key-set-names',
  name: 'names: every valid name is its own document (case-sensitive, __proto__, . and .. harmless); an invalid name (or a non-string) rejects with InvalidArgument on read and write',
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
        const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 20)) : String(name);
        await expectRejection(
          () => store.write(name as string, randomPayload(12), null),
          'ERR_INVALID_ARGUMENT',
          `write of invalid name ${shown}`,
        );
        await expectRejection(
          () => store.read(name as string),
          'ERR_INVALID_ARGUMENT',
          `read of invalid name ${shown}`,
        );
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
export const keySetStoreChecks: readonly KeySetStoreCheck[] = judged([
  casCheck,
  concurrentCheck,
  bytesCheck,
  namesCheck,
  modelCheck,
  keySetClosedCheck,
  keySetCopyAtCallCheck,
  keySetMessagesCheck,
  keySetCallerClientCheck,
  keySetUnreachableCheck,
]);
