import type { SessionRecord, SessionStore } from '@cloakroom/core';
import {
  ConformanceFailure,
  clientUsable,
  ensure,
  type SessionStoreCheck,
  suiteClock,
  withStore,
} from '../harness';
import { expectRecord, expectRejection, makeRecord, randomId, withFields } from '../records';

const HOUR = 3_600_000;

/** One call of every method but `close` (the optional ones the store has included), over records the store held before it closed. */
export function everyMethod(
  store: SessionStore,
  live: SessionRecord,
  fresh: SessionRecord,
  now: number,
): [string, () => Promise<unknown>][] {
  const calls: [string, () => Promise<unknown>][] = [
    ['insert', () => store.insert(fresh)],
    ['get', () => store.get(live.id)],
    ['replace', () => store.replace(withFields(live, { version: 2 }), 1)],
    [
      'rotate',
      () => store.rotate({ record: withFields(live, { version: 2 }), expectedVersion: 1 }, fresh),
    ],
    ['delete', () => store.delete(live.id)],
    ['deleteBySubject', () => store.deleteBySubject(live.subject)],
    ['listBySubject', () => store.listBySubject(live.subject)],
    ['scan', () => store.scan({ limit: 10 })],
  ];
  const sweep = store.sweep;
  if (typeof sweep === 'function') calls.push(['sweep', () => sweep.call(store, now)]);
  const insertWithLimit = store.insertWithLimit;
  if (typeof insertWithLimit === 'function') {
    calls.push([
      'insertWithLimit',
      () => insertWithLimit.call(store, fresh, { max: 1, evict: 'oldest' }),
    ]);
  }
  return calls;
}

export const closedCheck: SessionStoreCheck = {
  id: 'closed',
  name: 'after close(), every method except close() rejects with Closed, and close() stays idempotent',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const live = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(live);
      await store.close();
      const fresh = makeRecord({ id: randomId(), expiresAt: clock.now() + HOUR });
      for (const [method, call] of everyMethod(store, live, fresh, clock.now())) {
        await expectRejection(call, 'ERR_CLOSED', `${method} after close()`);
      }
      await store.close();
    });
  },
};

export const callerClientCheck: SessionStoreCheck = {
  id: 'caller-client',
  name: "close() never closes a client the caller passed in: the caller's client still works after close() (twice)",
  appliesTo: (options) => options.callerClient !== undefined,
  async run(_factory, options) {
    const make = options.callerClient;
    if (!make)
      throw new ConformanceFailure('the caller-client check needs the callerClient option');
    const clock = suiteClock(options);
    const fixture = await make();
    const { store } = fixture;
    try {
      ensure(
        await clientUsable(fixture),
        'clientUsable() is false before the store was closed: check the callerClient probe',
      );
      const record = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(record);
      expectRecord(await store.get(record.id), record, "a store over the caller's client");
      await store.close();
      await store.close();
      ensure(
        await clientUsable(fixture),
        'close() closed (or broke) the client the caller passed in; a store closes only what it created',
      );
    } finally {
      await store.close().catch(() => undefined);
      if (options.cleanup) await options.cleanup(store).catch(() => undefined);
      await fixture.release();
    }
    ensure(
      !(await clientUsable(fixture)),
      'clientUsable() still answers true after release(): the probe cannot tell a closed client from an open one, so this check would prove nothing',
    );
  },
};
