import type { Actor, Cloakroom, RewrapReport, RotatingKeyProvider } from '@cloakroom/core';

/** One step of a rewrap job, as shown live on the admin page (ids and counts only). */
export type JobEvent =
  | { readonly type: 'phase'; readonly at: number; readonly text: string }
  | {
      readonly type: 'progress';
      readonly at: number;
      readonly scanned: number;
      readonly rewrapped: number;
      readonly current: number;
      readonly unreadable: number;
      readonly contended: number;
    }
  | {
      readonly type: 'done';
      readonly at: number;
      readonly report: Omit<RewrapReport, 'cursor'>;
      /** Complete, nothing unreadable or contended, and only the primary key left. */
      readonly allUnderPrimary: boolean;
    }
  | { readonly type: 'failed'; readonly at: number; readonly code: string };

/** A rewrap run: its events so far and whether it has ended. */
export interface RewrapJob {
  readonly id: number;
  readonly startedBy: string;
  readonly events: readonly JobEvent[];
  readonly finished: boolean;
}

/** Runs one rewrap at a time and lets pages follow it. */
export interface RewrapRunner {
  /** Starts a job, or returns `undefined` while one is running. */
  start(actor: Actor): RewrapJob | undefined;
  /** The running or last job. */
  current(): RewrapJob | undefined;
  /** Calls `listener` for each new event of the current job; returns the unsubscribe function. */
  subscribe(listener: (event: JobEvent) => void): () => void;
  /** Resolves when the running job (if any) has ended. */
  idle(): Promise<void>;
}

/** Options of {@link createRewrapRunner}. */
export interface RewrapRunnerOptions {
  readonly cloakroom: Cloakroom;
  readonly keys: RotatingKeyProvider;
  /** Records per store page: small in the demo so the progress is visible. @default 2 */
  readonly batchSize?: number;
  /** Longest wait for a pending storage key to become primary. @default publishAhead + 10 s */
  readonly maxWaitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Background rewrap for the admin page. A storage key that was just rotated
 * is pending (other instances learn it before anyone seals with it); the job
 * first waits for it to become primary, then re-seals every record under it
 * with `cloakroom.rewrap`, which checks the actor's `store.rewrap` permission
 * itself. Events carry key ids and counts, never key material or tickets.
 *
 * @example
 * ```ts
 * const runner = createRewrapRunner({ cloakroom, keys });
 * runner.start({ subject: 'admin', roles: ['admin'] });
 * ```
 */
export function createRewrapRunner(options: RewrapRunnerOptions): RewrapRunner {
  const { cloakroom, keys } = options;
  const batchSize = options.batchSize ?? 2;
  const listeners = new Set<(event: JobEvent) => void>();
  let job: { id: number; startedBy: string; events: JobEvent[]; finished: boolean } | undefined;
  let running: Promise<void> | undefined;
  let nextId = 1;

  const emit = (event: JobEvent) => {
    job?.events.push(event);
    for (const listener of listeners) listener(event);
  };

  async function waitForPrimary(): Promise<void> {
    const status = await keys.refresh();
    const pending = status.storage.find((k) => k.state === 'pending');
    if (pending === undefined) return;
    emit({
      type: 'phase',
      at: Date.now(),
      text: `waiting for storage key ${pending.id} to become primary (published ahead so every instance can open it first)`,
    });
    const deadline =
      Date.now() +
      Math.max(0, pending.activatesAt - Date.now()) +
      (options.maxWaitMs ?? keys.schedule.storagePublishAhead + 10_000);
    while (Date.now() < deadline) {
      const now = await keys.status();
      if (now.storage.find((k) => k.id === pending.id)?.state === 'primary') return;
      await sleep(Math.min(250, Math.max(20, pending.activatesAt - Date.now())));
    }
  }

  async function run(actor: Actor): Promise<void> {
    try {
      await waitForPrimary();
      const primary = (await keys.status()).storage.find((k) => k.state === 'primary');
      emit({ type: 'phase', at: Date.now(), text: `rewrapping under storage key ${primary?.id}` });
      const report = await cloakroom.rewrap(
        {
          batchSize,
          onProgress: (p) =>
            emit({
              type: 'progress',
              at: Date.now(),
              scanned: p.scanned,
              rewrapped: p.rewrapped,
              current: p.current,
              unreadable: p.unreadable,
              contended: p.contended,
            }),
        },
        actor,
      );
      const { cursor: _cursor, ...rest } = report;
      const others = Object.keys(report.byKeyId).filter((id) => id !== report.primaryKeyId);
      emit({
        type: 'done',
        at: Date.now(),
        report: rest,
        allUnderPrimary:
          report.complete &&
          report.unreadable === 0 &&
          report.contended === 0 &&
          others.length === 0,
      });
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      emit({
        type: 'failed',
        at: Date.now(),
        code: typeof code === 'string' ? code : 'ERR_UNKNOWN',
      });
      if (typeof code !== 'string') console.error('rewrap job failed:', (error as Error)?.message);
    } finally {
      if (job !== undefined) job.finished = true;
    }
  }

  return {
    start(actor) {
      if (job !== undefined && !job.finished) return undefined;
      job = { id: nextId++, startedBy: actor.subject ?? 'unknown', events: [], finished: false };
      emit({
        type: 'phase',
        at: Date.now(),
        text: `rewrap #${job.id} started by ${job.startedBy}`,
      });
      running = run(actor);
      return job;
    },
    current: () => job,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    idle: async () => {
      await running;
    },
  };
}
