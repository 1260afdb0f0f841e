import { InvalidArgument, type SessionRecord } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeClock, rec, scanAll, storeAt } from './helpers';

const ids = (records: readonly SessionRecord[]) => records.map((r) => r.id).sort();

describe('scan', () => {
  it('an empty store gives one empty, final page', async () => {
    const page = await storeAt(fakeClock()).scan({ limit: 10 });
    expect(page).toEqual({ records: [] });
    expect('cursor' in page).toBe(false);
  });

  it('pages through every live record exactly once, each page within its limit', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const records = Array.from({ length: 1_000 }, () => rec(clock));
    for (const r of records) await store.insert(r);
    for (const limit of [1, 7, 100, 1_000, 5_000]) {
      const seen: SessionRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.scan(cursor === undefined ? { limit } : { cursor, limit });
        expect(page.records.length).toBeLessThanOrEqual(limit);
        seen.push(...page.records);
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(seen).toHaveLength(records.length);
      expect(ids(seen)).toEqual(ids(records));
      expect(seen.find((r) => r.id === records[500]?.id)).toEqual(records[500]);
    }
  });

  it('never returns an expired record', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const records = Array.from({ length: 300 }, (_, i) =>
      rec(clock, { ttl: i % 2 === 0 ? 10 : 10_000 }),
    );
    for (const r of records) await store.insert(r);
    clock.advance(10);
    const { records: seen } = await scanAll(store, 13);
    expect(ids(seen)).toEqual(ids(records.filter((_, i) => i % 2 === 1)));
  });

  it('records that stay live are seen exactly once despite inserts, deletes and replaces between pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 25 }),
        fc.array(fc.constantFrom('insert', 'delete', 'replace', 'expire'), { maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        async (initial, limit, churn, picks) => {
          const clock = fakeClock();
          const store = storeAt(clock);
          const stable = Array.from({ length: initial }, () => rec(clock, { ttl: 1_000_000 }));
          const volatile = Array.from({ length: initial }, () => rec(clock, { ttl: 1_000_000 }));
          for (const r of [...stable, ...volatile]) await store.insert(r);
          const versions = new Map(stable.map((r) => [r.id, 1]));
          let step = 0;
          const pick = () => picks.next().value as number;
          const { records: seen } = await scanAll(store, limit, async () => {
            // Churn stops after the listed steps: a scan that gains one new
            // record per page of one would otherwise (legitimately) never end.
            const op = churn[step++];
            if (op === 'insert') await store.insert(rec(clock, { ttl: 1_000_000 }));
            if (op === 'delete' && volatile.length > 0) {
              const [gone] = volatile.splice(pick() % volatile.length, 1);
              if (gone) await store.delete(gone.id);
            }
            if (op === 'replace' && stable.length > 0) {
              // A record rewritten in place (as rewrap does) is still "the same record".
              const r = stable[pick() % stable.length] as SessionRecord;
              const v = versions.get(r.id) as number;
              expect(await store.replace({ ...r, version: v + 1 }, v)).toBe(true);
              versions.set(r.id, v + 1);
            }
            if (op === 'expire') {
              const short = rec(clock, { ttl: 1 });
              await store.insert(short);
              clock.advance(1);
            }
          });
          const counts = new Map<string, number>();
          for (const r of seen) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
          for (const r of stable) expect(counts.get(r.id)).toBe(1);
          for (const n of counts.values()) expect(n).toBe(1);
          for (const r of seen) expect(r.expiresAt).toBeGreaterThan(clock.now - 1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a scan that rewrites every record it visits still ends, seeing each once (rewrap)', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const records = Array.from({ length: 500 }, () => rec(clock));
    for (const r of records) await store.insert(r);
    let cursor: string | undefined;
    const seen: string[] = [];
    let pages = 0;
    do {
      const page = await store.scan(cursor === undefined ? { limit: 50 } : { cursor, limit: 50 });
      for (const r of page.records) {
        seen.push(r.id);
        expect(
          await store.replace(
            { ...r, version: r.version + 1, payload: new Uint8Array([1]) },
            r.version,
          ),
        ).toBe(true);
      }
      cursor = page.cursor;
      pages++;
      expect(pages).toBeLessThan(100);
    } while (cursor !== undefined);
    expect(seen.sort()).toEqual(ids(records));
  });

  it('a page examines a bounded stretch: a long run of deleted records gives short pages, not an O(n) page', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const doomed = Array.from({ length: 3_000 }, () => rec(clock));
    const kept = Array.from({ length: 3_000 }, () => rec(clock));
    for (const r of [...doomed, ...kept]) await store.insert(r);
    for (const r of doomed) await store.delete(r.id);
    const first = await store.scan({ limit: 10 });
    // 3,000 deletions against 3,000 live records is below the compaction
    // threshold, so the page walks ghosts and stops at its budget.
    expect(first.records.length).toBeLessThan(10);
    expect(first.cursor).toBeDefined();
    const { records } = await scanAll(store, 10);
    expect(ids(records)).toEqual(ids(kept));
  });

  it('a page deep into 200,000 records costs no more than one at the start (O(limit + log n))', async () => {
    const clock = fakeClock();
    const store = storeAt(clock, { maxSessions: 300_000 });
    const n = 200_000;
    for (let i = 0; i < n; i++) await store.insert(rec(clock));
    const deep = await store.scan({ limit: n - 1_000 });
    const time = async (start: string | undefined) => {
      let cursor = start;
      let seen = 0;
      const began = performance.now();
      for (let page = 0; page < 200; page++) {
        const next = await store.scan(cursor === undefined ? { limit: 5 } : { cursor, limit: 5 });
        seen += next.records.length;
        cursor = next.cursor;
      }
      const elapsed = performance.now() - began;
      expect(seen).toBe(1_000);
      return elapsed;
    };
    // Best of several runs, so a GC pause on a loaded machine cannot decide.
    const best = async (start: string | undefined) => {
      let min = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 5; run++) min = Math.min(min, await time(start));
      return min;
    };
    const front = await best(undefined);
    const back = await best(deep.cursor);
    // Finding the cursor by walking from the front would make the back ~50x slower or worse.
    expect(back / front).toBeLessThan(8);
  });

  it('expired records at the front are reclaimed a page at a time and never returned', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    for (let i = 0; i < 5_000; i++) await store.insert(rec(clock, { ttl: 5 }));
    const kept = Array.from({ length: 20 }, () => rec(clock));
    for (const r of kept) await store.insert(r);
    clock.advance(5);
    const { records, pages } = await scanAll(store, 20);
    expect(ids(records)).toEqual(ids(kept));
    expect(pages).toBeGreaterThan(1);
    // The pages reclaimed every expired record they walked over.
    expect(await store.sweep(clock.now)).toBe(0);
  });

  it('a cursor stays valid after compaction drops deleted records', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    const records = Array.from({ length: 4_000 }, () => rec(clock));
    for (const r of records) await store.insert(r);
    const page = await store.scan({ limit: 100 });
    const seen = [...page.records];
    // Deleting most records triggers compaction of the scan index.
    const unseen = records.slice(100);
    for (const r of unseen.slice(0, 3_500)) await store.delete(r.id);
    let cursor = page.cursor;
    while (cursor !== undefined) {
      const next = await store.scan({ cursor, limit: 100 });
      seen.push(...next.records);
      cursor = next.cursor;
    }
    expect(ids(seen)).toEqual(ids([...records.slice(0, 100), ...unseen.slice(3_500)]));
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['an empty string', ''],
    ['a number', 5],
    ['a tampered seq', 'm1.abcdefgh.!!'],
  ])('a malformed cursor (%s) throws InvalidArgument', async (_what, cursor) => {
    const store = storeAt(fakeClock());
    await expect(store.scan({ cursor: cursor as string, limit: 5 })).rejects.toThrow(
      InvalidArgument,
    );
  });

  it('a cursor from another store instance is rejected, not silently misapplied', async () => {
    const clock = fakeClock();
    const a = storeAt(clock);
    const b = storeAt(clock);
    for (let i = 0; i < 5; i++) await a.insert(rec(clock));
    const page = await a.scan({ limit: 2 });
    expect(page.cursor).toBeDefined();
    await expect(b.scan({ cursor: page.cursor as string, limit: 2 })).rejects.toThrow(
      InvalidArgument,
    );
  });

  it('a genuine cursor altered in any one character is rejected, not resumed elsewhere', async () => {
    const clock = fakeClock();
    const store = storeAt(clock);
    for (let i = 0; i < 40; i++) await store.insert(rec(clock));
    const page = await store.scan({ limit: 7 });
    const cursor = page.cursor as string;
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-.';
    let tried = 0;
    for (let at = 0; at < cursor.length; at++) {
      for (const c of alphabet) {
        if (c === cursor[at]) continue;
        const altered = cursor.slice(0, at) + c + cursor.slice(at + 1);
        await expect(store.scan({ cursor: altered, limit: 7 })).rejects.toThrow(InvalidArgument);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(cursor.length * 60);
    // The genuine cursor still works after all those refusals.
    expect((await store.scan({ cursor, limit: 7 })).records).toHaveLength(7);
  });

  it.each([0, -1, 1.5, Number.NaN, '10', 2 ** 53, Number.POSITIVE_INFINITY])(
    'limit %s throws InvalidArgument',
    async (limit) => {
      const store = createMemoryStore({ sweepIntervalMs: 0 });
      await expect(store.scan({ limit: limit as number })).rejects.toThrow(InvalidArgument);
      await expect(store.scan(null as never)).rejects.toThrow(InvalidArgument);
    },
  );
});
