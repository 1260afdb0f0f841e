// Shared pieces of the insertWithLimit checks (subject-limit.ts,
// subject-limit-seats.ts): limits, the checked call, answer and eviction checks.
import type { LimitedInsert, SessionRecord, SessionStore, SubjectLimit } from '@cloakroom/core';
import {
  ConformanceFailure,
  ensure,
  hasMethod,
  type SessionStoreCheck,
  type SuiteClock,
  suiteClock,
  withStorePair,
} from '../harness';
import type { SessionStoreSuiteOptions } from '../options';
import { short, summary } from '../records';

export const HOUR = 3_600_000;
export const REFUSE = (max: number): SubjectLimit => ({ max, evict: 'refuse' });
export const OLDEST = (max: number): SubjectLimit => ({ max, evict: 'oldest' });

export type Limited = (record: SessionRecord, limit: SubjectLimit) => Promise<LimitedInsert>;

/** Why `answer` is not a well-formed {@link LimitedInsert}, or `undefined`. */
export function malformedAnswer(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) return `answered ${String(answer)}`;
  const a = answer as { inserted?: unknown; evicted?: unknown };
  if (a.inserted === true) {
    if (!Array.isArray(a.evicted)) return 'answered inserted: true without an evicted array';
    if (!a.evicted.every((id) => typeof id === 'string'))
      return 'evicted holds something other than ids';
    return undefined;
  }
  if (a.inserted === false) {
    return a.evicted === undefined ? undefined : 'answered inserted: false with an evicted list';
  }
  return `answered inserted: ${String(a.inserted)}`;
}

/** `store.insertWithLimit`, bound, with every answer's shape checked. */
export function limitedOf(store: SessionStore): Limited {
  const fn = store.insertWithLimit;
  if (typeof fn !== 'function') throw new ConformanceFailure('the store has no insertWithLimit');
  return async (record, limit) => {
    const answer = await fn.call(store, record, limit);
    const why = malformedAnswer(answer);
    if (why) throw new ConformanceFailure(`insertWithLimit ${why}`);
    return answer;
  };
}

export const ids = (list: readonly string[]) => `[${list.map(short).join(', ')}]`;

/** Requires `{ inserted: true }` with exactly `evicted`, in that order. */
export function expectInserted(
  answer: LimitedInsert,
  evicted: readonly string[],
  context: string,
): void {
  ensure(
    answer.inserted,
    `${context}: answered inserted: false, want an insert evicting ${ids(evicted)}`,
  );
  const got = answer.evicted ?? [];
  ensure(
    got.length === evicted.length && got.every((id, i) => id === evicted[i]),
    () =>
      `${context}: evicted ${ids(got)}, want ${ids(evicted)} (the earliest-seated first; a rotate's successor holds its old record's place)`,
  );
}

/** Requires every id to read as gone (get `null`). */
export async function expectGoneIds(
  store: SessionStore,
  gone: readonly string[],
  context: string,
): Promise<void> {
  for (const id of gone) {
    const got = await store.get(id);
    ensure(got === null, () => `${context}: evicted ${short(id)} still reads ${summary(got)}`);
  }
}

/** Moves the store's clock 1 ms on (virtual) or waits for it (real), so the next seat is later. */
export const later = (clock: SuiteClock) => clock.until(clock.now() + 1);

/** Runs `fn` with the store's insertWithLimit; nothing to check when it has none and need not. */
export async function withLimits(
  factory: Parameters<SessionStoreCheck['run']>[0],
  options: SessionStoreSuiteOptions,
  fn: (ctx: {
    store: SessionStore;
    other: SessionStore;
    limited: Limited;
    otherLimited: Limited;
    clock: SuiteClock;
  }) => Promise<void>,
): Promise<void> {
  const clock = suiteClock(options);
  await withStorePair(factory, options, async (store, other) => {
    if (!hasMethod(store, 'insertWithLimit', options)) return;
    await fn({ store, other, limited: limitedOf(store), otherLimited: limitedOf(other), clock });
  });
}
