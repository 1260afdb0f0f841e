import { StoreConflict } from '@cloakroom/core';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, key, rec, storeAt } from './helpers';

const clock = fakeClock();
afterEach(() => {
  clock.now = 1_700_000_000_000;
});

describe('replace (compare-and-swap)', () => {
  it('succeeds at the expected version and writes the caller record', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    const v2 = { ...r, version: 2, expiresAt: r.expiresAt + 5, payload: new Uint8Array([42]) };
    expect(await store.replace(v2, 1)).toBe(true);
    expect(await store.get(r.id)).toEqual(v2);
  });

  it('fails at another version, on a missing id and on an expired record, changing nothing', async () => {
    const store = storeAt(clock);
    const r = rec(clock, { ttl: 100 });
    await store.insert(r);
    expect(await store.replace({ ...r, version: 3 }, 2)).toBe(false);
    expect(await store.get(r.id)).toEqual(r);
    expect(await store.replace(rec(clock, { version: 2 }), 1)).toBe(false);
    clock.advance(100);
    expect(await store.replace({ ...r, version: 2, expiresAt: clock.now + 1000 }, 1)).toBe(false);
    expect(await store.get(r.id)).toBeNull();
  });

  it('of N concurrent replaces at one version exactly one succeeds', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.replace({ ...r, version: 2, payload: new Uint8Array([i]) }, 1),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect((await store.get(r.id))?.payload).toEqual(new Uint8Array([winner]));
  });

  it('moves the record between subject indexes when the subject changes', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    const sibling = rec(clock, { subject: r.subject });
    await store.insert(r);
    await store.insert(sibling);
    const moved = { ...r, subject: key('newsub'), version: 2 };
    expect(await store.replace(moved, 1)).toBe(true);
    expect(await store.listBySubject(r.subject)).toEqual([sibling]);
    expect(await store.listBySubject(moved.subject)).toEqual([moved]);
    expect(await store.deleteBySubject(r.subject)).toBe(1);
    expect(await store.get(moved.id)).toEqual(moved);
  });

  it('a replace that writes an expiresAt already past kills the record', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    expect(await store.replace({ ...r, version: 2, expiresAt: clock.now }, 1)).toBe(true);
    expect(await store.get(r.id)).toBeNull();
    expect(await store.listBySubject(r.subject)).toEqual([]);
  });
});

describe('rotate', () => {
  it('replaces the old record and inserts the next one together', async () => {
    const store = storeAt(clock);
    const old = rec(clock);
    await store.insert(old);
    const tombstone = { ...old, version: 2, expiresAt: clock.now + 5_000 };
    const next = rec(clock, { subject: old.subject });
    expect(await store.rotate({ record: tombstone, expectedVersion: 1 }, next)).toBe(true);
    expect(await store.get(old.id)).toEqual(tombstone);
    expect(await store.get(next.id)).toEqual(next);
    const listed = await store.listBySubject(old.subject);
    expect(listed.map((r) => r.id).sort()).toEqual([old.id, next.id].sort());
  });

  it('returns false and changes nothing on a version mismatch, a missing or an expired old record', async () => {
    const store = storeAt(clock);
    const old = rec(clock, { ttl: 100 });
    await store.insert(old);
    const next = rec(clock);
    expect(await store.rotate({ record: { ...old, version: 3 }, expectedVersion: 2 }, next)).toBe(
      false,
    );
    expect(
      await store.rotate({ record: rec(clock, { version: 2 }), expectedVersion: 1 }, next),
    ).toBe(false);
    clock.advance(100);
    expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next)).toBe(
      false,
    );
    expect(await store.get(next.id)).toBeNull();
    expect(await store.listBySubject(next.subject)).toEqual([]);
  });

  it('throws StoreConflict when next.id is live, and changes nothing', async () => {
    const store = storeAt(clock);
    const old = rec(clock);
    const taken = rec(clock);
    await store.insert(old);
    await store.insert(taken);
    const next = { ...rec(clock), id: taken.id };
    await expect(
      store.rotate(
        { record: { ...old, version: 2, payload: new Uint8Array([1]) }, expectedVersion: 1 },
        next,
      ),
    ).rejects.toThrow(StoreConflict);
    expect(await store.get(old.id)).toEqual(old);
    expect(await store.get(taken.id)).toEqual(taken);
    expect(await store.listBySubject(next.subject)).toEqual([]);
  });

  it('rotating a record onto its own id is a conflict', async () => {
    const store = storeAt(clock);
    const old = rec(clock);
    await store.insert(old);
    await expect(
      store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, { ...old, version: 1 }),
    ).rejects.toThrow(StoreConflict);
    expect(await store.get(old.id)).toEqual(old);
  });

  it('next.id held by an expired record is free to take', async () => {
    const store = storeAt(clock);
    const stale = rec(clock, { ttl: 10 });
    await store.insert(stale);
    const old = rec(clock);
    await store.insert(old);
    clock.advance(10);
    const next = { ...rec(clock), id: stale.id };
    expect(await store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next)).toBe(
      true,
    );
    expect(await store.get(stale.id)).toEqual(next);
    expect(await store.listBySubject(stale.subject)).toEqual([]);
  });

  it('of N concurrent rotates of one record exactly one succeeds and one successor exists', async () => {
    const store = storeAt(clock);
    const old = rec(clock);
    await store.insert(old);
    const nexts = Array.from({ length: 40 }, () => rec(clock, { subject: old.subject }));
    const results = await Promise.all(
      nexts.map((next) =>
        store.rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const live = await Promise.all(nexts.map((n) => store.get(n.id)));
    expect(live.filter((r) => r !== null)).toEqual([nexts[results.indexOf(true)]]);
    expect(await store.listBySubject(old.subject)).toHaveLength(2);
  });
});
