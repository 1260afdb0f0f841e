// Issue #17 item 6: insertWithLimit is one atomic step across OS processes
// sharing the directory (the per-subject concurrent-session limit).
import { createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { type Child, spawnFixture } from './child';
import { keyOf } from './fixtures/shared';
import { tempDir } from './helpers';
import { seatsOf } from './seats';

const LIMITED = keyOf('limited-subject');
const WORKERS = 4;
const PER_WORKER = 20;

/** Run the children from one start instant while this process sweeps; every line of each. */
async function run(dir: string, children: Child[]): Promise<string[][]> {
  await Promise.all(children.map((c) => c.waitFor((l) => l === 'loaded', 90_000)));
  const start = Date.now() + 100;
  for (const c of children) c.proc.stdin!.write(`go ${start}\n`);
  const began = Date.now();
  // Sweep runs throughout: it must never take a live limited insert's subject lock.
  const sweeper = createFsStore({ dir });
  let finished = false;
  const sweeping = (async () => {
    while (!finished) await sweeper.sweep(Date.now());
  })();
  try {
    await Promise.all(children.map((c) => c.waitFor((l) => l === 'done', 120_000)));
  } finally {
    finished = true;
    await sweeping;
  }
  console.log(`insertWithLimit across processes: the race took ${Date.now() - began} ms`);
  const exits = await Promise.all(children.map((c) => c.exited));
  for (const e of exits) expect(e.code, e.stderr).toBe(0);
  // Wall time per call, including the wait for the subject lock behind the other processes.
  const ms = children.flatMap((c) =>
    c.lines.filter((l) => l.startsWith('MS ')).map((l) => Number(l.slice(3))),
  );
  if (ms.length > 0) {
    ms.sort((a, b) => a - b);
    console.log(
      `insertWithLimit across processes: ${ms.length} calls, median ${ms[ms.length >> 1]} ms, max ${ms.at(-1)} ms (load-dependent)`,
    );
  }
  return children.map((c) =>
    c.lines.filter((l) => l !== 'loaded' && l !== 'done' && !l.startsWith('MS ')),
  );
}

const limiters = (dir: string, mode: string, max: number): Child[] =>
  Array.from({ length: WORKERS }, (_, w) =>
    spawnFixture('limiter.ts', [dir, mode, String(w), String(PER_WORKER), String(max)]),
  );

describe('fs store: insertWithLimit across processes', () => {
  it('refuse: of 80 racing calls from 4 processes, exactly max insert', async () => {
    const dir = await tempDir();
    const max = 5;
    const lines = (await run(dir, limiters(dir, 'refuse', max))).flat();
    const inserted = lines.filter((l) => l.startsWith('I ')).map((l) => l.split(' ')[1]!);
    expect(lines).toHaveLength(WORKERS * PER_WORKER);
    expect(inserted).toHaveLength(max);
    for (const l of lines.filter((l) => l.startsWith('I '))) expect(l.split(' ')[2]).toBe('');
    const store = createFsStore({ dir });
    expect((await seatsOf(store, LIMITED, Date.now())).sort()).toEqual(inserted.sort());
  }, 300_000);

  it('oldest: 4 processes inserting while two more rotate seated records never exceed max; each seat evicted once', async () => {
    const dir = await tempDir();
    const max = 3;
    const rotators = [8, 9].map((w) =>
      spawnFixture('limiter.ts', [dir, 'rotate', String(w), '100', String(max)]),
    );
    const outputs = await run(dir, [...limiters(dir, 'oldest', max), ...rotators]);
    const lines = outputs.slice(0, WORKERS).flat();
    const rotations = outputs
      .slice(WORKERS)
      .flat()
      .filter((l) => l.startsWith('T '));
    expect(lines).toHaveLength(WORKERS * PER_WORKER);
    const evicted: string[] = [];
    const perCall: number[] = [];
    for (const line of lines) {
      const [kind, , list = ''] = line.split(' ');
      expect(kind).toBe('I');
      const ids = list === '' ? [] : list.split(',');
      evicted.push(...ids);
      perCall.push(ids.length);
    }
    // Seats come only from these inserts and go only by their evictions (a rotate moves one):
    // had the subject ever held max + 1 seats, a later call would have evicted two.
    expect(new Set(evicted).size).toBe(evicted.length);
    expect(Math.max(...perCall)).toBe(1);
    expect(evicted).toHaveLength(WORKERS * PER_WORKER - max);
    const store = createFsStore({ dir });
    const seats = await seatsOf(store, LIMITED, Date.now());
    expect(seats).toHaveLength(max);
    for (const id of seats) expect(evicted).not.toContain(id);
    console.log(
      `insertWithLimit across processes: ${WORKERS} processes x ${PER_WORKER} inserts (max ${max}), ` +
        `${rotations.length} rotations meanwhile, ${evicted.length} evictions`,
    );
    expect(rotations.length).toBeGreaterThan(0);
  }, 300_000);
});
