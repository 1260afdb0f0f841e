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
  /** Time a guarded write may take on top of `commandTimeoutMs` (the WAIT timeout). */
  readonly extraMs: number;
  /**
   * When the guarantee covers a write of this kind, WAIT on the master of
   * every key in `keys` (each on the connection that wrote) and throw
   * `StoreUnavailable` (cause: `RedisGaveUp` `replication`) unless each
   * reports at least `replicas` acknowledgements.
   */
  after(op: Op, kind: WriteKind, keys: readonly string[]): Promise<void>;
}

/** The replicator for resolved options; a no-op without `replication`. */
export function replicator(conn: Connection, options: ReplicationOptions | undefined): Replicator {
  if (options === undefined) {
    return { extraMs: 0, after: async () => {} };
  }
  const { replicas, timeoutMs, writes } = options;
  return {
    extraMs: timeoutMs,
    async after(op, kind, keys) {
      if (kind === 'write' && writes !== 'all') return;
      // One WAIT per master: WAIT covers every earlier write of its connection.
      const byNode = new Map<string, string>();
      for (const key of keys) {
        const node = conn.nodeOf(key);
        if (!byNode.has(node)) byNode.set(node, key);
      }
      const acks = await Promise.all(
        [...byNode.values()].map((key) => op.send(key, (c) => c.wait(replicas, timeoutMs), true)),
      );
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
