// Issue #17 item 6: a writer killed in the middle of insertWithLimit (mid
// evict, mid insert, mid rotate) never leaves a subject over its limit, and
// never loses a record it acknowledged.
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { createFsStore } from '@cloakroom/store-fs';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../src/codec';
import { type Child, spawnFixture } from './child';
import { keyOf } from './fixtures/shared';
import { key, tempDir, walk } from './helpers';
import { seatsOf } from './seats';

const SUBJECT = keyOf('crash-limited');
const KILLS = 15;
const PRELOAD = 4;

describe('fs store: insertWithLimit under SIGKILL', () => {
  for (const step of ['after-unlink', 'before-rename', 'after-rename'] as const) {
    it(`killed ${step.replace('-', ' ')} (of an evicted record / of the new record): never over max, evictions done before the new record exists`, async () => {
      const dir = await tempDir();
      const store = createFsStore({ dir });
      const subject = key();
      const [a, b] = [key(), key()];
      for (const id of [a, b]) {
        await store.insert({
          id,
          subject,
          expiresAt: Date.now() + 60_000,
          version: 1,
          payload: new Uint8Array(),
        });
      }
      const n = key();
      const child = spawnFixture('limit-pause.ts', [dir, step, n, subject]);
      await child.waitFor((l) => l === 'loaded', 60_000);
      child.proc.stdin!.write('go\n');
      await child.waitFor((l) => l === 'paused', 30_000);
      child.proc.kill('SIGKILL');
      await child.exited;
      expect(child.lines).not.toContain('answered');
      const seats = await seatsOf(store, subject, Date.now());
      expect(seats.length).toBeLessThanOrEqual(2);
      // The oldest seat (a) is the one evicted; by the time the new record can exist, it is gone.
      expect(await store.get(a)).toBeNull();
      expect(await store.get(b)).not.toBeNull();
      expect((await store.get(n)) !== null).toBe(step === 'after-rename');
      // The killed writer's locks are broken at once (its pid is gone): the next call goes through.
      const m = key();
      const result = await store.insertWithLimit(
        { id: m, subject, expiresAt: Date.now() + 60_000, version: 1, payload: new Uint8Array() },
        { max: 2, evict: 'oldest' },
      );
      expect(result).toEqual({ inserted: true, evicted: step === 'after-rename' ? [b] : [] });
      expect(await seatsOf(store, subject, Date.now())).toHaveLength(2);
    }, 120_000);
  }

  it('a writer killed at random moments leaves at most max seats, and the newest acknowledged record in place', async () => {
    const dir = await tempDir();
    // The newest acknowledged inserted record: with max 2 a call in flight evicts only the
    // other seat, so this one must survive any kill (a rotate of it keeps it live too).
    let newest: string | undefined;
    let acked = 0;
    let partial = 0;
    const spawn = (): Child => spawnFixture('limit-crash-writer.ts', [dir]);
    const queue: Child[] = Array.from({ length: PRELOAD }, spawn);
    for (let kill = 0; kill < KILLS; kill++) {
      const child = queue.shift()!;
      await child.waitFor((line) => line === 'loaded', 60_000);
      child.proc.stdin!.write('go\n');
      await child.waitFor((line) => line === 'ready', 30_000);
      await child.waitFor((line) => line.startsWith('I ') || line.startsWith('T '), 30_000);
      await delay(Math.random() * 40);
      child.proc.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal, exit.stderr).toBe('SIGKILL');
      if (kill + queue.length + 1 < KILLS) queue.push(spawn());
      for (const line of child.lines) {
        const [kind, id] = line.split(' ');
        if (kind === 'I') newest = id;
        if (kind === 'I' || kind === 'T') acked++;
      }
      // Every record file is whole; the subject holds at most 2 seats, at least the newest.
      for (const file of (await walk(`${dir}/s`)).filter((f) => f.endsWith('.rec'))) {
        expect(decodeRecord(await readFile(file)), file).toBeDefined();
      }
      const store = createFsStore({ dir });
      const seats = await seatsOf(store, SUBJECT, Date.now());
      expect(seats.length).toBeLessThanOrEqual(2);
      if (newest !== undefined) expect(await store.get(newest), `kill ${kill}`).not.toBeNull();
      if ((await walk(`${dir}/s`)).some((f) => f.endsWith('.tmp') || f.endsWith('.lock')))
        partial++;
      await store.close();
    }
    console.log(
      `insertWithLimit crash test: ${KILLS} kills, ${acked} acknowledged calls, ${partial} kills left a write in flight`,
    );
    // The next limited insert after all that still finds at most max - 1 other seats.
    const store = createFsStore({ dir });
    const last = {
      id: keyOf('after-crashes'),
      subject: SUBJECT,
      expiresAt: Date.now() + 60_000,
      version: 1,
      payload: new Uint8Array(),
    };
    await store.insertWithLimit(last, { max: 2, evict: 'oldest' });
    expect(await seatsOf(store, SUBJECT, Date.now())).toHaveLength(2);
    expect(partial).toBeGreaterThan(0);
  }, 300_000);
});
