// The replication guarantee: after a write, WAIT until enough replicas hold
// it, or report the write as not acknowledged.
import type { Op } from './connection';
import type { Connection } from './connection';
import { gaveUp } from '../errors';
import type { ReplicationOptions } from '../options';

/** Which writes an operation made, for {@link Replicator.after}. */
export type WriteKind = 'revocation' | 'write';

/** Applies `replication` to the writes of one store. */
export interface Replicator {
  /**
   * Time a write of this kind may take on top of `commandTimeoutMs`: two WAIT
   * timeouts when the guarantee covers it (the WAIT in flight, then its own), else 0.
   */
  extraMs(kind: WriteKind): number;
  /**
   * When the guarantee covers a write of this kind, WAIT on the master of
   * every key in `keys` (each on the connection that wrote) and throw
   * `StoreUnavailable` (cause: `RedisGaveUp` `replication`) unless each
   * reports at least `replicas` acknowledgements.
   */
  after(op: Op, kind: WriteKind, keys: readonly string[]): Promise<void>;
}

/** The replicator for resolved options; a no-op without `replication`. */
/**
 * Group commit of WAITs on one node's connection. WAIT covers every write
 * its connection made before it, so callers whose writes were answered
 * share one WAIT: the one in flight may have been sent before their write
 * (it does not count for them), so they join the next, sent when it
 * returns. One WAIT at a time per connection instead of one per write:
 * WAIT blocks the connection, so one per write serialised them all.
 */
export class WaitBatch {
  private running: Promise<number> | undefined;
  private queued: Promise<number> | undefined;

  constructor(private readonly send: () => Promise<number>) {}

  wait(): Promise<number> {
    if (this.running === undefined) return this.start();
    if (this.queued === undefined) {
      const after = (): Promise<number> => {
        this.queued = undefined;
        return this.start();
      };
      this.queued = this.running.then(after, after);
    }
    return this.queued;
  }

  private start(): Promise<number> {
    const running = this.send();
    this.running = running;
    const clear = (): void => {
      if (this.running === running) this.running = undefined;
    };
    running.then(clear, clear);
    return running;
  }
}

/** The replicator for resolved options; a no-op without `replication`. */
export function replicator(conn: Connection, options: ReplicationOptions | undefined): Replicator {
  if (options === undefined) {
    return { extraMs: () => 0, after: async () => {} };
  }
  const { replicas, timeoutMs, writes } = options;
  const batches = new Map<string, WaitBatch>();
  // The operation on whose behalf a batch's next WAIT goes out: the latest
  // caller, which is always one still waiting for that WAIT.
  let current: Op;
  const waitOn = (op: Op, node: string, key: string): Promise<number> => {
    let batch = batches.get(node);
    if (batch === undefined) {
      batch = new WaitBatch(() => current.send(key, (c) => c.wait(replicas, timeoutMs), true));
      batches.set(node, batch);
    }
    current = op;
    return batch.wait();
  };
  return {
    extraMs: (kind) => (kind === 'write' && writes !== 'all' ? 0 : 2 * timeoutMs),
    async after(op, kind, keys) {
      if (kind === 'write' && writes !== 'all') return;
      // One WAIT per master: WAIT covers every earlier write of its connection.
      const byNode = new Map<string, string>();
      for (const key of keys) {
        const node = conn.nodeOf(key);
        if (!byNode.has(node)) byNode.set(node, key);
      }
      const acks = await Promise.all([...byNode].map(([node, key]) => waitOn(op, node, key)));
      const fewest = Math.min(...acks.map(Number));
      if (!(fewest >= replicas)) {
        throw gaveUp(
          conn.label,
          'replication',
          `the write ran on the master but ${fewest} of ${replicas} replicas acknowledged it within ${timeoutMs} ms; treat it as not acknowledged`,
        );
      }
    },
  };
}
