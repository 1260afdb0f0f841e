import { InvalidArgument, StoreFull } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeClock, rec, scanAll, storeAt } from './helpers';

describe('capacity: never evicts a live session', () => {
  it('a flood of inserts past maxSessions throws StoreFull while every existing session survives', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 100 });
    const users = Array.from({ length: 100 }, () => rec(clock, { ttl: 3_600_000 }));
    for (const r of users) await store.insert(r);
    let refused = 0;
    for (let i = 0; i < 1_000; i++) {
      await store.insert(rec(clock)).catch((e) => {
        expect(e).toBeInstanceOf(StoreFull);
        refused++;
      });
    }
    expect(refused).toBe(1_000);
    for (const r of users) expect(await store.get(r.id)).toEqual(r);
  });

  it('a refused insert at capacity costs O(1), not a walk over every record', async () => {
    const clock = fakeClock();
    const refusalTime = async (capacity: number) => {
      const store = storeAt(clock, { maxSessions: capacity });
      for (let i = 0; i < capacity; i++) await store.insert(rec(clock, { ttl: 3_600_000 + i }));
      const attempts = Array.from({ length: 5_000 }, () => rec(clock));
      const started = performance.now();
      for (const r of attempts) await store.insert(r).catch(() => undefined);
      const elapsed = performance.now() - started;
      await expect(store.insert(rec(clock))).rejects.toThrow(StoreFull);
      return elapsed;
    };
    await refusalTime(100); // warm up
    const small = await refusalTime(100);
    const large = await refusalTime(20_000);
    // Walking all records on each refusal makes the large store >10x slower
    // here (measured); refusing in O(1) keeps the ratio near 1.
    expect(large / small).toBeLessThan(4);
  });

  it('at capacity, expired records are reclaimed to make room before refusing', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 3 });
    const short = rec(clock, { ttl: 10 });
    const long = [rec(clock), rec(clock)];
    for (const r of [short, ...long]) await store.insert(r);
    await expect(store.insert(rec(clock))).rejects.toThrow(StoreFull);
    clock.advance(10);
    const fresh = rec(clock);
    await store.insert(fresh);
    expect(await store.get(fresh.id)).toEqual(fresh);
    for (const r of long) expect(await store.get(r.id)).toEqual(r);
    await expect(store.insert(rec(clock))).rejects.toThrow(StoreFull);
  });

  it('after a mass expiry a full store accepts a whole capacity of new sessions, reclaiming as it goes', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 5_000 });
    for (let i = 0; i < 5_000; i++) await store.insert(rec(clock, { ttl: 10 }));
    clock.advance(10);
    for (let i = 0; i < 5_000; i++) await store.insert(rec(clock));
    await expect(store.insert(rec(clock))).rejects.toThrow(StoreFull);
    expect(await store.sweep(clock.now)).toBe(0);
  });

  it('deleting a session frees its slot', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 2 });
    const a = rec(clock);
    await store.insert(a);
    await store.insert(rec(clock));
    await expect(store.insert(rec(clock))).rejects.toThrow(StoreFull);
    await store.delete(a.id);
    await store.insert(rec(clock));
  });

  it('rotate at capacity throws StoreFull and changes nothing; with an expired record around it succeeds', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 2 });
    const old = rec(clock);
    const short = rec(clock, { ttl: 10 });
    await store.insert(old);
    await store.insert(short);
    const next = rec(clock);
    const tombstone = { ...old, version: 2, expiresAt: clock.now + 5 };
    await expect(store.rotate({ record: tombstone, expectedVersion: 1 }, next)).rejects.toThrow(
      StoreFull,
    );
    expect(await store.get(old.id)).toEqual(old);
    expect(await store.get(next.id)).toBeNull();
    clock.advance(10);
    const later = { ...old, version: 2, expiresAt: clock.now + 5 };
    expect(await store.rotate({ record: later, expectedVersion: 1 }, next)).toBe(true);
    expect(await store.get(next.id)).toEqual(next);
  });

  it('replace never needs room, even at capacity', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 1 });
    const r = rec(clock);
    await store.insert(r);
    expect(await store.replace({ ...r, version: 2 }, 1)).toBe(true);
  });
});

