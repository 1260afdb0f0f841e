// `SessionStore.insertWithLimit`: per-subject seats, the store half of core's
// `sessionLimit`. Checked only for stores that have the method (or that list
// it in `requiredMethods`). A record takes a seat when it is inserted; a
// rotate's successor takes over the old record's seat and its place in the
// order, and the old record stays live without one; replace keeps the seat;
// delete and expiry free it. Seats the checks compare are taken at least 1 ms
// apart on the store's clock, so a store that orders seats by time is judged
// on the order, not on ties.
import {
  type LimitedInsert,
  MAX_SUBJECT_LIMIT,
  type SessionRecord,
  type SessionStore,
  type SubjectLimit,
} from '@cloakroom/core';
import {
  ConformanceFailure,
  ensure,
  granularity,
  hasMethod,
  type SessionStoreCheck,
  type SuiteClock,
  suiteClock,
  withStorePair,
} from '../harness';
import type { SessionStoreSuiteOptions } from '../options';
import {
  describeError,
  expectRecord,
  expectRecordSet,
  expectRejection,
  makeRecord,
  outcome,
  randomId,
  randomPayload,
  short,
  summary,
  withFields,
} from '../records';

const HOUR = 3_600_000;
const REFUSE = (max: number): SubjectLimit => ({ max, evict: 'refuse' });
const OLDEST = (max: number): SubjectLimit => ({ max, evict: 'oldest' });

type Limited = (record: SessionRecord, limit: SubjectLimit) => Promise<LimitedInsert>;

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
function limitedOf(store: SessionStore): Limited {
  const fn = store.insertWithLimit;
  if (typeof fn !== 'function') throw new ConformanceFailure('the store has no insertWithLimit');
  return async (record, limit) => {
    const answer = await fn.call(store, record, limit);
    const why = malformedAnswer(answer);
    if (why) throw new ConformanceFailure(`insertWithLimit ${why}`);
    return answer;
  };
}

const ids = (list: readonly string[]) => `[${list.map(short).join(', ')}]`;

