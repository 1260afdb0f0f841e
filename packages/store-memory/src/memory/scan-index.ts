/**
 * Insertion-ordered index for cursor-based scans.
 *
 * Every inserted record gets the next sequence number; `(seq, id)` pairs are
 * appended to two parallel arrays, so both stay sorted by seq and a cursor
 * (the last seq a page covered) is found again by binary search in
 * O(log n), whatever was inserted or deleted meanwhile. A record updated in
 * place keeps its seq, which is why a scan that rewrites every record it
 * visits (rewrap) still ends and still sees each record once.
 *
 * Deleted records leave "ghost" pairs behind (removing from the middle of an
 * array is O(n)); the owner recognises them because the live record's seq
 * differs or the id is gone, reports each removal through
 * {@link ScanIndex.noteRemoved}, and calls {@link ScanIndex.compact} when
 * {@link ScanIndex.shouldCompact} says ghosts dominate.
 */
export class ScanIndex {
  private seqs: number[] = [];
  private ids: string[] = [];
  private nextSeq = 1;
  private ghosts = 0;

  /** Number of pairs held, live or ghost. */
  get length(): number {
    return this.seqs.length;
  }

  /** Append a pair for `id` and return its new seq. */
  add(id: string): number {
    const seq = this.nextSeq++;
    this.seqs.push(seq);
    this.ids.push(id);
    return seq;
  }

  seqAt(position: number): number {
    return this.seqs[position] as number;
  }

  idAt(position: number): string {
    return this.ids[position] as string;
  }

  /** Position of the first pair whose seq is greater than `seq`. */
  positionAfter(seq: number): number {
    const seqs = this.seqs;
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((seqs[mid] as number) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** One pair became a ghost. */
  noteRemoved(): void {
    this.ghosts++;
  }

  /** True when ghosts outnumber live pairs (plus slack), so compaction is amortised O(1) per removal. */
  shouldCompact(): boolean {
    return this.ghosts > 1024 && this.ghosts * 2 > this.seqs.length;
  }

  /** Drop every pair for which `isLive(id, seq)` is false, keeping order. */
  compact(isLive: (id: string, seq: number) => boolean): void {
    const seqs = this.seqs;
    const ids = this.ids;
    let w = 0;
    for (let r = 0; r < seqs.length; r++) {
      const seq = seqs[r] as number;
      const id = ids[r] as string;
      if (isLive(id, seq)) {
        seqs[w] = seq;
        ids[w] = id;
        w++;
      }
    }
    seqs.length = w;
    ids.length = w;
    this.ghosts = 0;
  }

  clear(): void {
    this.seqs = [];
    this.ids = [];
    this.ghosts = 0;
  }
}
