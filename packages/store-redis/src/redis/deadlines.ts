// The command timeout of a connection's operations, on one timer per timeout
// length. See Deadlines.
/** What a `run`'s work sees of its deadline. */
export interface Deadline {
  /** True once the command timeout has passed: start no further step. */
  expired(): boolean;
}

/** One `run` in flight: settled once, by its work or by its deadline. */
export class Operation implements Deadline {
  settled = false;
  late = false;
  constructor(
    readonly deadline: number,
    readonly reject: (err: Error) => void,
  ) {}
  /** Called once when the deadline rejects the operation (its work is still running). */
  onTimeout(): void {}
  expired(): boolean {
    return this.late;
  }
}

/**
 * The command timeout of every operation of one connection, on one timer.
 * All operations get the same timeout, so deadlines come in the order the
 * operations start: a FIFO queue whose head has the earliest deadline. The
 * one timer is armed for the head and, when it fires, rejects what is due
 * and re-arms for the new head; finished operations leave the queue from
 * the head. Under load that is one timer callback per timeout period
 * instead of a timer per command. The timer keeps the process alive only
 * while some operation is waiting (as a timer per command did).
 */
export class Deadlines {
  private queue: (Operation | undefined)[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refed = false;

  constructor(private readonly timedOut: () => Error) {}

  add(op: Operation): void {
    this.queue.push(op);
    if (this.timer === undefined) {
      this.arm(op.deadline - performance.now());
    } else if (!this.refed) {
      this.timer.ref();
      this.refed = true;
    }
  }

  /** Mark `op` settled by its work; false when its deadline already rejected it. */
  finish(op: Operation): boolean {
    if (op.settled) return false;
    op.settled = true;
    this.dropSettled();
    return true;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(ms)));
    this.refed = true;
  }

  private dropSettled(): void {
    const q = this.queue;
    let h = this.head;
    while (h < q.length && (q[h] as Operation).settled) q[h++] = undefined;
    if (h === q.length) {
      q.length = 0;
      this.head = 0;
      // Nothing waits: the armed timer must not hold the process open.
      if (this.refed && this.timer !== undefined) {
        this.timer.unref();
        this.refed = false;
      }
      return;
    }
    if (h > 1024 && h * 2 > q.length) {
      q.copyWithin(0, h);
      q.length -= h;
      h = 0;
    }
    this.head = h;
  }

  private sweep(): void {
    this.timer = undefined;
    this.refed = false;
    const now = performance.now();
    const q = this.queue;
    while (this.head < q.length) {
      const op = q[this.head] as Operation;
      if (!op.settled) {
        if (op.deadline > now) break;
        op.settled = true;
        op.late = true;
        op.reject(this.timedOut());
        op.onTimeout();
      }
      q[this.head++] = undefined;
    }
    this.dropSettled();
    if (this.head < q.length) this.arm((q[this.head] as Operation).deadline - now);
  }
}