/** Requires `{ inserted: true }` with exactly `evicted`, in that order. */
function expectInserted(answer: LimitedInsert, evicted: readonly string[], context: string): void {
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
async function expectGoneIds(
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
const later = (clock: SuiteClock) => clock.until(clock.now() + 1);

/** Runs `fn` with the store's insertWithLimit; nothing to check when it has none and need not. */
async function withLimits(
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

export const limitEvictCheck: SessionStoreCheck = {
  id: 'limit-evict',
  name: "insertWithLimit: seats counted per subject; at the limit 'refuse' changes nothing and 'oldest' evicts the earliest-seated records, oldest first, gone before it answers",
  async run(factory, options) {
    await withLimits(factory, options, async ({ store, other, limited, otherLimited, clock }) => {
      const exp = () => clock.now() + HOUR;
      const subject = randomId();
      const elsewhere = randomId();
      // Seats are taken by insert as well as by insertWithLimit.
      const s1 = makeRecord({ subject, expiresAt: exp() });
      await store.insert(s1);
      await later(clock);
      const s2 = makeRecord({ subject, expiresAt: exp() });
      expectInserted(await limited(s2, REFUSE(3)), [], 'the 2nd record of a subject at max 3');
      await later(clock);
      // The payload is copied when the method is called, as insert's is.
      const s3 = makeRecord({ subject, expiresAt: exp() });
      const s3Input = withFields(s3, { payload: s3.payload.slice() });
      const inserting = otherLimited(s3Input, REFUSE(3));
      s3Input.payload.fill(0x5a);
      expectInserted(await inserting, [], 'the 3rd record of a subject at max 3');
      expectRecord(
        await store.get(s3.id),
        s3,
        'after changing the payload while insertWithLimit ran',
      );
      await later(clock);
      const t1 = makeRecord({ subject: elsewhere, expiresAt: exp() });
      expectInserted(
        await limited(t1, REFUSE(1)),
        [],
        "another subject's first record at max 1 (subjects are independent)",
      );
      await later(clock);

      for (const max of [3, 2, 1]) {
        const refused = makeRecord({ subject, expiresAt: exp() });
        const answer = await limited(refused, REFUSE(max));
        ensure(
          !answer.inserted,
          `insertWithLimit with 3 seated records at max ${max} ('refuse') inserted`,
        );
        ensure(
          (await store.get(refused.id)) === null,
          'a refused insertWithLimit stored its record',
        );
      }
      expectRecordSet(await store.listBySubject(subject), [s1, s2, s3], "after 'refuse'");

      const y = makeRecord({ subject, expiresAt: exp() });
      expectInserted(await otherLimited(y, OLDEST(3)), [s1.id], "a 4th record at max 3 ('oldest')");
      await expectGoneIds(
        store,
        [s1.id],
        "right after insertWithLimit answered (another instance's view)",
      );
      expectRecord(await store.get(y.id), y, 'the record inserted by evicting');
      await later(clock);
      const z = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(z, OLDEST(2)),
        [s2.id, s3.id],
        "a record at max 2 with 3 seated ('oldest': two must go)",
      );
      await expectGoneIds(other, [s2.id, s3.id], 'right after insertWithLimit answered');
      expectRecordSet(await store.listBySubject(subject), [y, z], "after 'oldest' at max 2");
      expectRecordSet(
        await store.listBySubject(elsewhere),
        [t1],
        'the other subject, after evictions in the first',
      );

      const t2 = makeRecord({ subject: elsewhere, expiresAt: exp() });
      expectInserted(
        await limited(t2, OLDEST(1)),
        [t1.id],
        "the other subject at max 1 ('oldest')",
      );
      expectRecordSet(
        await store.listBySubject(subject),
        [y, z],
        'the first subject, after an eviction in the other',
      );
      const big = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(big, REFUSE(MAX_SUBJECT_LIMIT)),
        [],
        `a record at max ${MAX_SUBJECT_LIMIT} (the largest limit)`,
      );
    });
  },
};

export const limitRotateCheck: SessionStoreCheck = {
  id: 'limit-rotate',
  name: "insertWithLimit seats: rotate's successor takes over the old record's seat and place, and the old record stays live without one; replace keeps the seat and place, and moves it with a subject change",
  async run(factory, options) {
    await withLimits(factory, options, async ({ store, other, limited, otherLimited, clock }) => {
      const exp = () => clock.now() + HOUR;
      const subject = randomId();
      const a = makeRecord({ subject, expiresAt: exp() });
      await store.insert(a);
      await later(clock);
      const b = makeRecord({ subject, expiresAt: exp() });
      expectInserted(await limited(b, REFUSE(10)), [], 'a 2nd record at max 10');
      await later(clock);
      const c = makeRecord({ subject, expiresAt: exp() });
      await other.insert(c);
      await later(clock);

      // Rotate the earliest-seated record: its successor holds seat 1.
      const a2 = withFields(a, { version: 2, payload: randomPayload(12) });
      const n = makeRecord({ subject, expiresAt: exp() });
      ensure(
        (await store.rotate({ record: a2, expectedVersion: 1 }, n)) === true,
        'rotate of a live record at its version must succeed',
      );
      await later(clock);
      const d = makeRecord({ subject, expiresAt: exp() });
      const dAnswer = await limited(d, REFUSE(4));
      ensure(
        dAnswer.inserted,
        "after a rotate, 4 live records but 3 seats: insertWithLimit at max 4 ('refuse') refused, so the rotated old record still counts (it must stay live without a seat)",
      );
      expectRecordSet(
        await store.listBySubject(subject),
        [a2, n, b, c, d],
        'after the rotate and a 4th seat (the rotated old record stays live)',
      );
      await later(clock);

      // replace keeps b's seat and place.
      const b2 = withFields(b, { version: 2, payload: randomPayload(12) });
      ensure((await other.replace(b2, 1)) === true, 'replace at the current version must succeed');
      await later(clock);
      const e = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await otherLimited(e, OLDEST(4)),
        [n.id],
        "a 5th seat at max 4 ('oldest') after rotating the earliest-seated record",
      );
      await expectGoneIds(store, [n.id], 'right after insertWithLimit answered');
      expectRecord(
        await store.get(a.id),
        a2,
        'the rotated old record (seatless: never evicted, it lives until its own expiry)',
      );
      await later(clock);
      const f = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(f, OLDEST(4)),
        [b.id],
        "the next eviction (replace keeps the record's place)",
      );
      await later(clock);

      // A replace that changes the subject moves the seat, with its place.
      const other2 = randomId();
      const t = makeRecord({ subject: other2, expiresAt: exp() });
      await store.insert(t);
      await later(clock);
      const c2 = withFields(c, { version: 2, subject: other2 });
      ensure((await store.replace(c2, 1)) === true, 'replace with a new subject must succeed');
      const g = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(g, REFUSE(4)),
        [],
        "after a replace moved a record to another subject, its old subject at max 4 ('refuse')",
      );
      const h = makeRecord({ subject: other2, expiresAt: exp() });
      expectInserted(
        await limited(h, OLDEST(2)),
        [c.id],
        "the record's new subject at max 2 ('oldest'): the moved record kept its earlier place",
      );
      expectRecordSet(await store.listBySubject(other2), [t, h], 'the new subject after evicting');
    });
  },
};

