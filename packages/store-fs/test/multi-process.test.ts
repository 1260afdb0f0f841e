import { createFsKeySetStore, createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { type Child, spawnFixture } from './child';
import { FAR, keyOf, SUBJECT } from './fixtures/shared';
import { tempDir } from './helpers';

const WORKERS = 4;
const ROUNDS = 40;
const CAS_ID = keyOf('cas');
const candidate = (round: number, w: number): string => keyOf(`rot-${round}-${w}`);

/**
 * Start the workers, release them together, and collect each one's output
 * lines. Meanwhile this process sweeps the directory over and over: sweep
 * now removes abandoned locks, and must never take a live writer's.
 */
async function race(dir: string, mode: string): Promise<string[][]> {
  const children: Child[] = Array.from({ length: WORKERS }, (_, w) =>
    spawnFixture('racer.ts', [dir, mode, String(w), String(WORKERS), String(ROUNDS)]),
  );
  await Promise.all(children.map((c) => c.waitFor((l) => l === 'loaded', 20_000)));
  const start = Date.now() + 100;
  for (const c of children) c.proc.stdin!.write(`go ${start}\n`);
  const sweeper = createFsStore({ dir, staleLockMs: 5000 });
  let finished = false;
  let sweeps = 0;
  const sweeping = (async () => {
    while (!finished) {
      await sweeper.sweep(Date.now());
      sweeps++;
    }
  })();
  try {
    await Promise.all(children.map((c) => c.waitFor((l) => l === 'done', 60_000)));
  } finally {
    finished = true;
    await sweeping;
  }
  expect(sweeps).toBeGreaterThan(ROUNDS / 4);
  const exits = await Promise.all(children.map((c) => c.exited));
  for (const e of exits) expect(e.code, e.stderr).toBe(0);
  return children.map((c) => c.lines);
}

/** Per round: how many workers attempted and which ones won. */
function tally(outputs: string[][]): { attempts: number[]; winners: number[][] } {
  const attempts = Array.from({ length: ROUNDS + 1 }, () => 0);
  const winners: number[][] = Array.from({ length: ROUNDS + 1 }, () => []);
  outputs.forEach((lines, w) => {
    for (const line of lines) {
      const [kind, round] = line.split(' ');
      if (kind === 'A') attempts[Number(round)]!++;
      if (kind === 'W') winners[Number(round)]!.push(w);
    }
  });
  return { attempts, winners };
}

function report(mode: string, attempts: number[]): number {
  const contended = attempts.filter((n) => n >= 2).length;
  console.log(
    `multi-process ${mode}: ${WORKERS} processes, ${ROUNDS} rounds, ${contended} rounds with 2+ contenders, ` +
      `${attempts.reduce((a, b) => a + b, 0)} attempts`,
  );
  return contended;
}

describe('fs store: several processes on one directory', () => {
  it('CAS replace across processes: exactly one winner per round, with sweep running throughout', async () => {
    const dir = await tempDir();
    const store = createFsStore({ dir });
    await store.insert({
      id: CAS_ID,
      subject: SUBJECT,
      expiresAt: FAR,
      version: 1,
      payload: new Uint8Array(),
    });
    const { attempts, winners } = tally(await race(dir, 'cas'));
    for (let r = 1; r <= ROUNDS; r++) expect(winners[r], `round ${r}`).toHaveLength(1);
    const final = await store.get(CAS_ID);
    expect(final?.version).toBe(ROUNDS + 1);
    expect(final?.payload).toEqual(Uint8Array.of(winners[ROUNDS]![0]!));
    expect(report('cas', attempts)).toBeGreaterThan(ROUNDS / 2);
  }, 120_000);

  it('rotate across processes: exactly one successor per round, losers leave nothing behind, with sweep running throughout', async () => {
    const dir = await tempDir();
    const store = createFsStore({ dir });
    await store.insert({
      id: candidate(0, 0),
      subject: SUBJECT,
      expiresAt: FAR,
      version: 1,
      payload: new Uint8Array(),
    });
    const outputs = await race(dir, 'rotate');
    expect(outputs.flat().filter((l) => l.startsWith('DUP'))).toEqual([]);
    const { attempts, winners } = tally(outputs);
    for (let r = 1; r <= ROUNDS; r++) {
      expect(winners[r], `round ${r}`).toHaveLength(1);
      for (let w = 0; w < WORKERS; w++) {
        const got = await store.get(candidate(r, w));
        if (w === winners[r]![0]) expect(got?.version).toBe(r === ROUNDS ? 1 : 2);
        else expect(got, `loser ${w} of round ${r}`).toBeNull();
      }
    }
    expect(await store.listBySubject(SUBJECT)).toHaveLength(ROUNDS + 1);
    expect(report('rotate', attempts)).toBeGreaterThan(ROUNDS / 2);
  }, 120_000);

  it('a fresh id claimed at once by inserts (no lock) and rotates (locks) in several processes: exactly one wins, its record is whole and in its subject index, with sweep running throughout', async () => {
    const dir = await tempDir();
    const store = createFsStore({ dir });
    const { attempts, winners } = tally(await race(dir, 'create'));
    for (let r = 1; r <= ROUNDS; r++) {
      expect(winners[r], `round ${r}`).toHaveLength(1);
      const w = winners[r]![0]!;
      const id = keyOf(`create-${r}`);
      const got = await store.get(id);
      // The winner's record, not a loser's written over it.
      expect(got?.payload, `round ${r}`).toEqual(Uint8Array.of(w));
      expect(got?.subject).toBe(keyOf(`create-subject-${w}`));
      const listed = await store.listBySubject(keyOf(`create-subject-${w}`));
      expect(
        listed.map((x) => x.id),
        `round ${r}`,
      ).toContain(id);
    }
    expect(report('create', attempts)).toBeGreaterThan(ROUNDS / 2);
  }, 120_000);

  it('key-set CAS across processes: exactly one writer per version, with sweep running throughout', async () => {
    const dir = await tempDir();
    const keySets = createFsKeySetStore({ dir });
    const { attempts, winners } = tally(await race(dir, 'keyset'));
    for (let r = 1; r <= ROUNDS; r++) expect(winners[r], `round ${r}`).toHaveLength(1);
    const entry = await keySets.read('shared');
    expect(entry?.version).toBe(ROUNDS);
    expect(entry?.document).toEqual(Uint8Array.of(winners[ROUNDS]![0]!, ROUNDS));
    expect(report('keyset', attempts)).toBeGreaterThan(ROUNDS / 2);
  }, 120_000);
});
