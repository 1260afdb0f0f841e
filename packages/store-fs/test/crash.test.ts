import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { SessionRecord } from '@cloakroom/core';
import { createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../src/codec';
import { type Child, spawnFixture } from './child';
import { CHAINS, chainId, REPLACE_IDS, recordAt } from './fixtures/shared';
import { tempDir, walk } from './helpers';

const PRELOAD = 6;

/** Field-by-field equality; payloads compared as bytes (deep-equal on 60 KB arrays is slow). */
function expectSame(got: SessionRecord | null, want: SessionRecord): void {
  expect(got).not.toBeNull();
  const { payload, ...rest } = got!;
  const { payload: wantPayload, ...wantRest } = want;
  expect(rest).toEqual(wantRest);
  expect(Buffer.compare(payload, wantPayload)).toBe(0);
}

/** Check every file on disk and every record's version against what the child acknowledged. */
async function verify(
  dir: string,
  acked: number[],
  heads: number[],
  evidence: { temps: Set<string>; pending: Set<string>; locks: Set<string> },
): Promise<void> {
  const store = createFsStore({ dir });
  const files = await walk(`${dir}/s`);
  for (const file of files) {
    if (file.endsWith('.tmp')) {
      evidence.temps.add(file);
      continue;
    }
    if (file.endsWith('.lock')) evidence.locks.add(file);
    if (!file.endsWith('.rec')) continue;
    // Every record file is complete and checksummed: never torn.
    const stored = decodeRecord(await readFile(file));
    expect(stored, file).toBeDefined();
    if (stored?.pendingParent !== undefined) evidence.pending.add(file);
  }
  for (const [k, id] of REPLACE_IDS.entries()) {
    const got = await store.get(id);
    expect(got).not.toBeNull();
    // Old or new version, with exactly the bytes written for that version.
    expect([acked[k], acked[k]! + 1]).toContain(got!.version);
    expectSame(got, recordAt(id, got!.version));
    acked[k] = got!.version;
  }
  for (let c = 0; c < CHAINS; c++) {
    let n = 0;
    for (;;) {
      const got = await store.get(chainId(c, n));
      expect(got, `chain ${c} link ${n}`).not.toBeNull();
      expectSame(got, recordAt(chainId(c, n), got!.version));
      if (got!.version === 1) break;
      n++; // a tombstone: rotate committed, so its successor must exist (checked next loop)
    }
    // The head's would-be successor does not exist: a rotate cut short left nothing visible.
    expect(await store.get(chainId(c, n + 1))).toBeNull();
    expect([heads[c], heads[c]! + 1]).toContain(n);
    heads[c] = n;
  }
  await store.close();
}

describe('fs store: crash safety', () => {
  for (const [durability, kills] of [
    ['fsync', 30],
    ['none', 10],
  ] as const) {
    it(`a writer SIGKILLed at random moments leaves every record at its old or new version, never torn (durability ${durability})`, async () => {
      const dir = await tempDir();
      const setup = createFsStore({ dir });
      for (const id of REPLACE_IDS) await setup.insert(recordAt(id, 1));
      for (let c = 0; c < CHAINS; c++) await setup.insert(recordAt(chainId(c, 0), 1));
      const acked = REPLACE_IDS.map(() => 1);
      const heads = Array.from({ length: CHAINS }, () => 0);
      const evidence = {
        temps: new Set<string>(),
        pending: new Set<string>(),
        locks: new Set<string>(),
      };
      let ops = 0;
      const started = Date.now();
      // Writers load (~0.5 s each) a few at a time ahead of use and wait idle for "go".
      const spawn = (): Child => spawnFixture('crash-writer.ts', [dir, durability]);
      const queue: Child[] = Array.from({ length: Math.min(PRELOAD, kills) }, spawn);
      for (let kill = 0; kill < kills; kill++) {
        const child = queue.shift()!;
        await child.waitFor((line) => line === 'loaded', 15_000);
        child.proc.stdin!.write('go\n');
        await child.waitFor((line) => line === 'ready', 15_000);
        // Let it write for a random moment (at least one acknowledged op), then kill it mid-flight.
        await child.waitFor((line) => line !== 'ready' && line !== 'loaded', 10_000);
        await delay(Math.random() * 40);
        child.proc.kill('SIGKILL');
        const exit = await child.exited;
        expect(exit.signal, exit.stderr).toBe('SIGKILL');
        if (kill + queue.length + 1 < kills) queue.push(spawn());
        const lines = child.lines.filter((l) => l !== 'ready' && l !== 'loaded');
        ops += lines.length;
        for (const line of lines) {
          const [kind, a, b] = line.split(' ');
          if (kind === 'R') acked[Number(a)] = Number(b);
          if (kind === 'T') heads[Number(a)] = Number(b);
        }
        await verify(dir, acked, heads, evidence);
      }
      // With fsync most of a writer's time is inside a write, so kills must have landed
      // there: temp files, abandoned locks or uncommitted rotate halves were left behind.
      if (durability === 'fsync') {
        expect(evidence.temps.size + evidence.pending.size + evidence.locks.size).toBeGreaterThan(
          0,
        );
      }
      console.log(
        `crash test (${durability}): ${kills} kills, ${ops} acknowledged writes, ` +
          `left behind: ${evidence.temps.size} temp files, ${evidence.locks.size} locks (broken by the next writer), ` +
          `${evidence.pending.size} uncommitted rotate halves; ` +
          `${Date.now() - started} ms`,
      );
      // Leftovers are cleaned by sweep once older than staleLockMs.
      await delay(20);
      const sweeper = createFsStore({ dir, staleLockMs: 10 });
      await sweeper.sweep(0);
      // Temp files, and the locks of the killed writers (#14), are all gone.
      expect(
        (await walk(`${dir}/s`)).filter((f) => f.endsWith('.tmp') || f.includes('.lock')),
      ).toEqual([]);
    }, 120_000);
  }
});
