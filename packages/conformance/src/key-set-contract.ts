import { carriesCause } from './checks/unavailable';
import { bounded, ConformanceFailure, clientUsable, ensure, TIMED_OUT } from './harness';
import { closeOf, expectEntry, type KeySetStoreCheck, withKeySets } from './key-set-harness';
import { expectNoPayloadIn, markedPayload } from './leaks';
import { describeError, expectRejection, hasCode, outcome, randomPayload } from './records';

export const keySetClosedCheck: KeySetStoreCheck = {
  id: 'key-set-closed',
  name: 'after close() (when the store has one), read and write reject with Closed, and close() stays idempotent',
  async run(factory, options) {
    await withKeySets(factory, options, async (store) => {
      const close = closeOf(store);
      if (!close) return;
      ensure(await store.write('default', randomPayload(8), null), 'create must succeed');
      await close();
      await expectRejection(() => store.read('default'), 'ERR_CLOSED', 'read after close()');
      await expectRejection(
        () => store.write('default', randomPayload(8), 1),
        'ERR_CLOSED',
        'write after close()',
      );
      await close();
    });
  },
};

export const keySetCopyAtCallCheck: KeySetStoreCheck = {
  id: 'key-set-copy-at-call',
  name: "write copies the document when it is called: changing the caller's bytes before the call settles changes nothing",
  async run(factory, options) {
    await withKeySets(factory, options, async (store) => {
      for (const [version, expected] of [
        [1, null],
        [2, 1],
      ] as const) {
        const doc = randomPayload(40);
        const input = doc.slice();
        const writing = store.write('default', input, expected);
        input.fill(0x5a);
        ensure((await writing) === true, `write at ${String(expected)} must succeed`);
        await expectEntry(
          store,
          'default',
          version,
          doc,
          'after changing the bytes while write ran',
        );
      }
    });
  },
};

export const keySetMessagesCheck: KeySetStoreCheck = {
  id: 'key-set-error-messages',
  name: 'SEC-27 no error message holds document bytes (text, hex, base64, byte lists), cause chains included: invalid names and versions, a closed store',
  async run(factory, options) {
    const documents: Uint8Array[] = [];
    const marked = () => {
      const d = markedPayload();
      documents.push(d);
      return d;
    };
    const provoke = async (what: string, call: () => Promise<unknown>) => {
      const result = await outcome(call);
      if (result.ok) throw new ConformanceFailure(`${what}: expected an error, the call returned`);
      expectNoPayloadIn(result.error, documents, what);
    };
    await withKeySets(factory, options, async (store) => {
      ensure(await store.write('default', marked(), null), 'create must succeed');
      await provoke('write to an invalid name', () => store.write('../x', marked(), null));
      for (const version of [0, 1.5, -1]) {
        await provoke(`write at version ${version}`, () =>
          store.write('default', marked(), version),
        );
      }
      const close = closeOf(store);
      if (!close) return;
      await close();
      await provoke('write after close()', () => store.write('default', marked(), 1));
      await provoke('read after close()', () => store.read('default'));
    });
  },
};

export const keySetCallerClientCheck: KeySetStoreCheck = {
  id: 'key-set-caller-client',
  name: "close() never closes a client the caller passed in: the caller's client still works after close() (twice)",
  appliesTo: (options) => options.callerClient !== undefined,
  async run(_factory, options) {
    const make = options.callerClient;
    if (!make) throw new ConformanceFailure('this check needs the callerClient option');
    const fixture = await make();
    const { store } = fixture;
    const close = closeOf(store);
    try {
      ensure(
        await clientUsable(fixture),
        'clientUsable() is false before the store was closed: check the callerClient probe',
      );
      const doc = randomPayload(16);
      ensure(
        await store.write('default', doc, null),
        "a write over the caller's client must succeed",
      );
      await expectEntry(store, 'default', 1, doc, "a store over the caller's client");
      await close?.();
      await close?.();
      ensure(
        await clientUsable(fixture),
        'close() closed (or broke) the client the caller passed in; a store closes only what it created',
      );
    } finally {
      await close?.().catch(() => undefined);
      if (options.cleanup) await options.cleanup(store).catch(() => undefined);
      await fixture.release();
    }
    ensure(
      !(await clientUsable(fixture)),
      'clientUsable() still answers true after release(): the probe cannot tell a closed client from an open one',
    );
  },
};

export const keySetUnreachableCheck: KeySetStoreCheck = {
  id: 'key-set-unreachable',
  name: 'unreachable backend: read and write throw StoreUnavailable, with the driver error as cause and no document bytes in any message, within the bound',
  appliesTo: (options) => options.unreachable !== undefined,
  timeoutMs: (options) => (options.unreachableTimeoutMs ?? 5_000) * 2 + 10_000,
  async run(_factory, options) {
    const make = options.unreachable;
    if (!make) throw new ConformanceFailure('this check needs the unreachable option');
    const bound = options.unreachableTimeoutMs ?? 5_000;
    const store = await make();
    const document = markedPayload();
    const calls: [string, () => Promise<unknown>][] = [
      ['read', () => store.read('default')],
      ['create-only write', () => store.write('default', document, null)],
      ['write at version 1', () => store.write('default', document, 1)],
    ];
    const problems: string[] = [];
    try {
      const results = await Promise.all(calls.map(([, call]) => bounded(call, bound)));
      results.forEach((result, i) => {
        const what = calls[i]![0];
        if (result === TIMED_OUT) problems.push(`${what} did not settle within ${bound} ms`);
        else if (result.ok) problems.push(`${what} returned instead of throwing StoreUnavailable`);
        else if (!hasCode(result.error, 'ERR_STORE_UNAVAILABLE'))
          problems.push(`${what} threw ${describeError(result.error)} instead of StoreUnavailable`);
        else if (!carriesCause(result.error))
          problems.push(`${what} threw StoreUnavailable without the driver error as cause`);
        else expectNoPayloadIn(result.error, [document], what);
      });
    } finally {
      const close = closeOf(store);
      if (close && (await bounded(close, bound)) === TIMED_OUT)
        problems.push(`close() did not settle within ${bound} ms`);
    }
    if (problems.length > 0) throw new ConformanceFailure(problems.join('; '));
  },
};
