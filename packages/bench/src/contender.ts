// What every contender (Cloakroom, the floor, the peer) offers the runner,
// and the per-round workload state that feeds the operations.
import type { Operation } from './config';

/** The primitive operations of one contender. Errors (or a miss) throw: the bench must not count failures. */
export interface SessionOps {
  readonly supports: ReadonlySet<Operation>;
  /** A new session for `subject`; returns the handle the client would hold. */
  create(subject: string): Promise<string>;
  resolve(handle: string): Promise<void>;
  /** Returns the successor handle. */
  refresh(handle: string): Promise<string>;
  revoke(handle: string): Promise<void>;
  revokeSubject(subject: string): Promise<void>;
  listSessions(subject: string): Promise<void>;
  close(): Promise<void>;
}

export const ALL_OPS: ReadonlySet<Operation> = new Set([
  'resolve',
  'create',
  'refresh',
  'revoke',
  'revokeSubject',
  'listSessions',
]);

/** Subjects listed by `listSessions`, and sessions each. */
const LIST_SUBJECTS = 20;
const SESSIONS_PER_LISTED_SUBJECT = 5;

/**
 * One contender's input for one round: a resolve pool, one refresh chain per
 * in-flight slot, listed subjects, and the sessions `create` made for
 * `revoke` and `revokeSubject` to consume.
 */
export class Workload {
  private resolvePool: string[] = [];
  private refreshChains: string[] = [];
  private listSubjects: string[] = [];
  private revocable: string[] = [];
  private revocableSubjects: string[] = [];
  private made = 0;
  private topped = 0;

  constructor(
    readonly ops: SessionOps,
    private readonly tag: string,
  ) {}

  /** Untimed setup for a round: the pools every non-consuming operation reads. */
  async prepare(resolvePool: number, chains: number): Promise<void> {
    this.resolvePool = await this.createMany(resolvePool, (i) => `${this.tag}-r${i % 97}`);
    if (this.ops.supports.has('refresh')) {
      this.refreshChains = await this.createMany(chains, (i) => `${this.tag}-f${i}`);
    }
    if (this.ops.supports.has('listSessions')) {
      this.listSubjects = Array.from({ length: LIST_SUBJECTS }, (_, i) => `${this.tag}-l${i}`);
      await this.createMany(
        LIST_SUBJECTS * SESSIONS_PER_LISTED_SUBJECT,
        (i) => this.listSubjects[i % LIST_SUBJECTS] as string,
      );
    }
  }

  /**
   * Untimed: makes sure a consuming operation has at least `count` inputs.
   * `revokeSubject` gets subjects with two sessions each, made here only, so
   * it never removes a session `revoke` still expects.
   */
  async topUp(operation: Operation, count: number): Promise<void> {
    if (operation === 'revoke' && this.revocable.length < count) {
      const more = await this.createMany(
        count - this.revocable.length,
        () => `${this.tag}-t${this.topped++}`,
      );
      this.revocable.push(...more);
    }
    if (operation === 'revokeSubject' && this.revocableSubjects.length < count) {
      const missing = count - this.revocableSubjects.length;
      const subjects = Array.from({ length: missing }, () => `${this.tag}-s${this.topped++}`);
      await this.createMany(missing * 2, (i) => subjects[i >> 1] as string);
      this.revocableSubjects.push(...subjects);
    }
  }

  /** One timed operation. `false` when a consuming operation ran out of input. */
  async run(operation: Operation, i: number, slot: number): Promise<boolean> {
    switch (operation) {
      case 'resolve':
        await this.ops.resolve(this.resolvePool[(i * 7919) % this.resolvePool.length] as string);
        return true;
      case 'create': {
        // Each new session is later consumed by `revoke`; `revokeSubject` gets its own (topUp).
        const handle = await this.ops.create(`${this.tag}-n${this.made++}`);
        this.revocable.push(handle);
        return true;
      }
      case 'refresh': {
        const k = slot % this.refreshChains.length;
        this.refreshChains[k] = await this.ops.refresh(this.refreshChains[k] as string);
        return true;
      }
      case 'revoke': {
        const handle = this.revocable.pop();
        if (handle === undefined) return false;
        await this.ops.revoke(handle);
        return true;
      }
      case 'revokeSubject': {
        const subject = this.revocableSubjects.pop();
        if (subject === undefined) return false;
        await this.ops.revokeSubject(subject);
        return true;
      }
      case 'listSessions':
        await this.ops.listSessions(this.listSubjects[i % this.listSubjects.length] as string);
        return true;
    }
  }

  private async createMany(count: number, subjectOf: (i: number) => string): Promise<string[]> {
    const out: string[] = new Array<string>(count);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        out[i] = await this.ops.create(subjectOf(i));
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, count) }, worker));
    return out;
  }
}