export const limitRotateSeatlessCheck: SessionStoreCheck = {
  id: 'limit-rotate-seatless',
  name: "insertWithLimit seats: a rotate of a seatless record (an earlier rotate's old one) gives its successor a fresh seat, last in the order, so no live record escapes the count",
  async run(factory, options) {
    await withLimits(factory, options, async ({ store, other, limited, otherLimited, clock }) => {
      const exp = () => clock.now() + HOUR;
      const subject = randomId();
      const a = makeRecord({ subject, expiresAt: exp() });
      await store.insert(a);
      await later(clock);
      // a -> b: b holds a's seat, a is a seatless forwarder.
      const a2 = withFields(a, { version: 2, payload: randomPayload(12) });
      const b = makeRecord({ subject, expiresAt: exp() });
      ensure(
        (await store.rotate({ record: a2, expectedVersion: 1 }, b)) === true,
        'rotate of a live record at its version must succeed',
      );
      await later(clock);
      const c = makeRecord({ subject, expiresAt: exp() });
      await other.insert(c);
      await later(clock);
      // The forwarder rotated again: its successor d has no seat to take over.
      const a3 = withFields(a, { version: 3, payload: randomPayload(12) });
      const d = makeRecord({ subject, expiresAt: exp() });
      ensure(
        (await other.rotate({ record: a3, expectedVersion: 2 }, d)) === true,
        'rotate of a seatless live record at its version must succeed',
      );
      await later(clock);
      // Seated now: b (a's place), c, d (fresh, last). At max 3 one must go: b.
      const e = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(e, OLDEST(3)),
        [b.id],
        "max 3 ('oldest') after rotating a seatless record: its successor must hold a seat",
      );
      await later(clock);
      const f = makeRecord({ subject, expiresAt: exp() });
      expectInserted(await otherLimited(f, OLDEST(3)), [c.id], 'the next eviction at max 3');
      await later(clock);
      const g = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(g, OLDEST(3)),
        [d.id],
        "the next eviction at max 3: the seatless record's successor took its seat after c",
      );
      await expectGoneIds(store, [b.id, c.id, d.id], 'after the evictions');
      expectRecord(await store.get(a.id), a3, 'the forwarder (seatless: never evicted)');
    });
  },
};

export const limitFreeCheck: SessionStoreCheck = {
  id: 'limit-free',
  name: 'insertWithLimit seats: a record at or past expiresAt holds none (nor is it reported evicted); an id reused after expiry takes a new seat; delete and deleteBySubject free seats',
  async run(factory, options) {
    const g = granularity(options);
    await withLimits(factory, options, async ({ store, limited, clock }) => {
      const exp = () => clock.now() + HOUR;
      const subject = randomId();
      // Real time: long enough to see it counted first, short enough to keep the suite quick.
      const lifetime = clock.virtual ? 10_000 : 150 + 2 * g;
      const short1 = makeRecord({ subject, expiresAt: clock.now() + lifetime });
      await store.insert(short1);
      await later(clock);
      const k = makeRecord({ subject, expiresAt: exp() });
      await store.insert(k);
      await later(clock);
      const x = makeRecord({ subject, expiresAt: exp() });
      if (clock.virtual) await clock.until(short1.expiresAt - g);
      if (clock.now() <= short1.expiresAt - g) {
        const before = await limited(x, REFUSE(2));
        ensure(!before.inserted, 'a record still before its expiresAt did not hold its seat');
      }
      await clock.until(short1.expiresAt + g - 1);
      expectInserted(
        await limited(x, REFUSE(2)),
        [],
        "at max 2 ('refuse') with one live and one expired record (an expired record holds no seat)",
      );
      await later(clock);
      // The expired record's id, inserted again, takes a new seat at the end.
      const reborn = withFields(short1, { expiresAt: exp(), payload: randomPayload(8) });
      expectInserted(await limited(reborn, REFUSE(3)), [], 'an id reused after expiry, at max 3');
      await later(clock);
      const y = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(y, OLDEST(3)),
        [k.id],
        "at max 3 ('oldest') after an id was reused: the earliest live seat goes, never the expired record nor the reused id's old place",
      );
      await later(clock);

      ensure((await store.delete(x.id)) === true, 'delete of a live record must be true');
      const z = makeRecord({ subject, expiresAt: exp() });
      expectInserted(
        await limited(z, REFUSE(3)),
        [],
        "at max 3 ('refuse') after a delete freed a seat",
      );
      const removed = await store.deleteBySubject(subject);
      ensure(removed === 3, `deleteBySubject returned ${String(removed)}, want 3`);
      const w = makeRecord({ subject, expiresAt: exp() });
      expectInserted(await limited(w, REFUSE(1)), [], "at max 1 ('refuse') after deleteBySubject");
    });
  },
  timeoutMs: (options) => (options.advanceTime ? 30_000 : 30_000 + granularity(options) * 4),
};

