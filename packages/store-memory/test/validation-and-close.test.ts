import { Closed, InvalidArgument, type SessionRecord } from '@cloakroom/core';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, rec, storeAt } from './helpers';

const clock = fakeClock();
afterEach(() => {
  clock.now = 1_700_000_000_000;
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
  ])(
    '%s rejects a key that is not 43 characters of [A-Za-z0-9_-] with InvalidArgument',
    async (_name, call) => {
      const store = storeAt(clock);
      for (const v of [undefined, 7, '', 'x'.repeat(42), 'x'.repeat(44), `${'x'.repeat(42)}/`]) {
        await expect(call(store, v)).rejects.toThrow(InvalidArgument);
      }
    },
  );

  it('SEC-27 error messages never carry payload bytes or ids', async () => {
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
