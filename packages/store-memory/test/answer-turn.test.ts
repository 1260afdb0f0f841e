import { Closed, InvalidArgument } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { setImmediate as realSetImmediate } from 'node:timers';
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

// One turn of the event loop: resolves in the check phase after this one's.
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

// Three reads in one turn, then that turn's end: the loop counts as busy.
async function busyTurn(store: ReturnType<typeof createMemoryStore>, id: string): Promise<void> {
  await Promise.all([store.get(id), store.get(id), store.get(id)]);
  await nextTurn();
}

// A store holding one record, with no sweep timer.
async function storeWithRecord() {
  const clock = fakeClock();
  const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
  const record = rec(clock);
  await store.insert(record);
  return { store, record };
}

describe('memory store: get answers at once when the loop is idle, once per turn when it is busy', () => {
  it('answers a lone read at once, within the microtasks of its turn', async () => {
    const { store, record } = await storeWithRecord();
    await nextTurn();
    const answer = store.get(record.id);
    expect(await settledWithin(answer, 5)).toBe(true);
    expect(await answer).toEqual(record);
    // Still at once in the following turns while each holds one read.
    for (let i = 0; i < 3; i++) {
      await nextTurn();
      expect(await settledWithin(store.get(record.id), 5)).toBe(true);
    }
  });

  it("after a turn of several reads, answers the next turn's reads after its microtasks, not within them", async () => {
    const { store, record } = await storeWithRecord();
    await busyTurn(store, record.id);
    const answer = store.get(record.id);
    expect(await settledWithin(answer, 20)).toBe(false);
    expect(await answer).toEqual(record);
  });

  it('answers every read of a busy turn together, after the callbacks already queued for that phase', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const records = [rec(clock), rec(clock), rec(clock)];
    for (const r of records) await store.insert(r);
    await busyTurn(store, records[0]!.id);
    const order: string[] = [];
    setImmediate(() => order.push('queued before'));
    const reads = records.map((r, i) => store.get(r.id).then(() => order.push(`get ${i}`)));
    setImmediate(() => order.push('queued after'));
    await Promise.all(reads);
    await nextTurn();
    // One hand-over for the three reads: they run back to back, in call order.
    expect(order).toEqual(['queued before', 'get 0', 'get 1', 'get 2', 'queued after']);
  });

  it('goes back to answering at once after a turn with one read', async () => {
    const { store, record } = await storeWithRecord();
    await busyTurn(store, record.id);
    // This turn's single read waits (the last turn was busy) ...
    const waited = store.get(record.id);
    expect(await settledWithin(waited, 20)).toBe(false);
    await waited;
    await nextTurn();
    // ... and the turn after it, following a one-read turn, answers at once.
    expect(await settledWithin(store.get(record.id), 5)).toBe(true);
  });

  it('reads the table when called: a delete made before the answer arrives does not change it', async () => {
    const { store, record } = await storeWithRecord();
    await busyTurn(store, record.id);
    const before = store.get(record.id);
    // The answer is still on its way when the delete lands.
    expect(await settledWithin(before, 5)).toBe(false);
    await store.delete(record.id);
    const after = store.get(record.id);
    expect(await before).toEqual(record);
    expect(await after).toBeNull();
  });

  it('a read made while a busy turn is being answered waits for the next turn, and gets its own answer', async () => {
    const { store, record } = await storeWithRecord();
    await busyTurn(store, record.id);
    // Two reads in this turn too, so the turn that answers them counts as busy.
    let second: Promise<unknown> | undefined;
    await Promise.all([
      store.get(record.id).then(() => {
        second = store.get(record.id);
      }),
      store.get(record.id),
    ]);
    // The turn that answered the first reads is over: the second is not answered within it.
    expect(await settledWithin(second as Promise<unknown>, 20)).toBe(false);
    expect(await second).toEqual(record);
  });

  it('answers under fake timers without the test advancing them, idle or busy', async () => {
    vi.useFakeTimers();
    const { store, record } = await storeWithRecord();
    expect(await store.get(record.id)).toEqual(record);
    expect(
      await Promise.all([store.get(record.id), store.get('x'.repeat(43)), store.get(record.id)]),
    ).toEqual([record, null, record]);
    // The real check phase ends the turn (node:timers is not faked): the next reads wait for it.
    await new Promise<void>((resolve) => realSetImmediate(resolve));
    const next = store.get(record.id);
    expect(await settledWithin(next, 5)).toBe(false);
    expect(await next).toEqual(record);
    expect(await store.get('x'.repeat(43))).toBeNull();
  });

  it('still refuses a bad id (InvalidArgument, at once) and a closed store (Closed), idle or busy', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 0 });
    await busyTurn(store, 'x'.repeat(43));
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