export const limitConcurrentCheck: SessionStoreCheck = {
  id: 'limit-concurrent',
  name: "insertWithLimit is atomic: of N concurrent calls at max k, 'refuse' inserts exactly min(N, k); 'oldest' inserts all and leaves exactly k seated, every evicted record gone and reported once",
  async run(factory, options) {
    const count = Math.max(2, options.concurrency ?? 20);
    const k = Math.min(3, count - 1);
    await withLimits(factory, options, async ({ store, other, limited, otherLimited, clock }) => {
      const exp = () => clock.now() + HOUR;
      const via = (i: number) => (i % 2 === 0 ? limited : otherLimited);

      const refusing = randomId();
      const candidates = Array.from({ length: count }, () =>
        makeRecord({ subject: refusing, expiresAt: exp() }),
      );
      const refused = await Promise.all(
        candidates.map((r, i) => outcome(() => via(i)(r, REFUSE(k)))),
      );
      const winners: SessionRecord[] = [];
      for (const [i, res] of refused.entries()) {
        if (!res.ok) {
          if (res.error instanceof ConformanceFailure) throw res.error;
          throw new ConformanceFailure(
            `a concurrent insertWithLimit ('refuse') threw ${describeError(res.error)}`,
            { cause: res.error },
          );
        }
        if (res.value.inserted) {
          expectInserted(res.value, [], "a concurrent insertWithLimit ('refuse')");
          winners.push(candidates[i]!);
        }
      }
      ensure(
        winners.length === Math.min(count, k),
        `${winners.length} of ${count} concurrent insertWithLimit at max ${k} ('refuse') inserted, want ${Math.min(count, k)}`,
      );
      expectRecordSet(
        await store.listBySubject(refusing),
        winners,
        "after concurrent insertWithLimit ('refuse')",
      );

      const evicting = randomId();
      const first = makeRecord({ subject: evicting, expiresAt: exp() });
      await store.insert(first);
      await later(clock);
      const racers = Array.from({ length: count }, () =>
        makeRecord({ subject: evicting, expiresAt: exp() }),
      );
      const results = await Promise.all(racers.map((r, i) => outcome(() => via(i)(r, OLDEST(k)))));
      const evicted: string[] = [];
      for (const res of results) {
        if (!res.ok) {
          if (res.error instanceof ConformanceFailure) throw res.error;
          throw new ConformanceFailure(
            `a concurrent insertWithLimit ('oldest') threw ${describeError(res.error)}`,
            { cause: res.error },
          );
        }
        ensure(res.value.inserted, "a concurrent insertWithLimit ('oldest') did not insert");
        evicted.push(...(res.value.evicted ?? []));
      }
      const all = [first, ...racers];
      const known = new Set(all.map((r) => r.id));
      ensure(
        evicted.every((id) => known.has(id)),
        'a concurrent insertWithLimit reported evicting a record that was never there',
      );
      ensure(
        new Set(evicted).size === evicted.length,
        'two concurrent insertWithLimit calls reported evicting the same record',
      );
      const gone = new Set(evicted);
      const left = all.filter((r) => !gone.has(r.id));
      expectRecordSet(
        await store.listBySubject(evicting),
        left,
        `after ${count} concurrent insertWithLimit at max ${k} ('oldest'), the records not reported evicted`,
      );
      ensure(
        left.length === k,
        `${left.length} records seated after ${count} concurrent insertWithLimit at max ${k} ('oldest'), want ${k}`,
      );
      ensure(
        gone.has(first.id),
        "the record seated before the race survived it, while later ones were evicted ('oldest')",
      );
      await expectGoneIds(store, evicted, 'after the race');
      await expectGoneIds(other, evicted, 'after the race (the other instance)');
    });
  },
};