describe('sweep', () => {
  it('sweep(now) removes exactly the records expired at now and returns their count', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const ttls = [5, 10, 10, 20, 1_000];
    const records = ttls.map((ttl) => rec(clock, { ttl }));
    for (const r of records) await store.insert(r);
    expect(await store.sweep(clock.now + 4)).toBe(0);
    expect(await store.sweep(clock.now + 10)).toBe(3);
    expect(await store.sweep(clock.now + 10)).toBe(0);
    expect((await scanAll(store, 10)).records.map((r) => r.id).sort()).toEqual(
      [records[3]?.id, records[4]?.id].sort(),
    );
  });

  it('sweep follows expiries changed by replace (no early or missed removal)', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const extended = rec(clock, { ttl: 10 });
    const shortened = rec(clock, { ttl: 1_000 });
    await store.insert(extended);
    await store.insert(shortened);
    await store.replace({ ...extended, version: 2, expiresAt: clock.now + 1_000 }, 1);
    await store.replace({ ...shortened, version: 2, expiresAt: clock.now + 10 }, 1);
    expect(await store.sweep(clock.now + 10)).toBe(1);
    clock.advance(10);
    expect(await store.get(extended.id)).not.toBeNull();
    expect(await store.get(shortened.id)).toBeNull();
  });

  it('many replaces of one record keep the expiry heap bounded and correct', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    for (let v = 1; v <= 5_000; v++) {
      expect(await store.replace({ ...r, version: v + 1, expiresAt: clock.now + 10 + v }, v)).toBe(
        true,
      );
    }
    expect(await store.sweep(clock.now + 5_009)).toBe(0);
    expect(await store.sweep(clock.now + 5_010)).toBe(1);
  });

  it('sweep rejects a non-finite time', async () => {
    const store = storeAt(fakeClock());
    await expect(store.sweep(Number.NaN)).rejects.toThrow(InvalidArgument);
  });
});

describe('background sweep timer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reclaims expired records every sweepIntervalMs, and close stops it', async () => {
    vi.useFakeTimers();
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 1_000, maxSessions: 2 });
    await store.insert(rec(clock, { ttl: 500 }));
    await store.insert(rec(clock, { ttl: 500 }));
    clock.advance(500);
    // Nothing was read since they expired: only the timer can have reclaimed them.
    vi.advanceTimersByTime(1_000);
    expect(await store.sweep(clock.now)).toBe(0);
    expect(vi.getTimerCount()).toBe(1);
    await store.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a mass expiry is swept in batches of 10,000 that yield to the event loop between them', async () => {
    vi.useFakeTimers();
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 1_000, maxSessions: 30_000 });
    for (let i = 0; i < 25_000; i++) await store.insert(rec(clock, { ttl: 500 }));
    clock.advance(500);
    vi.advanceTimersToNextTimer(); // the interval fires: one batch, then a scheduled continuation
    expect(vi.getTimerCount()).toBe(2);
    expect(await store.sweep(clock.now)).toBe(15_000);
    vi.runOnlyPendingTimers();
    await store.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the batched background sweep runs to completion on its own', async () => {
    vi.useFakeTimers();
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 1_000, maxSessions: 30_000 });
    for (let i = 0; i < 25_000; i++) await store.insert(rec(clock, { ttl: 500 }));
    const survivor = rec(clock, { ttl: 5_000 });
    await store.insert(survivor);
    clock.advance(500);
    vi.advanceTimersByTime(1_000); // batch 1 of 3
    vi.advanceTimersToNextTimer(); // the continuation, before the next interval: batch 2
    vi.advanceTimersToNextTimer(); // batch 3 removes the last 5,000 and schedules nothing
    expect(vi.getTimerCount()).toBe(1);
    expect(await store.sweep(clock.now)).toBe(0);
    expect(await store.get(survivor.id)).toEqual(survivor);
    await store.close();
  });

  it('sweepIntervalMs 0 starts no timer', () => {
    vi.useFakeTimers();
    const on = createMemoryStore({ sweepIntervalMs: 10 });
    expect(vi.getTimerCount()).toBe(1);
    createMemoryStore({ sweepIntervalMs: 0 });
    expect(vi.getTimerCount()).toBe(1);
    void on.close();
  });

  it('the default store sweeps every 60 s on a timer that does not hold the process open', async () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    try {
      const store = createMemoryStore();
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.[1]).toBe(60_000);
      const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      await store.close();
    } finally {
      spy.mockRestore();
    }
  });
});
