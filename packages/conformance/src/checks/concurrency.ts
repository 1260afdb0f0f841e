import type { SessionRecord, SessionStore } from '@cloakroom/core';
import { ensure, type SessionStoreCheck, suiteClock, withStorePair } from '../harness';
import {
  describeError,
  expectRecord,
  hasCode,
  makeRecord,
  outcome,
  randomId,
  randomPayload,
  summary,
  withFields,
} from '../records';

const HOUR = 3_600_000;
const n = (c: number | undefined) => Math.max(2, c ?? 20);
/** Alternates between the two handles, so half the racing calls come through the sibling. */
const either = (store: SessionStore, other: SessionStore, i: number) =>
  i % 2 === 0 ? store : other;

export const concurrentInsertCheck: SessionStoreCheck = {
  id: 'concurrent-insert',
  name: 'concurrent inserts of one id: exactly one succeeds, the others throw StoreConflict',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStorePair(factory, options, async (store, other) => {
      const id = randomId();
      const candidates = Array.from({ length: n(options.concurrency) }, () =>
        makeRecord({ id, expiresAt: clock.now() + HOUR, payload: randomPayload(16) }),
      );
      const results = await Promise.all(
        candidates.map((r, i) => outcome(() => either(store, other, i).insert(r))),
      );
      const winners = results.flatMap((r, i) => (r.ok ? [candidates[i]!] : []));
      ensure(
        winners.length === 1,
        `${winners.length} of ${candidates.length} concurrent inserts succeeded, want 1`,
      );
      for (const r of results) {
        if (!r.ok) {
          ensure(
            hasCode(r.error, 'ERR_STORE_CONFLICT'),
            () => `a losing insert threw ${describeError(r.error)}`,
          );
        }
      }
      expectRecord(await store.get(id), winners[0]!, 'after concurrent inserts, the stored record');
    });
  },
};

export const concurrentReplaceCheck: SessionStoreCheck = {
  id: 'concurrent-replace',
  name: 'concurrent replace with one expected version: exactly one returns true and its record is stored',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStorePair(factory, options, async (store, other) => {
      const base = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(base);
      const candidates = Array.from({ length: n(options.concurrency) }, () =>
        withFields(base, { version: 2, payload: randomPayload(16), subject: randomId() }),
      );
      const results = await Promise.all(
        candidates.map((r, i) => either(store, other, i).replace(r, 1)),
      );
      const winners = candidates.filter((_, i) => results[i] === true);
      ensure(
        results.every((r) => typeof r === 'boolean'),
        'replace must return a boolean',
      );
      ensure(
        winners.length === 1,
        `${winners.length} of ${candidates.length} concurrent replaces returned true, want 1`,
      );
      const winner = winners[0]!;
      expectRecord(
        await store.get(base.id),
        winner,
        'after concurrent replaces, the stored record',
      );
      const lists = await Promise.all(candidates.map((c) => store.listBySubject(c.subject)));
      lists.forEach((list, i) => {
        const want = candidates[i] === winner ? 1 : 0;
        ensure(
          list.length === want,
          `a loser's subject lists ${list.length} records, want ${want}`,
        );
      });
      ensure(
        (await store.listBySubject(base.subject)).length === 0,
        'the old subject still lists the record',
      );
    });
  },
};

export const concurrentRotateCheck: SessionStoreCheck = {
  id: 'concurrent-rotate',
  name: 'concurrent rotate of one record into distinct next ids: exactly one true, exactly one successor exists',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStorePair(factory, options, async (store, other) => {
      const base = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(base);
      const attempts = Array.from({ length: n(options.concurrency) }, () => ({
        old: withFields(base, {
          version: 2,
          expiresAt: clock.now() + 60_000,
          payload: randomPayload(8),
        }),
        next: makeRecord({ subject: base.subject, expiresAt: clock.now() + HOUR }),
      }));
      const results = await Promise.all(
        attempts.map((a, i) =>
          outcome(() =>
            either(store, other, i).rotate({ record: a.old, expectedVersion: 1 }, a.next),
          ),
        ),
      );
      for (const r of results) {
        if (!r.ok) throw new Error(`a concurrent rotate threw ${describeError(r.error)}`);
      }
      const won = attempts.filter((_, i) => {
        const r = results[i]!;
        return r.ok && r.value === true;
      });
      ensure(
        won.length === 1,
        `${won.length} of ${attempts.length} concurrent rotates returned true, want 1`,
      );
      const successors = (await Promise.all(attempts.map((a) => store.get(a.next.id)))).filter(
        (r) => r !== null,
      );
      ensure(
        successors.length === 1,
        `${successors.length} successors exist after concurrent rotates, want 1`,
      );
      expectRecord(successors[0], won[0]!.next, 'the successor');
      expectRecord(await store.get(base.id), won[0]!.old, 'the rotated old record');
      const listed = await store.listBySubject(base.subject);
      ensure(
        listed.length === 2,
        `the subject lists ${listed.length} records after rotate, want 2 (old and successor)`,
      );
    });
  },
};

