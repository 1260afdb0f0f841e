// The command timeout runs on one timer per store: each operation must still
// fail at its own deadline, a late answer must be ignored, and the timer
// must not hold the process open once nothing waits. A server paused with
// CLIENT PAUSE (its own redis-server, so no other suite is paused) answers
// nothing until the pause ends.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StoreUnavailable } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer, tempDir, waitFor } from './redis-servers';
import { keysUnder, makeRecord, uniquePrefix } from './redis-test-env';

const TIMEOUT_MS = 300;
const PAUSE_MS = 2_000;

const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));

let port: number;
let server: RedisServer | undefined;
let client: Redis;
let admin: Redis;
const dir = tempDir('command-timeout');

beforeAll(async () => {
  port = await freePort();
  server = await startRedisServer(port, dir.dir);
  client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: true });
  admin = new Redis({ host: '127.0.0.1', port });
});
afterAll(async () => {
  client?.disconnect();
  admin?.disconnect();
  await server?.kill();
  dir.remove();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How an operation ended and after how long. */
async function timed(work: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = performance.now();
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, ms: performance.now() - started };
}

async function pause(): Promise<void> {
  await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
}

async function waitUntilAnswering(): Promise<void> {
  await waitFor('the pause to end', async () => (await client.ping()) === 'PONG', 10_000);
}

describe('command timeout on one shared timer', () => {
  it('operations started at different times each fail at their own deadline; late answers and late failures are ignored', async () => {
    const prefix = uniquePrefix('deadline');
    const store = createRedisStore({ client, prefix, commandTimeoutMs: TIMEOUT_MS });
    const record = makeRecord();
    const broken = makeRecord();
    await store.insert(record);
    await store.insert(broken);
    // Its answer, after the pause, fails to decode: a rejection after the deadline won.
    const brokenKey = (await keysUnder(client, prefix)).find((k) =>
      k.endsWith(`:s:${broken.id}`),
    ) as string;
    await client.set(brokenKey, 'not a record');

    await pause();
    const first = timed(store.get(record.id));
    const late = timed(store.get(broken.id));
    await sleep(150);
    const second = timed(store.get(record.id));
    const third = timed(store.listBySubject(record.subject));
    const results = await Promise.all([first, late, second, third]);
    for (const { err, ms } of results) {
      expect(err).toBeInstanceOf(StoreUnavailable);
      // Not before its own deadline (the second batch started 150 ms later
      // than the first), and long before the pause ends.
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
      expect(ms).toBeLessThan(PAUSE_MS - 500);
    }

    await waitUntilAnswering();
    // The late answers have arrived (same connection, in order) and changed nothing.
    expect(await store.get(record.id)).toEqual(record);
    expect((await store.listBySubject(record.subject)).map((r) => r.id)).toEqual([record.id]);
    await store.close();
  });

  it('the timer does not hold the process open once nothing waits', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/idle-exit.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(port)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let doneAt: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('done')) doneAt ??= performance.now();
    });
    // The store's timeout is 60 s: a timer left holding the loop would keep
    // the child alive far past this bound.
    const code = await Promise.race([exited, sleep(20_000).then(() => 'still running')]);
    if (code === 'still running') child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(doneAt).toBeDefined();
    expect(performance.now() - (doneAt as number)).toBeLessThan(5_000);
  });
});
