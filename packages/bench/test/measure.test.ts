import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config';
import { measure, median, stat } from '../src/measure';

describe('bench measure', () => {
  it('median of odd and even counts, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('stat reports median, min and max ops/s over rounds', () => {
    const s = stat([
      { ops: 100, ms: 1000, cpuUs: 1000 },
      { ops: 300, ms: 1000, cpuUs: 900 },
      { ops: 200, ms: 1000, cpuUs: 1000 },
    ]);
    expect(s).toEqual({ median: 200, min: 100, max: 300, ops: 600, cpuUsPerOp: 5 });
  });

  it('measure stops at maxOps and keeps the requested number in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const sample = await measure(
      async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        return true;
      },
      8,
      10_000,
      50,
    );
    expect(sample.ops).toBe(50);
    expect(peak).toBe(8);
  });

  it('measure stops when a consuming operation runs out of input', async () => {
    let left = 5;
    const sample = await measure(async () => left-- > 0, 4, 10_000, 1000);
    expect(sample.ops).toBe(5);
  });

  it('measure propagates an operation error (quick mode must fail on any error)', async () => {
    await expect(
      measure(
        async () => {
          throw new Error('boom');
        },
        2,
        100,
        10,
      ),
    ).rejects.toThrow('boom');
  });

  it('quick mode comes from --quick or CLOAKROOM_BENCH_QUICK=1 and uses one round', () => {
    expect(readConfig(['--quick'], {}).rounds).toBe(1);
    expect(readConfig([], { CLOAKROOM_BENCH_QUICK: '1' }).quick).toBe(true);
    expect(readConfig([], {}).rounds).toBe(5);
    expect(() => readConfig(['--stores=nope'], {})).toThrow('unknown store');
  });
});