export const limitArgumentsCheck: SessionStoreCheck = {
  id: 'limit-arguments',
  name: 'insertWithLimit over a live id throws StoreConflict and evicts nothing; a malformed limit or record rejects with InvalidArgument and changes nothing',
  async run(factory, options) {
    await withLimits(factory, options, async ({ store, limited, clock }) => {
      const exp = () => clock.now() + HOUR;
      const subject = randomId();
      const a = makeRecord({ subject, expiresAt: exp() });
      await store.insert(a);
      await later(clock);
      const b = makeRecord({ subject, expiresAt: exp() });
      await store.insert(b);
      await later(clock);
      const unchanged = async (context: string) => {
        expectRecord(await store.get(a.id), a, `${context}, the earliest-seated record`);
        expectRecord(await store.get(b.id), b, `${context}, the other seated record`);
        expectRecordSet(await store.listBySubject(subject), [a, b], context);
      };

      for (const [what, duplicate] of [
        ['the newest seated id', withFields(b, { payload: randomPayload(9) })],
        ['the earliest seated id', withFields(a, { payload: randomPayload(9) })],
      ] as const) {
        for (const limit of [OLDEST(2), OLDEST(1), REFUSE(5)]) {
          const res = await outcome(() => limited(duplicate, limit));
          ensure(
            !res.ok && (res.error as { code?: unknown } | null)?.code === 'ERR_STORE_CONFLICT',
            () =>
              `insertWithLimit of ${what} (max ${limit.max}, '${limit.evict}') must throw StoreConflict, got ${res.ok ? `inserted: ${String(res.value.inserted)}` : describeError(res.error)}`,
          );
          await unchanged(`after insertWithLimit of ${what} threw StoreConflict`);
        }
      }

      const badLimits: [string, unknown][] = [
        ['no limit', undefined],
        ['null', null],
        ['a number', 2],
        ['max 0', { max: 0, evict: 'oldest' }],
        ['max -1', { max: -1, evict: 'oldest' }],
        ['max 1.5', { max: 1.5, evict: 'oldest' }],
        ['max NaN', { max: Number.NaN, evict: 'refuse' }],
        ['max Infinity', { max: Number.POSITIVE_INFINITY, evict: 'refuse' }],
        ["max '2'", { max: '2', evict: 'refuse' }],
        [`max ${MAX_SUBJECT_LIMIT + 1}`, { max: MAX_SUBJECT_LIMIT + 1, evict: 'refuse' }],
        ['no max', { evict: 'oldest' }],
        ['no evict', { max: 1 }],
        ["evict 'newest'", { max: 1, evict: 'newest' }],
        ["evict 'OLDEST'", { max: 1, evict: 'OLDEST' }],
      ];
      const fresh = makeRecord({ subject, expiresAt: exp() });
      const fn = store.insertWithLimit!;
      for (const [what, limit] of badLimits) {
        await expectRejection(
          () => fn.call(store, fresh, limit as SubjectLimit),
          'ERR_INVALID_ARGUMENT',
          `insertWithLimit with limit ${what}`,
        );
        ensure(
          (await store.get(fresh.id)) === null,
          `insertWithLimit with limit ${what} stored its record`,
        );
      }
      await unchanged('after insertWithLimit with malformed limits');

      const badRecords: [string, SessionRecord][] = [
        ['a malformed id', withFields(fresh, { id: `${fresh.id.slice(0, 42)}/` })],
        ['a malformed subject', withFields(fresh, { subject: `${subject}\n` })],
        ['version 0', withFields(fresh, { version: 0 })],
        ['a non-integer expiresAt', withFields(fresh, { expiresAt: exp() + 0.5 })],
        ['a string payload', withFields(fresh, { payload: 'bytes' as unknown as Uint8Array })],
      ];
      for (const [what, record] of badRecords) {
        await expectRejection(
          () => fn.call(store, record, OLDEST(1)),
          'ERR_INVALID_ARGUMENT',
          `insertWithLimit of a record with ${what}`,
        );
      }
      ensure((await store.get(fresh.id)) === null, 'a malformed record was stored');
      await unchanged('after insertWithLimit of malformed records (at max 1)');
    });
  },
};
