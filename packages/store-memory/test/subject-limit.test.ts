import {
  Closed,
  InvalidArgument,
  type SessionRecord,
  StoreConflict,
  StoreFull,
  type SubjectLimit,
} from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { type FakeClock, fakeClock, key, rec, scanAll, storeAt } from './helpers';

/*
 * insertWithLimit and the seats every other method keeps (issue #17 item 6):
 * a record takes a seat on insert, rotate hands it to the successor with
 * its place, replace keeps it, delete and expiry free it.
 */

const oldest = (max: number): SubjectLimit => ({ max, evict: 'oldest' });
const refuse = (max: number): SubjectLimit => ({ max, evict: 'refuse' });

/** `n` records of one fresh subject, in seat order once inserted. */
function family(clock: FakeClock, n: number, ttl = 60_000): SessionRecord[] {
  const subject = key('fam');
  return Array.from({ length: n }, () => rec(clock, { subject, ttl }));
}

const ids = (records: readonly SessionRecord[]) => records.map((r) => r.id);
const sorted = (list: readonly string[]) => [...list].sort();
const liveIds = async (store: ReturnType<typeof storeAt>, subject: string) =>
  sorted(ids(await store.listBySubject(subject)));

describe('insertWithLimit: counting and evicting', () => {
  it('below max it inserts and evicts nothing; at max, oldest evicts the earliest-seated record', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const [a, b, c, d] = family(clock, 4) as [
      SessionRecord,
      SessionRecord,
      SessionRecord,
      SessionRecord,
    ];
    for (const r of [a, b, c]) {
      expect(await store.insertWithLimit(r, oldest(3))).toEqual({ inserted: true, evicted: [] });
    }
    expect(await store.insertWithLimit(d, oldest(3))).toEqual({ inserted: true, evicted: [a.id] });
    expect(await store.get(a.id)).toBeNull();
    expect(await liveIds(store, a.subject)).toEqual(sorted([b.id, c.id, d.id]));
    expect(await store.get(d.id)).toEqual(d);
  });

  it('evicts as many as needed to free one seat, and returns their ids oldest first', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 6);
    // Plain inserts take seats too, and no limit stops them.
    for (const r of fam.slice(0, 5)) await store.insert(r);
    const newest = fam[5] as SessionRecord;
    const outcome = await store.insertWithLimit(newest, oldest(2));
    expect(outcome).toEqual({ inserted: true, evicted: ids(fam.slice(0, 4)) });
    expect(await liveIds(store, newest.subject)).toEqual(sorted([fam[4]?.id ?? '', newest.id]));
  });

  it('only the subject of the record counts: other subjects are neither counted nor evicted', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const mine = family(clock, 2);
    const theirs = family(clock, 3);
    for (const r of theirs) await store.insert(r);
    for (const r of mine) await store.insertWithLimit(r, oldest(2));
    expect(await liveIds(store, (theirs[0] as SessionRecord).subject)).toEqual(sorted(ids(theirs)));
    expect(
      await store.insertWithLimit(
        rec(clock, { subject: (mine[0] as SessionRecord).subject }),
        oldest(2),
      ),
    ).toEqual({
      inserted: true,
      evicted: [mine[0]?.id],
    });
    expect(await liveIds(store, (theirs[0] as SessionRecord).subject)).toEqual(sorted(ids(theirs)));
  });

  it('refuse at max answers { inserted: false } and changes nothing', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 3);
    for (const r of fam.slice(0, 2)) await store.insert(r);
    const before = (await scanAll(store, 10)).records;
    const last = fam[2] as SessionRecord;
    expect(await store.insertWithLimit(last, refuse(2))).toEqual({ inserted: false });
    expect(await store.get(last.id)).toBeNull();
    expect((await scanAll(store, 10)).records).toEqual(before);
    // Over max (plain inserts past it) refuses too.
    expect(await store.insertWithLimit(last, refuse(1))).toEqual({ inserted: false });
    expect((await scanAll(store, 10)).records).toEqual(before);
  });

  it('a record already expired on arrival is accepted like insert accepts it: no seat, nothing evicted', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 2);
    await store.insert(fam[0] as SessionRecord);
    const dead = rec(clock, { subject: (fam[0] as SessionRecord).subject, ttl: 0 });
    expect(await store.insertWithLimit(dead, oldest(1))).toEqual({ inserted: true, evicted: [] });
    expect(await store.get(dead.id)).toBeNull();
    expect(await liveIds(store, dead.subject)).toEqual([fam[0]?.id]);
  });
});

