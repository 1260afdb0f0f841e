// A Redis that stops answering without closing the connection (a frozen
// process, a partition): SIGSTOP on a redis-server of our own. The store
// must keep what it queues bounded while calls keep coming, and a write
// the caller saw fail must not land later, except as the README says.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StoreUnavailable } from '@cloakroom/core';
import { createRedisStore, RedisGaveUp, type RedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer, tempDir, waitFor } from './redis-servers';
import { makeRecord, uniquePrefix } from './redis-test-env';

const TIMEOUT_MS = 200;
const MAX_IN_FLIGHT = 64;
const RATE_EVERY_MS = 2; // 500 calls/s, the rate of the outside review
const FROZEN_MS = 3_000;
const PAYLOAD = 16 * 1024; // 1,500 unbounded inserts would hold ~24 MiB of payload

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let port: number;
let server: RedisServer | undefined;
const dir = tempDir('frozen');
let frozen = false;

beforeAll(async () => {
  port = await freePort();
  server = await startRedisServer(port, dir.dir);
});
afterEach(() => {
  if (frozen && server) process.kill(server.pid, 'SIGCONT');
  frozen = false;
});
afterAll(async () => {
  await server?.kill();
  dir.remove();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The ioredis methods the store sends its commands through.
const METHODS = ['evalshaBuffer', 'evalBuffer', 'getBuffer', 'get', 'ping', 'wait'] as const;

/**
 * Count the store's commands an ioredis client holds (sent and unanswered,
 * in its offline queue, or waiting in an auto-pipeline batch): wrap the
 * methods on `target`, a client or Redis.prototype, until `restore`.
 */
function holdCounter(target: object): { held: () => number; restore: () => void } {
  let held = 0;
  const t = target as Record<string, unknown>;
  const saved = METHODS.map((name) => [name, Object.getOwnPropertyDescriptor(t, name)] as const);
  for (const name of METHODS) {
    const original = t[name] as (...a: unknown[]) => Promise<unknown>;
    t[name] = function (this: unknown, ...args: unknown[]) {
      held++;
      const p = original.apply(this, args);
      p.then(
        () => held--,
        () => held--,
      );
      return p;
    };
  }
  return {
    held: () => held,
    restore() {
      for (const [name, descriptor] of saved) {
        if (descriptor === undefined) delete t[name];
        else Object.defineProperty(t, name, descriptor);
      }
    },
  };
}

/** What ioredis itself reports holding: its command and offline queues and its auto-pipeline batches. */
function ioredisHeld(client: Redis): number {
  const internal = client as unknown as {
    commandQueue: { length: number };
    offlineQueue: { length: number };
    _autoPipelines: Map<string, { _queue: unknown[] }>;
  };
  let n = internal.commandQueue.length + internal.offlineQueue.length;
  for (const pipeline of internal._autoPipelines.values()) n += pipeline._queue.length;
  return n;
}

/**
 * Bytes in ArrayBuffers (where payloads and encoded commands live) and on
 * the heap, after a full collection. The payload bytes are the signal: the
 * heap also moves by megabytes with the test runner (formatting an error's
 * stack under vitest loads source maps), so it gets a looser bound.
 */
async function memory(): Promise<{ buffers: number; heap: number }> {
  // Dead ArrayBuffers are freed a little after the collection that finds
  // them: collect, let that happen, collect again.
  gc();
  await sleep(50);
  gc();
  const m = process.memoryUsage();
  return { buffers: m.arrayBuffers, heap: m.heapUsed };
}

interface Outcome {
  readonly id: string;
  /** How the insert failed (see reasonOf); undefined when it succeeded. Only this is kept, not the error. */
  reason?: string | undefined;
}

/**
 * Freeze the server, insert at a fixed rate for FROZEN_MS, sampling what is
 * held, then thaw it and wait until the store answers again.
 */
async function insertWhileFrozen(
  store: RedisStore,
  held: () => number,
): Promise<{ outcomes: Outcome[]; maxHeld: number; growth: { buffers: number; heap: number } }> {
  const before = await memory();
  process.kill((server as RedisServer).pid, 'SIGSTOP');
  frozen = true;
  const outcomes: Outcome[] = [];
  const settled: Promise<void>[] = [];
  let maxHeld = 0;
  const started = performance.now();
  let issued = 0;
  while (performance.now() - started < FROZEN_MS) {
    // Fixed rate: catch up on the calls due so far (timers drift under load).
    // The first call goes out alone (its auto-pipeline batch is sent before
    // the next call), so what reached the socket is known: one command.
    const due = issued === 0 ? 1 : Math.floor((performance.now() - started) / RATE_EVERY_MS);
    for (; issued < due; issued++) {
      const record = makeRecord({ payload: new Uint8Array(PAYLOAD).fill(issued & 0xff) });
      const outcome: Outcome = { id: record.id };
      outcomes.push(outcome);
      settled.push(
        store.insert(record).then(
          () => {},
          (err: unknown) => {
            outcome.reason = reasonOf(err);
          },
        ),
      );
    }
    maxHeld = Math.max(maxHeld, held());
    if (issued === 1) await new Promise((resolve) => setImmediate(resolve));
    await sleep(RATE_EVERY_MS);
  }
  maxHeld = Math.max(maxHeld, held());
  const end = await memory();
  const growth = { buffers: end.buffers - before.buffers, heap: end.heap - before.heap };
  process.kill((server as RedisServer).pid, 'SIGCONT');
  frozen = false;
  await Promise.all(settled);
  return { outcomes, maxHeld, growth };
}

/** The ids whose record exists, read with a fresh client. */
async function landed(prefix: string, ids: string[]): Promise<Set<string>> {
  const raw = new Redis({ host: '127.0.0.1', port });
  try {
    const keys = await raw.keys(`${prefix}*:s:*`); // test-side only, on our own server
    const present = new Set(keys.map((k) => k.slice(k.lastIndexOf(':s:') + 3)));
    return new Set(ids.filter((id) => present.has(id)));
  } finally {
    raw.disconnect();
  }
}

function reasonOf(err: unknown): string {
  if (!(err instanceof StoreUnavailable)) return 'other';
  return err.cause instanceof RedisGaveUp ? err.cause.reason : 'driver';
}

describe('a frozen Redis (SIGSTOP): bounded queue, no silent late writes', () => {
  it('store-owned client: at 500 inserts/s for 3 s, at most maxInFlight calls are held, memory stays flat, fail-fast calls never land, and the reset drops what waited', async () => {
    const prefix = uniquePrefix('frozen-owned');
    // The store's own client is an ioredis Redis made inside the store: count on the prototype.
    const counter = holdCounter(Redis.prototype);
    // Scripts handed to a ready connection are written to its socket at once:
    // those are the only ones the reset cannot take back.
    const proto = Redis.prototype as unknown as {
      sendCommand: (this: Redis, command: { name: string }, ...rest: unknown[]) => unknown;
    };
    const sendCommand = proto.sendCommand;
    let written = 0;
    proto.sendCommand = function (command, ...rest) {
      if (this.status === 'ready' && command.name === 'evalsha') written++;
      return sendCommand.call(this, command, ...rest);
    };
    const store = createRedisStore({
      url: `redis://127.0.0.1:${port}`,
      prefix,
      commandTimeoutMs: TIMEOUT_MS,
      maxInFlight: MAX_IN_FLIGHT,
    });
    try {
      // Connected and scripts cached first (retried: 200 ms is tight on a loaded machine).
      await waitFor('a first insert', async () => {
        await store.insert(makeRecord());
        return true;
      });
      const writtenBefore = written;
      const { outcomes, maxHeld, growth } = await insertWhileFrozen(store, counter.held);
      const writtenWhileFrozen = written - writtenBefore;

      expect(outcomes.length).toBeGreaterThan(1_000);
      // Bounded: what the client holds never passes the limit (+ the probe PING).
      expect(maxHeld).toBeLessThanOrEqual(MAX_IN_FLIGHT + 1);
      // Unbounded, ~1,500 inserts of 16 KiB would hold ~24 MiB of buffers;
      // bounded, at most 64 of them are held (~1 MiB, plus garbage not yet freed).
      expect(growth.buffers).toBeLessThan(6 * 1024 * 1024);
      expect(growth.heap).toBeLessThan(16 * 1024 * 1024);
      // Timed out, or (sent before the reset) rejected by it, or failed fast.
      const allowed = ['timeout', 'driver', 'unresponsive', 'in-flight-limit'];
      expect(outcomes.filter((o) => !allowed.includes(o.reason as string))).toEqual([]);
      const unknown = outcomes.filter((o) => o.reason === 'timeout' || o.reason === 'driver');
      expect(unknown.length).toBeLessThanOrEqual(MAX_IN_FLIGHT);

      await waitFor(
        'the store to answer again',
        async () => (await store.get(makeRecord().id)) === null,
      );
      const ids = outcomes.map((o) => o.id);
      const late = await landed(prefix, ids);
      // Nothing that failed fast was sent, so nothing of it lands.
      for (const o of outcomes) {
        if (late.has(o.id)) expect(['timeout', 'driver']).toContain(o.reason);
      }
      // Of the inserts handed to the client, only those already written to
      // the socket before the store reset it can land: the insert in flight
      // when Redis went silent (alone, so written at once) and, with
      // auto-pipelining, the one batch written behind it (ioredis holds the
      // next batch until that one is answered); what waited behind them was
      // rejected by the reset and never runs.
      expect(late.size).toBeLessThanOrEqual(writtenWhileFrozen);
      expect(writtenWhileFrozen).toBeGreaterThanOrEqual(1);
      expect(writtenWhileFrozen).toBeLessThanOrEqual(2);
      // And the store works again.
      const after = makeRecord();
      await store.insert(after);
      expect(await store.get(after.id)).toEqual(after);
    } finally {
      counter.restore();
      proto.sendCommand = sendCommand;
      await store.close();
    }
  });

  it('caller-supplied auto-pipelining client: the store sends at most maxInFlight calls into it while Redis is silent, and never closes it; only those may land late', async () => {
    const prefix = uniquePrefix('frozen-caller');
    const client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: true });
    client.on('error', () => {});
    const store = createRedisStore({
      client,
      prefix,
      commandTimeoutMs: TIMEOUT_MS,
      maxInFlight: MAX_IN_FLIGHT,
    });
    try {
      await waitFor('a first insert', async () => {
        await store.insert(makeRecord());
        return true;
      });
      const { outcomes, maxHeld, growth } = await insertWhileFrozen(store, () =>
        ioredisHeld(client),
      );

      expect(outcomes.length).toBeGreaterThan(1_000);
      expect(maxHeld).toBeLessThanOrEqual(MAX_IN_FLIGHT + 1);
      expect(growth.buffers).toBeLessThan(6 * 1024 * 1024);
      expect(growth.heap).toBeLessThan(16 * 1024 * 1024);
      const timedOut = outcomes.filter((o) => o.reason === 'timeout');
      expect(timedOut.length).toBeLessThanOrEqual(MAX_IN_FLIGHT);

      await waitFor(
        'the store to answer again',
        async () => (await store.get(makeRecord().id)) === null,
      );
      const late = await landed(
        prefix,
        outcomes.map((o) => o.id),
      );
      // A client the store does not own keeps what it was given: the
      // timed-out inserts may land late (documented), nothing else does.
      for (const o of outcomes) {
        if (late.has(o.id)) expect(o.reason).toBe('timeout');
      }
      expect(late.size).toBeLessThanOrEqual(timedOut.length);
      expect(client.status).toBe('ready');
    } finally {
      await store.close();
      client.disconnect();
    }
  });
});
