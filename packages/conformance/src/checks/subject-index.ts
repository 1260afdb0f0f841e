import { ensure, type SessionStoreCheck, suiteClock, withStore } from '../harness';
import { expectRecord, expectRecordSet, makeRecord, randomId, withFields } from '../records';

const HOUR = 3_600_000;

export const subjectFollowsCheck: SessionStoreCheck = {
  id: 'subject-follows',
  name: 'subject index follows replace and rotate: listBySubject and deleteBySubject see exactly the live records (no ghosts, no misses)',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const a = randomId();
      const b = randomId();
      const other = makeRecord({ subject: randomId(), expiresAt: clock.now() + HOUR });
      await store.insert(other);
      const many = Array.from({ length: 25 }, () =>
        makeRecord({ subject: a, expiresAt: clock.now() + HOUR }),
      );
      for (const r of many) await store.insert(r);
      expectRecordSet(await store.listBySubject(a), many, 'listBySubject(a) after 25 inserts');

      // replace moves one record from a to b
      const moved = withFields(many[0]!, { subject: b, version: 2 });
      ensure(
        (await store.replace(moved, 1)) === true,
        'replace with a subject change must succeed',
      );
      expectRecordSet(
        await store.listBySubject(a),
        many.slice(1),
        'listBySubject(a) after moving one to b',
      );
      expectRecordSet(await store.listBySubject(b), [moved], 'listBySubject(b) after the move');

      // rotate: old stays under a (as a tombstone would), its successor lands under b
      const tomb = withFields(many[1]!, { version: 2, expiresAt: clock.now() + 60_000 });
      const successor = makeRecord({ subject: b, expiresAt: clock.now() + HOUR });
      ensure(
        (await store.rotate({ record: tomb, expectedVersion: 1 }, successor)) === true,
        'rotate must succeed',
      );
      expectRecordSet(
        await store.listBySubject(b),
        [moved, successor],
        'listBySubject(b) after rotate',
      );
      expectRecordSet(
        await store.listBySubject(a),
        [tomb, ...many.slice(2)],
        'listBySubject(a) after rotate',
      );

      // rotate that moves the old record to b as well
      const movedByRotate = withFields(many[2]!, { subject: b, version: 2 });
      const successor2 = makeRecord({ subject: a, expiresAt: clock.now() + HOUR });
      ensure(
        (await store.rotate({ record: movedByRotate, expectedVersion: 1 }, successor2)) === true,
        'rotate with a subject change must succeed',
      );
      const inA = [tomb, ...many.slice(3), successor2];
      const inB = [moved, successor, movedByRotate];
      expectRecordSet(await store.listBySubject(a), inA, 'listBySubject(a) after a moving rotate');
      expectRecordSet(await store.listBySubject(b), inB, 'listBySubject(b) after a moving rotate');

      // delete one, then deleteBySubject counts and removes exactly the rest
      ensure((await store.delete(many[3]!.id)) === true, 'delete must succeed');
      const deleted = await store.deleteBySubject(a);
      ensure(
        deleted === inA.length - 1,
        `deleteBySubject(a) returned ${deleted}, want ${inA.length - 1}`,
      );
      ensure(
        (await store.listBySubject(a)).length === 0,
        'listBySubject(a) after deleteBySubject must be []',
      );
      for (const r of inA)
        ensure((await store.get(r.id)) === null, 'a record of a survived deleteBySubject(a)');
      expectRecordSet(
        await store.listBySubject(b),
        inB,
        'listBySubject(b) after deleteBySubject(a)',
      );
      expectRecord(await store.get(other.id), other, 'a record of an unrelated subject');
      ensure((await store.deleteBySubject(a)) === 0, 'a repeat deleteBySubject must return 0');
    });
  },
};

export const subjectGhostCheck: SessionStoreCheck = {
  id: 'subject-ghosts',
  name: 'subject index leaves no ghosts: an id deleted (one by one or by subject) and reused under another subject is listed only there',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const a = randomId();
      const b = randomId();
      const first = makeRecord({ subject: a, expiresAt: clock.now() + HOUR });
      const second = makeRecord({ subject: a, expiresAt: clock.now() + HOUR });
      await store.insert(first);
      await store.insert(second);
      ensure((await store.deleteBySubject(a)) === 2, 'deleteBySubject(a) must delete 2');
      ensure(
        (await store.delete(second.id)) === false,
        'delete after deleteBySubject must be false',
      );
      const reusedFirst = withFields(first, { subject: b, payload: new Uint8Array([1]) });
      await store.insert(reusedFirst);
      ensure(await store.delete(reusedFirst.id), 'delete of the reused id must succeed');
      const reused = [withFields(first, { subject: b }), withFields(second, { subject: b })];
      for (const r of reused) await store.insert(r);
      ensure(
        (await store.listBySubject(a)).length === 0,
        'listBySubject(a) returns records that moved to b',
      );
      ensure(
        (await store.deleteBySubject(a)) === 0,
        'deleteBySubject(a) counts records that now belong to b',
      );
      expectRecordSet(await store.listBySubject(b), reused, 'listBySubject(b) after reuse');
      for (const r of reused)
        expectRecord(await store.get(r.id), r, 'a reused id after deleteBySubject(a)');
    });
  },
};