describe('insertWithLimit: seats kept by the other methods', () => {
  it("rotate hands old's seat and its place to next; old stays live as a forwarder without a seat", async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const [a, b, c] = family(clock, 3) as [SessionRecord, SessionRecord, SessionRecord];
    for (const r of [a, b, c]) await store.insert(r);
    const a2 = rec(clock, { subject: a.subject });
    expect(await store.rotate({ record: { ...a, version: 2 }, expectedVersion: 1 }, a2)).toBe(true);

    // Four live records, three seats: the forwarder does not count.
    expect(await liveIds(store, a.subject)).toHaveLength(4);
    const d = rec(clock, { subject: a.subject });
    expect(await store.insertWithLimit(d, refuse(4))).toEqual({ inserted: true, evicted: [] });

    // a2 sits in a's place, the earliest, ahead of b, c and d; the forwarder is never evicted.
    const e = rec(clock, { subject: a.subject });
    expect(await store.insertWithLimit(e, oldest(3))).toEqual({
      inserted: true,
      evicted: [a2.id, b.id],
    });
    expect(await store.get(a.id)).not.toBeNull();
    expect(await liveIds(store, a.subject)).toEqual(sorted([a.id, c.id, d.id, e.id]));
  });

  it('a chain of rotations keeps the session in its first place', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const [a, b] = family(clock, 2) as [SessionRecord, SessionRecord];
    await store.insert(a);
    await store.insert(b);
    let current = a;
    for (let i = 0; i < 3; i++) {
      const next = rec(clock, { subject: a.subject });
      await store.rotate({ record: { ...current, version: 2 }, expectedVersion: 1 }, next);
      current = next;
    }
    const c = rec(clock, { subject: a.subject });
    expect(await store.insertWithLimit(c, oldest(2))).toEqual({
      inserted: true,
      evicted: [current.id],
    });
  });

  it('the successor of a forwarder takes a new seat, last in the order', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const [a, b] = family(clock, 2) as [SessionRecord, SessionRecord];
    await store.insert(a);
    await store.insert(b);
    const a2 = rec(clock, { subject: a.subject });
    await store.rotate({ record: { ...a, version: 2 }, expectedVersion: 1 }, a2);
    const a3 = rec(clock, { subject: a.subject });
    expect(await store.rotate({ record: { ...a, version: 3 }, expectedVersion: 2 }, a3)).toBe(true);
    // Seated now: a2 (a's place), b, a3 (new): it counts, and comes last.
    expect(await store.insertWithLimit(rec(clock, { subject: a.subject }), refuse(3))).toEqual({
      inserted: false,
    });
    const outcome = await store.insertWithLimit(rec(clock, { subject: a.subject }), oldest(2));
    expect(outcome).toEqual({ inserted: true, evicted: [a2.id, b.id] });
    expect(await store.get(a3.id)).not.toBeNull();
  });

  it('replace keeps the seat and its place', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const [a, b] = family(clock, 2) as [SessionRecord, SessionRecord];
    await store.insert(a);
    await store.insert(b);
    expect(await store.replace({ ...a, version: 2, payload: new Uint8Array(9) }, 1)).toBe(true);
    expect(await store.insertWithLimit(rec(clock, { subject: a.subject }), refuse(2))).toEqual({
      inserted: false,
    });
    expect(await store.insertWithLimit(rec(clock, { subject: a.subject }), oldest(2))).toEqual({
      inserted: true,
      evicted: [a.id],
    });
  });

  it('replace with a new subject moves the seat, with its place, to that subject', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const [a, b] = family(clock, 2) as [SessionRecord, SessionRecord];
    const [t] = family(clock, 1) as [SessionRecord];
    await store.insert(a);
    await store.insert(b);
    await store.insert(t);
    expect(await store.replace({ ...a, subject: t.subject, version: 2 }, 1)).toBe(true);
    // a's old subject has one seat left (b)...
    expect(
      await store.insertWithLimit(rec(clock, { subject: a.subject }), refuse(2)),
    ).toMatchObject({
      inserted: true,
    });
    // ...and the new one holds a's seat, older than t's.
    expect(await store.insertWithLimit(rec(clock, { subject: t.subject }), oldest(2))).toEqual({
      inserted: true,
      evicted: [a.id],
    });
    expect(await store.get(t.id)).not.toBeNull();
  });

  it('expiry frees the seat, from the millisecond of expiresAt, with or without a sweep', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const subject = key('exp');
    const short = rec(clock, { subject, ttl: 10 });
    const long = rec(clock, { subject, ttl: 1_000 });
    await store.insert(short);
    await store.insert(long);
    clock.advance(9);
    expect(await store.insertWithLimit(rec(clock, { subject }), refuse(2))).toEqual({
      inserted: false,
    });
    clock.advance(1);
    const third = rec(clock, { subject });
    expect(await store.insertWithLimit(third, refuse(2))).toEqual({ inserted: true, evicted: [] });
    // An expired record is never reported as evicted either.
    const fourth = rec(clock, { subject, ttl: 5 });
    clock.advance(1);
    expect(await store.insertWithLimit(fourth, oldest(2))).toEqual({
      inserted: true,
      evicted: [long.id],
    });
    clock.advance(5);
    expect(await store.sweep(clock.now)).toBe(1);
    expect(await store.insertWithLimit(rec(clock, { subject }), refuse(2))).toMatchObject({
      inserted: true,
    });
  });

  it('delete and deleteBySubject free seats', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const [a, b] = family(clock, 2) as [SessionRecord, SessionRecord];
    await store.insert(a);
    await store.insert(b);
    expect(await store.delete(a.id)).toBe(true);
    expect(
      await store.insertWithLimit(rec(clock, { subject: a.subject }), refuse(2)),
    ).toMatchObject({
      inserted: true,
    });
    expect(await store.deleteBySubject(a.subject)).toBe(2);
    for (let i = 0; i < 2; i++) {
      expect(
        await store.insertWithLimit(rec(clock, { subject: a.subject }), refuse(2)),
      ).toMatchObject({
        inserted: true,
      });
    }
  });
});

