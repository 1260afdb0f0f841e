// The rewrap progress display: fitted to the terminal, with elapsed time
// and an ETA from the rate so far, and a total announced before the bar.
import type { RewrapProgress } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barLine, clockTime, eta, progressView } from '../src/progress';

const progress = (scanned: number, rewrapped = scanned): RewrapProgress => ({
  scanned,
  rewrapped,
  current: scanned - rewrapped,
  unreadable: 0,
  contended: 0,
});

describe('rewrap progress', () => {
  it('the bar line never exceeds the terminal width, however wide the numbers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 300 }),
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.option(fc.integer({ min: 1, max: 10 ** 9 }), { nil: undefined }),
        fc.integer({ min: 0, max: 10 ** 8 }),
        (columns, scanned, total, elapsed) => {
          const line = barLine(progress(scanned), total, elapsed, columns);
          expect(line.length).toBeLessThan(columns);
        },
      ),
    );
  });

  it('on a standard terminal it shows the bar, percent, count, elapsed time and ETA', () => {
    // 2600 of 20000 after 13 s: 200/s, so 17400 left take 87 s.
    const line = barLine(progress(2600), 20_000, 13_000, 100);
    expect(line).toMatch(
      /^\[#+-+\] {3}13% {2}2600\/20000 {2}rewrapped 2600 {2}elapsed 0:13 {2}ETA 1:27 {2}200\/s$/,
    );
    expect(eta(2600, 20_000, 13_000)).toBe(87_000);
    expect(eta(0, 20_000, 13_000)).toBeUndefined();
    expect(eta(10, undefined, 1000)).toBeUndefined();
    expect(clockTime(3_725_000)).toBe('1:02:05');
  });

  it('a narrow terminal drops the rate and ETA before the counts', () => {
    const line = barLine(progress(2600), 20_000, 13_000, 50);
    expect(line.length).toBeLessThan(50);
    expect(line).toContain('2600/20000');
  });

  it('lines mode announces the total and writes one line per batch with elapsed and ETA', () => {
    const out: string[] = [];
    let t = 0;
    const view = progressView({ write: (s) => out.push(s), mode: 'lines', now: () => t });
    view.start(10);
    t = 1000;
    view.update(progress(5));
    view.done();
    expect(out).toEqual([
      'rewrap: 10 records to scan\n',
      'rewrap: scanned 5/10, rewrapped 5, current 0, unreadable 0, contended 0, elapsed 0:01, ETA 0:01\n',
    ]);
  });

  it('json mode keeps one JSON line per batch, with total, elapsed and ETA added', () => {
    const out: string[] = [];
    let t = 0;
    const view = progressView({ write: (s) => out.push(s), mode: 'json', now: () => t });
    view.counting(3);
    view.start(10);
    t = 2000;
    view.update(progress(4));
    expect(out.map((l) => JSON.parse(l))).toEqual([
      { counting: { counted: 3 } },
      { total: 10 },
      { progress: { ...progress(4), total: 10, elapsedMs: 2000, etaMs: 3000 } },
    ]);
  });
});
