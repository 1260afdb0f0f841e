// Which Redis nodes are known not to answer. A node is marked when a store
// operation times out while one of its commands to that node is unanswered;
// from then on the store sends that node nothing (calls fail fast) until one
// probe, a PING on the same connection, is answered. Commands queue behind
// the unanswered ones on that connection, so the PING answers only once
// the node answers again: the probe needs no timer of its own.

/** Marks and probes nodes, identified by `host:port` (or `main` on a standalone client). */
export class NodeHealth {
  private readonly down = new Set<string>();

  constructor(
    /** Send one PING to the node on the connection the store's commands use; reject if it cannot. */
    private readonly ping: (node: string) => Promise<unknown> | undefined,
    /** Runs when a node is marked, before the probe is sent. */
    private readonly onMark: (node: string) => Promise<void> = async () => {},
  ) {}

  /** True while `node` is marked unresponsive. */
  isDown(node: string): boolean {
    return this.down.size > 0 && this.down.has(node);
  }

  /** Number of marked nodes. */
  get size(): number {
    return this.down.size;
  }

  /**
   * Mark `node` and probe it. The mark is lifted when the probe answers,
   * and also when it fails: a failed PING means the client dropped the
   * connection (and with it every queued command), so new commands face
   * the client's own reconnect handling again, and a new timeout marks the
   * node again.
   */
  mark(node: string): void {
    if (this.down.has(node)) return;
    this.down.add(node);
    const lift = (): void => {
      this.down.delete(node);
    };
    this.onMark(node)
      .then(() => {
        const probe = this.ping(node);
        // The node left the topology: nothing to probe, nothing to hold back.
        if (probe === undefined) lift();
        else probe.then(lift, lift);
      })
      .catch(lift);
  }
}