describe('insertWithLimit: atomic under concurrency', () => {
  it('many concurrent refuse calls: exactly max are inserted', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 200);
    const outcomes = await Promise.all(fam.map((r) => store.insertWithLimit(r, refuse(7))));
    expect(outcomes.filter((o) => o.inserted)).toHaveLength(7);
    expect(await store.listBySubject((fam[0] as SessionRecord).subject)).toHaveLength(7);
  });

  it('many concurrent oldest calls: all inserted, never more than max live, each eviction reported once', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 200);
    const subject = (fam[0] as SessionRecord).subject;
    let most = 0;
    const outcomes = await Promise.all(
      fam.map(async (r) => {
        const o = await store.insertWithLimit(r, oldest(7));
        most = Math.max(most, (await store.listBySubject(subject)).length);
        return o;
      }),
    );
    expect(outcomes.every((o) => o.inserted)).toBe(true);
    expect(most).toBe(7);
    const evicted = outcomes.flatMap((o) => o.evicted ?? []);
    expect(sorted(evicted)).toEqual(sorted(ids(fam.slice(0, 193))));
    expect(await liveIds(store, subject)).toEqual(sorted(ids(fam.slice(193))));
  });
});

describe('insertWithLimit: errors change nothing', () => {
  const badLimits: Array<[string, unknown]> = [
    ['null', null],
    ['a number', 3],
    ['max 0', { max: 0, evict: 'oldest' }],
    ['a fractional max', { max: 1.5, evict: 'oldest' }],
    ['max above MAX_SUBJECT_LIMIT', { max: 1_001, evict: 'refuse' }],
    ['a string max', { max: '2', evict: 'refuse' }],
    ['an unknown evict policy', { max: 2, evict: 'newest' }],
    ['no evict policy', { max: 2 }],
  ];

  it.each(badLimits)('a limit that is %s throws InvalidArgument', async (_what, limit) => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 2);
    await store.insert(fam[0] as SessionRecord);
    await expect(
      store.insertWithLimit(fam[1] as SessionRecord, limit as SubjectLimit),
    ).rejects.toThrow(InvalidArgument);
    expect(ids((await scanAll(store, 10)).records)).toEqual([fam[0]?.id]);
  });

  it('a malformed record throws InvalidArgument', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const bad = { ...rec(clock), id: 'short' };
    await expect(store.insertWithLimit(bad, oldest(1))).rejects.toThrow(InvalidArgument);
    expect((await scanAll(store, 10)).records).toEqual([]);
  });

  it('the limit is read once: a getter that changes after validation cannot slip past it', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 2);
    await store.insert(fam[0] as SessionRecord);
    let reads = 0;
    const shifty = {
      get max() {
        reads++;
        return reads === 1 ? 1 : 5;
      },
      evict: 'refuse',
    } as SubjectLimit;
    expect(await store.insertWithLimit(fam[1] as SessionRecord, shifty)).toEqual({
      inserted: false,
    });
  });

  it('a live duplicate id throws StoreConflict and evicts nothing, even with oldest at max', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const fam = family(clock, 2);
    for (const r of fam) await store.insert(r);
    const before = (await scanAll(store, 10)).records;
    const dup = { ...(fam[1] as SessionRecord), payload: new Uint8Array([7]) };
    await expect(store.insertWithLimit(dup, oldest(2))).rejects.toThrow(StoreConflict);
    expect((await scanAll(store, 10)).records).toEqual(before);
    // A dead record with that id is overwritten, as insert does.
    clock.advance(60_000);
    const again = { ...dup, expiresAt: clock.now + 1_000 };
    expect(await store.insertWithLimit(again, oldest(2))).toEqual({ inserted: true, evicted: [] });
    expect(await store.get(again.id)).toEqual(again);
  });

  it('a full store throws StoreFull when nothing is evicted, and makes room by evicting when oldest does', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 3 });
    const fam = family(clock, 2);
    const other = rec(clock);
    for (const r of [...fam, other]) await store.insert(r);
    const before = (await scanAll(store, 10)).records;
    await expect(store.insertWithLimit(rec(clock), oldest(2))).rejects.toThrow(StoreFull);
    await expect(
      store.insertWithLimit(rec(clock, { subject: (fam[0] as SessionRecord).subject }), oldest(3)),
    ).rejects.toThrow(StoreFull);
    expect((await scanAll(store, 10)).records).toEqual(before);
    const newest = rec(clock, { subject: (fam[0] as SessionRecord).subject });
    expect(await store.insertWithLimit(newest, oldest(2))).toEqual({
      inserted: true,
      evicted: [fam[0]?.id],
    });
    expect(await store.get(newest.id)).toEqual(newest);
  });

  it('after close it throws Closed', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    await store.close();
    await expect(store.insertWithLimit(rec(clock), oldest(1))).rejects.toThrow(Closed);
    // Closed wins over a malformed argument.
    await expect(
      store.insertWithLimit(rec(clock), null as unknown as SubjectLimit),
    ).rejects.toThrow(Closed);
  });
});
