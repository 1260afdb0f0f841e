// The replication guarantee's WAITs and the in-flight count, against the
// real test server. Two connections stand in for the connections of two
// masters (standalone has one node), so that the WAITs of the two "nodes"
// are answered independently, as on a cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { type Connection, type Op, connect } from '../../src/redis/connection';
import { replicator } from '../../src/redis/replication';
import { resolveOptions } from '../../src/options';
import { connectOrFail, uniquePrefix } from './redis-test-env';

const WAIT_MS = 100;

let main: Redis;
let nodeX: Redis;
let nodeY: Redis;

beforeAll(async () => {
  [main, nodeX, nodeY] = await Promise.all([connectOrFail(), connectOrFail(), connectOrFail()]);
});
afterAll(() => {
  for (const c of [main, nodeX, nodeY]) c?.disconnect();
});

describe('replication WAITs and maxInFlight', () => {
  it('a queued WAIT is charged to an operation still waiting on that node, never to one already released: the in-flight count never goes below 0 and returns to 0', async () => {
    const conn = connect(resolveOptions({ client: main, commandTimeoutMs: 5_000 }), 'redis store');
    // Keys starting with `x` belong to node X, the rest to node Y.
    const nodeOf = (key: string): string => (key.startsWith('x') ? 'X' : 'Y');
    const view: Connection = { ...conn, nodeOf };
    // The test server has no replica: every WAIT for 1 ends after WAIT_MS with 0.
    const wait = replicator(view, { replicas: 1, timeoutMs: WAIT_MS, writes: 'all' });
    // Each node's WAIT goes out on that node's own connection; the operation
    // that sends it is still the one charged (the real op's send).
    const routed = (op: Op): Op => ({
      ...op,
      send: (key, issue, direct) =>
        op.send(key, () => issue(nodeOf(key) === 'X' ? nodeX : nodeY), direct),
    });
    let lowest = 0;
    const sample = setInterval(() => {
      lowest = Math.min(lowest, conn.inFlight);
    }, 1);
    const op = (key: string) =>
      conn
        .run((o) => wait.after(routed(o), 'write', [key]), 2 * WAIT_MS)
        .then(
          () => 'acknowledged',
          (err: Error) => (err.cause as { reason?: string } | undefined)?.reason ?? err.message,
        );
    try {
      // Node X's connection is busy for 300 ms, so P's WAIT there is answered late.
      const busy = nodeX.blpop(`${uniquePrefix('in-flight')}never`, 0.3);
      const p = op('x:p');
      // A joins the WAIT queued behind P's on node X.
      const a = op('x:a');
      // B, on the idle node Y, has its WAIT answered (and is released) long
      // before P's returns and A's queued WAIT goes out.
      const b = op('y:b');
      expect(await b).toBe('replication');
      lowest = Math.min(lowest, conn.inFlight);
      expect(conn.inFlight).toBe(2);
      expect(await Promise.all([p, a])).toEqual(['replication', 'replication']);
      await busy;
      lowest = Math.min(lowest, conn.inFlight);
      expect(lowest).toBe(0);
      expect(conn.inFlight).toBe(0);
    } finally {
      clearInterval(sample);
      await conn.close();
    }
  });
});