export const rotateConflictCheck: SessionStoreCheck = {
  id: 'rotate-conflict',
  name: 'rotate into a live next id throws StoreConflict and changes nothing; concurrent rotates into one next id: one wins',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStorePair(factory, options, async (store, other) => {
      const old = makeRecord({ expiresAt: clock.now() + HOUR });
      const taken = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(old);
      await store.insert(taken);
      const next = withFields(taken, { subject: randomId(), payload: randomPayload(5) });
      const r = await outcome(() =>
        store.rotate(
          {
            record: withFields(old, { version: 2, payload: randomPayload(4) }),
            expectedVersion: 1,
          },
          next,
        ),
      );
      ensure(
        !r.ok && hasCode(r.error, 'ERR_STORE_CONFLICT'),
        () =>
          `rotate into a live id must throw StoreConflict, got ${r.ok ? String(r.value) : describeError(r.error)}`,
      );
      expectRecord(await store.get(old.id), old, 'after a refused rotate, the old record');
      expectRecord(
        await store.get(taken.id),
        taken,
        'after a refused rotate, the record holding the next id',
      );

      const olds = Array.from({ length: n(options.concurrency) }, () =>
        makeRecord({ expiresAt: clock.now() + HOUR }),
      );
      for (const o of olds) await store.insert(o);
      const sharedNext = makeRecord({ expiresAt: clock.now() + HOUR });
      const results = await Promise.all(
        olds.map((o, i) =>
          outcome(() =>
            either(store, other, i).rotate(
              { record: withFields(o, { version: 2 }), expectedVersion: 1 },
              sharedNext,
            ),
          ),
        ),
      );
      let wins = 0;
      for (const [i, res] of results.entries()) {
        const o = olds[i]!;
        if (res.ok && res.value === true) {
          wins++;
          expectRecord(
            await store.get(o.id),
            withFields(o, { version: 2 }),
            "the winning rotate's old record",
          );
        } else {
          ensure(
            !res.ok && hasCode(res.error, 'ERR_STORE_CONFLICT'),
            () =>
              `a losing rotate into a taken next id must throw StoreConflict, got ${res.ok ? String(res.value) : describeError(res.error)}`,
          );
          expectRecord(
            await store.get(o.id),
            o,
            'a losing rotate changed its old record; the old record',
          );
        }
      }
      ensure(wins === 1, `${wins} concurrent rotates into one next id returned true, want 1`);
      expectRecord(await store.get(sharedNext.id), sharedNext, 'the shared next record');
    });
  },
};

export const rotateAtomicCheck: SessionStoreCheck = {
  id: 'rotate-atomic',
  name: 'rotate is atomic: no reader sees the old record rewritten while its successor is missing',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStorePair(factory, options, async (store, other) => {
      for (let round = 0; round < 5; round++) {
        const old = makeRecord({ expiresAt: clock.now() + HOUR });
        await store.insert(old);
        const rewritten = withFields(old, { version: 2, payload: randomPayload(6) });
        const next = makeRecord({ subject: old.subject, expiresAt: clock.now() + HOUR });
        let done = false;
        const watcher = (async () => {
          const seen: string[] = [];
          while (!done) {
            // A macrotask turn, so a store that resolves synchronously cannot starve the rotate.
            await new Promise<void>((resolve) => setImmediate(resolve));
            // The reader is the sibling when there is one: atomicity must hold across instances.
            const current: SessionRecord | null = await other.get(old.id);
            if (current?.version === 2) {
              const successor = await other.get(next.id);
              if (successor === null) seen.push('old rewritten, successor missing');
            }
          }
          return seen;
        })();
        const rotated = await store.rotate({ record: rewritten, expectedVersion: 1 }, next);
        done = true;
        const seen = await watcher;
        ensure(rotated === true, 'rotate of a live record at its version must return true');
        ensure(seen.length === 0, `a reader saw: ${seen[0]}`);
        const successor = await store.get(next.id);
        ensure(successor !== null, () => `after rotate the successor reads ${summary(successor)}`);
      }
    });
  },
};
