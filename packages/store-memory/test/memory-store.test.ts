import {
  Closed,
  ConfigInvalid,
  InvalidArgument,
  StoreConflict,
  type SessionRecord,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, key, rec, storeAt } from './helpers';

const clock = fakeClock();
afterEach(() => {
  clock.now = 1_700_000_000_000;
});

describe('createMemoryStore: identity and options', () => {
  it('declares name "memory", native expiry and no sharing', () => {
    const store = createMemoryStore({ sweepIntervalMs: 0 });
    expect(store.name).toBe('memory');
    expect(store.capabilities).toEqual({ nativeExpiry: true, shared: false });
  });

  it.each([
    ['a non-object', 5],
    ['an unknown option (typo)', { maxSession: 10 }],
    ['maxSessions 0', { maxSessions: 0 }],
    ['fractional maxSessions', { maxSessions: 1.5 }],
    ['maxSessions as a string', { maxSessions: '10' }],
    ['a non-function clock', { clock: 12 }],
    ['a negative sweep interval', { sweepIntervalMs: -1 }],
    ['a sweep interval beyond setInterval range', { sweepIntervalMs: 2 ** 31 }],
  ])('rejects %s with ConfigInvalid', (_what, options) => {
    expect(() => createMemoryStore(options as never)).toThrow(ConfigInvalid);
  });

  it('a clock that returns a non-finite time fails the call with ConfigInvalid', async () => {
    const store = createMemoryStore({ clock: () => Number.NaN, sweepIntervalMs: 0 });
    await expect(store.get(key('id'))).rejects.toThrow(ConfigInvalid);
  });
});

describe('insert and get', () => {
  it('get returns what insert stored', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    expect(await store.get(r.id)).toEqual(r);
  });

  it('get of a missing id is null', async () => {
    expect(await storeAt(clock).get(key('id'))).toBeNull();
  });

  it('a record is live 1 ms before expiresAt and gone exactly at expiresAt', async () => {
    const store = storeAt(clock);
    const r = rec(clock, { ttl: 1000 });
    await store.insert(r);
    clock.advance(999);
    expect(await store.get(r.id)).toEqual(r);
    clock.advance(1);
    expect(await store.get(r.id)).toBeNull();
    expect(await store.listBySubject(r.subject)).toEqual([]);
    expect(await store.delete(r.id)).toBe(false);
  });

  it('insert of a live id throws StoreConflict and leaves the original untouched', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    const intruder = { ...r, subject: key('other'), payload: new Uint8Array([9]) };
    await expect(store.insert(intruder)).rejects.toThrow(StoreConflict);
    expect(await store.get(r.id)).toEqual(r);
    expect(await store.listBySubject(intruder.subject)).toEqual([]);
  });

  it('insert may overwrite an id whose record has expired', async () => {
    const store = storeAt(clock);
    const r = rec(clock, { ttl: 10 });
    await store.insert(r);
    clock.advance(10);
    const again = { ...r, subject: key('sub'), expiresAt: clock.now + 10 };
    await store.insert(again);
    expect(await store.get(r.id)).toEqual(again);
    expect(await store.listBySubject(r.subject)).toEqual([]);
  });

  it('a record inserted already expired is never returned', async () => {
    const store = storeAt(clock);
    const r = rec(clock, { ttl: 0 });
    await store.insert(r);
    expect(await store.get(r.id)).toBeNull();
    expect((await store.scan({ limit: 10 })).records).toEqual([]);
  });

  it('payloads of 0 bytes, every byte value, and 64 KiB round-trip exactly', async () => {
    const store = storeAt(clock);
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    const big = Uint8Array.from({ length: 65_536 }, (_, i) => (i * 31) & 0xff);
    for (const payload of [new Uint8Array(0), every, big]) {
      const r = rec(clock, { payload });
      await store.insert(r);
      const got = await store.get(r.id);
      expect(got?.payload).toBeInstanceOf(Uint8Array);
      expect(got?.payload).toEqual(payload);
    }
  });

  it('a payload given as a Buffer or as a view into a larger buffer stores just its bytes', async () => {
    const store = storeAt(clock);
    const backing = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const r = rec(clock, { payload: backing.subarray(2, 4) });
    await store.insert(r);
    expect((await store.get(r.id))?.payload).toEqual(Uint8Array.from([3, 4]));
    const b = rec(clock, { payload: Buffer.from([7, 8]) });
    await store.insert(b);
    const got = await store.get(b.id);
    expect(Object.getPrototypeOf(got?.payload)).toBe(Uint8Array.prototype);
    expect(got?.payload).toEqual(Uint8Array.from([7, 8]));
  });
});

