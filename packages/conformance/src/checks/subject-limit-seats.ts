import { ensure, granularity, type SessionStoreCheck } from '../harness';
import {
  expectRecord,
  expectRecordSet,
  makeRecord,
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
