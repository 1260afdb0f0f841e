// Tracing of the manager's operations on `cloakroom:session.<operation>`.
// The manager calls `traceSession` only when `active()` said someone listens;
// the untraced path never reaches this file.
import type { CloakroomEvent } from '../audit/events';
import type { SessionOperation, SessionTraceMessage } from './channels';
import { active, errorOutcome, rewrapProgress, sessionTraces } from './tracing';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Message = Mutable<SessionTraceMessage>;

/** What the traced operation needs of its context: the store's name and the audit sink. */
interface Traceable {
  readonly store: { readonly name: string };
  emit(event: never): void;
}

/** Whether anyone listens to this operation's channel (or, for rewrap, to its progress). */
export function sessionTraced(operation: SessionOperation): boolean {
  if (operation === 'rewrap' && rewrapProgress?.hasSubscribers === true) return true;
  return active(sessionTraces[operation]);
}

// Reads the audit events an operation emits to learn what the caller is not
// told (why a ticket was rejected, which session), copying hashed ids and
// reasons only.
function learn(message: Message, event: CloakroomEvent): void {
  switch (event.type) {
    case 'session.rejected':
      message.outcome = `rejected:${event.reason}`;
      if (event.sessionId !== undefined) message.sessionId = event.sessionId;
      break;
    case 'session.reuse_detected':
      message.outcome = 'rejected:reuse';
      message.sessionId = event.sessionId;
      message.subjectIndex = event.subjectIndex;
      break;
    case 'session.created':
      message.sessionId = event.sessionId;
      message.subjectIndex = event.subjectIndex;
      break;
    case 'session.refreshed':
      message.sessionId = event.sessionId;
      message.nextSessionId = event.nextSessionId;
      message.subjectIndex = event.subjectIndex;
      break;
    case 'session.revoked':
      message.sessionId = event.sessionId;
      message.count = event.count;
      if (event.subjectIndex !== undefined) message.subjectIndex = event.subjectIndex;
      break;
    case 'subject.revoked':
      message.subjectIndex = event.subjectIndex;
      break;
    case 'store.rewrapped':
      message.count = event.scanned;
      message.rewrapped = event.rewrapped;
      message.unreadable = event.unreadable;
      message.primaryKeyId = event.primaryKeyId;
      break;
    default:
  }
}

/**
 * Runs `run` under the operation's channel. `run` receives a context that
 * reports the operation's audit events to the trace as well as to
 * `onEvent`; the channel's `result` is `outcome(value)`, never the value
 * (a resolved session holds the token), which is returned outside it.
 */
export async function traceSession<C extends Traceable, T>(
  operation: SessionOperation,
  ctx: C,
  run: (ctx: C) => Promise<T>,
  outcome: (value: T, message: SessionTraceMessage) => string,
): Promise<T> {
  const message: Message = { operation, store: ctx.store.name };
  // Same context, one override: every other member (and `closed`) reads through.
  const emit = ctx.emit.bind(ctx) as (event: CloakroomEvent) => void;
  const traced = Object.create(ctx, {
    emit: {
      value: (event: CloakroomEvent) => {
        learn(message, event);
        emit(event);
      },
    },
  }) as C;
  const tc = sessionTraces[operation];
  if (!active(tc)) return run(traced);
  let value: T | undefined;
  await tc.tracePromise(async () => {
    try {
      value = await run(traced);
    } catch (error) {
      message.outcome = errorOutcome(error);
      throw error;
    }
    message.outcome = outcome(value, message);
    return message.outcome;
  }, message);
  return value as T;
}

/** Rewrap's `onProgress`, also publishing each batch's totals on the progress channel. */
export function progressPublisher<P extends Omit<ProgressTotals, 'done'> & { cursor?: string }>(
  store: string,
  forward: ((progress: P) => void) | undefined,
): (progress: P) => void {
  return (progress) => {
    if (rewrapProgress?.hasSubscribers === true) {
      rewrapProgress.publish({
        store,
        scanned: progress.scanned,
        rewrapped: progress.rewrapped,
        current: progress.current,
        unreadable: progress.unreadable,
        contended: progress.contended,
        done: progress.cursor === undefined,
      });
    }
    forward?.(progress);
  };
}

interface ProgressTotals {
  readonly scanned: number;
  readonly rewrapped: number;
  readonly current: number;
  readonly unreadable: number;
  readonly contended: number;
  readonly done: boolean;
}
