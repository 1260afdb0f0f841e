// `SessionStore.insertWithLimit`: per-subject seats, the store half of core's
// `sessionLimit`. Checked only for stores that have the method (or that list
// it in `requiredMethods`). A record takes a seat when it is inserted; a
// rotate's successor takes over the old record's seat and its place in the
// order, and the old record stays live without one; replace keeps the seat;
// delete and expiry free it. Seats the checks compare are taken at least 1 ms
// apart on the store's clock, so a store that orders seats by time is judged
// on the order, not on ties.
import { MAX_SUBJECT_LIMIT, type SessionRecord, type SubjectLimit } from '@cloakroom/core';
import { ConformanceFailure, ensure, type SessionStoreCheck } from '../harness';
import {
  describeError,
  expectRecord,
  expectRecordSet,
  expectRejection,
  makeRecord,
  outcome,
  randomId,
  randomPayload,
  withFields,
} from '../records';

import {
  HOUR,
  OLDEST,
  REFUSE,
  expectGoneIds,
  expectInserted,
  later,
  withLimits,
} from './subject-limit-kit';

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
