import { describe, expect, it } from 'vitest';
import { WaitBatch } from '../../src/redis/replication';

/** A WAIT whose answer the test releases by hand; `sent` counts WAITs sent. */
function fakeWaits() {
  const pending: ((acks: number) => void)[] = [];
  let sent = 0;
  const batch = new WaitBatch(() => {
    sent++;
    return new Promise<number>((resolve) => pending.push(resolve));
  });
  return {
    batch,
    sent: () => sent,
    answer: async (acks: number) => {
      pending.shift()?.(acks);
      // Let the answer and the batch's follow-up run.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

describe('WAIT group commit', () => {
  it('a caller arriving while a WAIT is in flight never takes its answer: it gets the next WAIT, shared with every other latecomer', async () => {
    const w = fakeWaits();
    const first = w.batch.wait();
    expect(w.sent()).toBe(1);
    // Three writes answered while the first WAIT is in flight.
    const late = [w.batch.wait(), w.batch.wait(), w.batch.wait()];
    expect(w.sent()).toBe(1);
    let lateSettled = false;
    void Promise.all(late).then(() => {
      lateSettled = true;
    });
    await w.answer(1);
    expect(await first).toBe(1);
    // The first answer did not settle them: one more WAIT went out for all three.
    expect(lateSettled).toBe(false);
    expect(w.sent()).toBe(2);
    await w.answer(0);
    expect(await Promise.all(late)).toEqual([0, 0, 0]);
    // Idle again: the next caller sends at once.
    const again = w.batch.wait();
    expect(w.sent()).toBe(3);
    await w.answer(1);
    expect(await again).toBe(1);
  });

  it('a failed WAIT fails its callers only; the queued WAIT is still sent for the latecomers', async () => {
    let sent = 0;
    const results = [Promise.reject(new Error('connection lost')), Promise.resolve(1)];
    const batch = new WaitBatch(() => results[sent++] as Promise<number>);
    const first = batch.wait();
    const late = batch.wait();
    await expect(first).rejects.toThrow('connection lost');
    expect(await late).toBe(1);
    expect(sent).toBe(2);
  });
});
