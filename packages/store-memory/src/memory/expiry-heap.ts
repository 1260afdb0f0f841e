/**
 * A binary min-heap of (expiresAt, id), so reclaiming expired records costs
 * O(k log n) for k expired records instead of a walk over every record.
 *
 * Entries are never removed when a record is deleted or its expiry changes
 * (that would need a position map per record); the owner checks each popped
 * entry against the live record and ignores stale ones, and calls
 * {@link ExpiryHeap.rebuild} when stale entries outnumber live records.
 * Invariant the owner keeps: every stored record has at least one entry
 * carrying its current `expiresAt`.
 *
 * Two parallel arrays instead of an object per entry: 16 bytes per entry.
 */
export class ExpiryHeap {
  private exps: number[] = [];
  private ids: string[] = [];

  /** Number of entries, live or stale. */
  get size(): number {
    return this.exps.length;
  }

  /** The smallest `expiresAt` held (a lower bound on the earliest live expiry), or `Infinity`. */
  peek(): number {
    return this.exps.length === 0 ? Number.POSITIVE_INFINITY : (this.exps[0] as number);
  }

  /** The id of the entry {@link peek} describes. Only call when `size > 0`. */
  peekId(): string {
    return this.ids[0] as string;
  }

  push(expiresAt: number, id: string): void {
    const exps = this.exps;
    const ids = this.ids;
    let i = exps.length;
    exps.push(expiresAt);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pe = exps[parent] as number;
      if (pe <= expiresAt) break;
      exps[i] = pe;
      ids[i] = ids[parent] as string;
      i = parent;
    }
    exps[i] = expiresAt;
    ids[i] = id;
  }

  /** Remove the top entry. Only call when `size > 0`. */
  pop(): void {
    const exps = this.exps;
    const ids = this.ids;
    const lastExp = exps.pop() as number;
    const lastId = ids.pop() as string;
    if (exps.length > 0) this.siftDown(0, lastExp, lastId);
  }

  /** Replace every entry by one per `(expiresAt, id)` given, in O(n). */
  rebuild(entries: Iterable<readonly [number, string]>): void {
    const exps: number[] = [];
    const ids: string[] = [];
    for (const [exp, id] of entries) {
      exps.push(exp);
      ids.push(id);
    }
    this.exps = exps;
    this.ids = ids;
    for (let i = (exps.length >> 1) - 1; i >= 0; i--) {
      this.siftDown(i, exps[i] as number, ids[i] as string);
    }
  }

  clear(): void {
    this.exps = [];
    this.ids = [];
  }

  private siftDown(start: number, exp: number, id: string): void {
    const exps = this.exps;
    const ids = this.ids;
    const n = exps.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (exps[right] as number) < (exps[child] as number)) child = right;
      const ce = exps[child] as number;
      if (ce >= exp) break;
      exps[i] = ce;
      ids[i] = ids[child] as string;
      i = child;
    }
    exps[i] = exp;
    ids[i] = id;
  }
}