describe('copies in and out', () => {
  it('mutating the inserted payload afterwards does not change the store', async () => {
    const store = storeAt(clock);
    const r = rec(clock, { payload: Uint8Array.from([1, 2, 3]) });
    await store.insert(r);
    r.payload.fill(0);
    expect((await store.get(r.id))?.payload).toEqual(Uint8Array.from([1, 2, 3]));
  });

  it('mutating a returned record or payload does not change the store', async () => {
    const store = storeAt(clock);
    const r = rec(clock, { payload: Uint8Array.from([1, 2, 3]) });
    await store.insert(r);
    const got = (await store.get(r.id)) as {
      -readonly [K in keyof SessionRecord]: SessionRecord[K];
    };
    got.payload.fill(0);
    got.version = 99;
    got.subject = 'x';
    const [listed] = await store.listBySubject(r.subject);
    listed?.payload.fill(7);
    const scanned = (await store.scan({ limit: 5 })).records[0];
    scanned?.payload.fill(8);
    expect(await store.get(r.id)).toEqual({ ...r, payload: Uint8Array.from([1, 2, 3]) });
  });
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

describe('delete and subject operations', () => {
  it('delete returns true once, then false on every repeat', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    expect(await store.delete(r.id)).toBe(true);
    expect(await store.delete(r.id)).toBe(false);
    expect(await store.delete(r.id)).toBe(false);
    expect(await store.get(r.id)).toBeNull();
    expect(await store.delete(key('never'))).toBe(false);
  });

  it('deleteBySubject counts only live records and removes all of them', async () => {
    const store = storeAt(clock);
    const subject = key('sub');
    const short = rec(clock, { subject, ttl: 10 });
    const longA = rec(clock, { subject });
    const longB = rec(clock, { subject });
    const other = rec(clock);
    for (const r of [short, longA, longB, other]) await store.insert(r);
    clock.advance(10);
    expect(await store.deleteBySubject(subject)).toBe(2);
    expect(await store.listBySubject(subject)).toEqual([]);
    expect(await store.deleteBySubject(subject)).toBe(0);
    expect(await store.get(other.id)).toEqual(other);
  });

  it('listBySubject returns every live record of the subject and no expired one', async () => {
    const store = storeAt(clock);
    const subject = key('sub');
    const records = [
      rec(clock, { subject, ttl: 5 }),
      rec(clock, { subject }),
      rec(clock, { subject }),
    ];
    for (const r of records) await store.insert(r);
    expect(await store.listBySubject(key('none'))).toEqual([]);
    clock.advance(5);
    const listed = await store.listBySubject(subject);
    expect(listed.map((r) => r.id).sort()).toEqual([records[1]?.id, records[2]?.id].sort());
  });
});

describe('input validation: InvalidArgument, nothing changed', () => {
  const good = () => rec(clock);
  const bad: Array<[string, (r: SessionRecord) => unknown]> = [
    ['a null record', () => null],
    ['a numeric id', (r) => ({ ...r, id: 5 })],
    ['an empty id', (r) => ({ ...r, id: '' })],
    ['a 257-character id', (r) => ({ ...r, id: 'a'.repeat(257) })],
    ['an empty subject', (r) => ({ ...r, subject: '' })],
    ['a fractional expiresAt', (r) => ({ ...r, expiresAt: r.expiresAt + 0.5 })],
    ['an infinite expiresAt', (r) => ({ ...r, expiresAt: Number.POSITIVE_INFINITY })],
    ['version 0', (r) => ({ ...r, version: 0 })],
    ['a fractional version', (r) => ({ ...r, version: 1.5 })],
    ['a string payload', (r) => ({ ...r, payload: 'abc' })],
    ['a number[] payload', (r) => ({ ...r, payload: [1, 2] })],
    ['a Uint16Array payload', (r) => ({ ...r, payload: new Uint16Array(2) })],
    [
      'a spoofed payload',
      (r) => ({ ...r, payload: { [Symbol.toStringTag]: 'Uint8Array', length: 0 } }),
    ],
  ];

  it.each(bad)('insert rejects %s', async (_what, mutate) => {
    const store = storeAt(clock);
    const r = good();
    await expect(store.insert(mutate(r) as SessionRecord)).rejects.toThrow(InvalidArgument);
    expect((await store.scan({ limit: 10 })).records).toEqual([]);
  });

  it.each(bad)('replace and rotate reject %s', async (_what, mutate) => {
    const store = storeAt(clock);
    const r = good();
    await store.insert(r);
    const broken = mutate({ ...r, version: 2 }) as SessionRecord;
    await expect(store.replace(broken, 1)).rejects.toThrow(InvalidArgument);
    await expect(store.rotate({ record: broken, expectedVersion: 1 }, good())).rejects.toThrow(
      InvalidArgument,
    );
    await expect(
      store.rotate(
        { record: { ...r, version: 2 }, expectedVersion: 1 },
        mutate(good()) as SessionRecord,
      ),
    ).rejects.toThrow(InvalidArgument);
    expect(await store.get(r.id)).toEqual(r);
    expect((await store.scan({ limit: 10 })).records).toEqual([r]);
  });

  it('rejects non-positive or fractional expected versions and a malformed rotate argument', async () => {
    const store = storeAt(clock);
    const r = good();
    await store.insert(r);
    for (const v of [0, -1, 1.5, Number.NaN, '1']) {
      await expect(store.replace({ ...r, version: 2 }, v as number)).rejects.toThrow(
        InvalidArgument,
      );
      await expect(
        store.rotate({ record: { ...r, version: 2 }, expectedVersion: v as number }, good()),
      ).rejects.toThrow(InvalidArgument);
    }
    await expect(store.rotate(null as never, good())).rejects.toThrow(InvalidArgument);
    expect(await store.get(r.id)).toEqual(r);
  });

  it.each([
    ['get', (s: ReturnType<typeof storeAt>, v: unknown) => s.get(v as string)],
    ['delete', (s: ReturnType<typeof storeAt>, v: unknown) => s.delete(v as string)],
    ['listBySubject', (s: ReturnType<typeof storeAt>, v: unknown) => s.listBySubject(v as string)],
    [
      'deleteBySubject',
      (s: ReturnType<typeof storeAt>, v: unknown) => s.deleteBySubject(v as string),
    ],
  ])('%s rejects a non-string, empty or over-long key', async (_name, call) => {
    const store = storeAt(clock);
    for (const v of [undefined, 7, '', 'x'.repeat(257)]) {
      await expect(call(store, v)).rejects.toThrow(InvalidArgument);
    }
  });

  it('error messages never carry payload bytes or ids', async () => {
    const store = storeAt(clock);
    const r = rec(clock, { payload: new TextEncoder().encode('SECRET-PAYLOAD') });
    await store.insert(r);
    const errors: unknown[] = [];
    await store.insert(r).catch((e) => errors.push(e));
    await store.insert({ ...r, id: `${r.id}!`, version: 0 }).catch((e) => errors.push(e));
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(String((e as Error).message)).not.toContain('SECRET');
      expect(String((e as Error).message)).not.toContain(r.id);
    }
  });
});

describe('close', () => {
  it('after close every method throws Closed, and close is idempotent', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    await store.close();
    await store.close();
    const calls: Array<() => Promise<unknown>> = [
      () => store.insert(rec(clock)),
      () => store.get(r.id),
      () => store.replace({ ...r, version: 2 }, 1),
      () => store.rotate({ record: { ...r, version: 2 }, expectedVersion: 1 }, rec(clock)),
      () => store.delete(r.id),
      () => store.deleteBySubject(r.subject),
      () => store.listBySubject(r.subject),
      () => store.scan({ limit: 1 }),
      () => store.sweep(clock.now),
    ];
    for (const call of calls) await expect(call()).rejects.toThrow(Closed);
  });
});
