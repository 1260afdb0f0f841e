import type { SessionStore } from '@cloakroom/core';
import { bounded, ConformanceFailure, type SessionStoreCheck, TIMED_OUT } from '../harness';
import { describeError, hasCode, makeRecord, randomId } from '../records';

const HOUR = 3_600_000;

type Call = readonly [string, (store: SessionStore) => Promise<unknown>];

function calls(): Call[] {
  const record = makeRecord({ expiresAt: Date.now() + HOUR });
  const next = makeRecord({ expiresAt: Date.now() + HOUR });
  return [
    ['insert', (s) => s.insert(record)],
    ['get', (s) => s.get(record.id)],
    ['replace', (s) => s.replace({ ...record, version: 2 }, 1)],
    ['rotate', (s) => s.rotate({ record: { ...record, version: 2 }, expectedVersion: 1 }, next)],
    ['delete', (s) => s.delete(record.id)],
    ['deleteBySubject', (s) => s.deleteBySubject(record.subject)],
    ['listBySubject', (s) => s.listBySubject(randomId())],
    ['scan', (s) => s.scan({ limit: 10 })],
    ['sweep', (s) => (s.sweep ? s.sweep(Date.now()) : Promise.reject(new Error('no sweep')))],
    [
      'insertWithLimit',
      (s) =>
        s.insertWithLimit
          ? s.insertWithLimit(next, { max: 1, evict: 'oldest' })
          : Promise.reject(new Error('no insertWithLimit')),
    ],
  ];
}

/**
 * True when a StoreUnavailable says why: its `cause` is the driver's error
 * (an object, not the error itself), or another StoreUnavailable that does.
 */
export function carriesCause(error: unknown, depth = 0): boolean {
  const cause = (error as { cause?: unknown }).cause;
  if (typeof cause !== 'object' || cause === null || cause === error || depth > 8) return false;
  return hasCode(cause, 'ERR_STORE_UNAVAILABLE') ? carriesCause(cause, depth + 1) : true;
}

export const unreachableCheck: SessionStoreCheck = {
  id: 'unreachable',
  name: 'unreachable backend: every method throws StoreUnavailable, with the driver error as cause, within the bound; never null, false or a hang',
  appliesTo: (options) => options.unreachable !== undefined,
  timeoutMs: (options) => (options.unreachableTimeoutMs ?? 5_000) * 2 + 10_000,
  async run(_factory, options) {
    const make = options.unreachable;
    if (!make) throw new ConformanceFailure('the unreachable check needs the unreachable option');
    const bound = options.unreachableTimeoutMs ?? 5_000;
    const store = await make();
    const problems: string[] = [];
    try {
      const list = calls().filter(
        ([name]) =>
          (name !== 'sweep' || typeof store.sweep === 'function') &&
          (name !== 'insertWithLimit' || typeof store.insertWithLimit === 'function'),
      );
      const results = await Promise.all(list.map(([, call]) => bounded(() => call(store), bound)));
      results.forEach((result, i) => {
        const name = list[i]![0];
        if (result === TIMED_OUT) problems.push(`${name} did not settle within ${bound} ms`);
        else if (result.ok)
          problems.push(
            `${name} returned ${String(result.value)} instead of throwing StoreUnavailable`,
          );
        else if (!hasCode(result.error, 'ERR_STORE_UNAVAILABLE')) {
          problems.push(`${name} threw ${describeError(result.error)} instead of StoreUnavailable`);
        } else if (!carriesCause(result.error)) {
          problems.push(`${name} threw StoreUnavailable without the driver error as cause`);
        }
      });
    } finally {
      const closed = await bounded(() => store.close(), bound);
      if (closed === TIMED_OUT) problems.push(`close() did not settle within ${bound} ms`);
    }
    if (problems.length > 0) throw new ConformanceFailure(problems.join('; '));
  },
};
