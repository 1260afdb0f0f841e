import { Closed, InvalidArgument } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeClock, rec } from './helpers';

afterEach(() => {
  vi.useRealTimers();
});

// Settles after `n` microtask hops at most; says whether `p` had settled by then.
async function settledWithin(p: Promise<unknown>, n: number): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  for (let i = 0; i < n; i++) await Promise.resolve();
  return done;
}

describe('memory store: get answers in the next turn of the event loop', () => {
  it('answers after the microtasks of this turn, not within them', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const record = rec(clock);
    await store.insert(record);
    const answer = store.get(record.id);
    expect(await settledWithin(answer, 20)).toBe(false);
    expect(await answer).toEqual(record);
  });

  it('answers every read of a turn together, after the callbacks already queued for that phase', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const records = [rec(clock), rec(clock), rec(clock)];
    for (const r of records) await store.insert(r);
    const order: string[] = [];
    setImmediate(() => order.push('queued before'));
    const reads = records.map((r, i) => store.get(r.id).then(() => order.push(`get ${i}`)));
    setImmediate(() => order.push('queued after'));
    await Promise.all(reads);
    await new Promise((resolve) => setImmediate(resolve));
    // One hand-over for the three reads: they run back to back, in call order.
    expect(order).toEqual(['queued before', 'get 0', 'get 1', 'get 2', 'queued after']);
  });

  it('reads the table when called: a delete made before the answer arrives does not change it', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const record = rec(clock);
    await store.insert(record);
    const before = store.get(record.id);
    await store.delete(record.id);
    const after = store.get(record.id);
    expect(await before).toEqual(record);
    expect(await after).toBeNull();
  });

  it('a read made while a turn is being answered waits for the next turn, and gets its own answer', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const record = rec(clock);
    await store.insert(record);
    let second: Promise<unknown> | undefined;
    await store.get(record.id).then(() => {
      second = store.get(record.id);
    });
    // The turn that answered the first read is over: the second is not answered within it.
    expect(await settledWithin(second as Promise<unknown>, 20)).toBe(false);
    expect(await second).toEqual(record);
  });

  it('answers under fake timers without the test advancing them', async () => {
    vi.useFakeTimers();
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const record = rec(clock);
    await store.insert(record);
    expect(await store.get(record.id)).toEqual(record);
    expect(await store.get('x'.repeat(43))).toBeNull();
  });

  it('still refuses a bad id (InvalidArgument, at once) and a closed store (Closed)', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 0 });
    // Refused before any turn: the rejection is there within this turn's microtasks.
    const refused = store.get('../etc');
    expect(
      await settledWithin(
        refused.catch(() => undefined),
        5,
      ),
    ).toBe(true);
    await expect(refused).rejects.toThrow(InvalidArgument);
    await store.close();
    await expect(store.get('x'.repeat(43))).rejects.toThrow(Closed);
  });
});
