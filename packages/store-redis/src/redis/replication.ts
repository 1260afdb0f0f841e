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

/**
 * Group commit of WAITs on one node's connection. WAIT covers every write
 * its connection made before it, so callers whose writes were answered
 * share one WAIT: the one in flight may have been sent before their write
 * (it does not count for them), so they join the next, sent when it
 * returns. One WAIT at a time per connection instead of one per write:
 * WAIT blocks the connection, so one per write serialised them all.
 *
 * Each WAIT goes out on behalf of one of its own callers (`O`, the
 * operation that is charged for it): the first for a WAIT sent at once, the
 * latest to join for a queued one. Either is still waiting for that WAIT,
 * so it is never charged to an operation that has already finished.
 */
export class WaitBatch<O = void> {
  private running: Promise<number> | undefined;
  private queued: Promise<number> | undefined;
  private queuedFor: O | undefined;

  constructor(private readonly send: (caller: O) => Promise<number>) {}

  wait(caller: O): Promise<number> {
    if (this.running === undefined) return this.start(caller);
    // Kept per batch, never shared across nodes: the queued WAIT of this
    // node goes out under a caller of this node's WAIT.
    this.queuedFor = caller;
    if (this.queued === undefined) {
      const after = (): Promise<number> => {
        const next = this.queuedFor as O;
        this.queued = undefined;
        this.queuedFor = undefined;
        return this.start(next);
      };
      this.queued = this.running.then(after, after);
    }
    return this.queued;
  }

  private start(caller: O): Promise<number> {
    const running = this.send(caller);
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
  const batches = new Map<string, WaitBatch<Op>>();
  const waitOn = (op: Op, node: string, key: string): Promise<number> => {
    let batch = batches.get(node);
    if (batch === undefined) {
      batch = new WaitBatch<Op>((caller) =>
        caller.send(key, (c) => c.wait(replicas, timeoutMs), true),
      );
      batches.set(node, batch);
    }
    return batch.wait(op);
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
      // Every WAIT settles before the operation does: a failure on one node
      // must not end the operation while a WAIT on another is still queued
      // on its behalf (it would then be sent for a finished operation).
      const results = await Promise.allSettled(
        [...byNode].map(([node, key]) => waitOn(op, node, key)),
      );
      const acks: number[] = [];
      for (const r of results) {
        if (r.status === 'rejected') throw r.reason;
        acks.push(r.value);
      }
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
