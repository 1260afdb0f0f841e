import { ConfigInvalid, StoreConflict, type SessionRecord } from '@cloakroom/core';
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

describe('delete and subject operations', () => {
  it('SEC-07 delete returns true once, then false on every repeat, and the record is gone', async () => {
    const store = storeAt(clock);
    const r = rec(clock);
    await store.insert(r);
    expect(await store.delete(r.id)).toBe(true);
    expect(await store.delete(r.id)).toBe(false);
    expect(await store.delete(r.id)).toBe(false);
    expect(await store.get(r.id)).toBeNull();
    expect(await store.delete(key('never'))).toBe(false);
  });

  it('SEC-07 deleteBySubject removes every record of the subject and counts only live ones', async () => {
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
