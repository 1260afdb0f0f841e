// How each traced manager operation's return value becomes its `outcome`
// (and counts) in the trace message. Read the shape only: the value itself
// (a token, claims) never reaches the message.
import type { SessionTraceMessage } from './channels';

type Outcome<T> = (value: T, message: SessionTraceMessage) => string;
// The reason an operation emitted before answering null/false, if any.
const rejected = (message: SessionTraceMessage, fallback: string) => message.outcome ?? fallback;

export const createdOutcome: Outcome<unknown> = () => 'created';
export const resolvedOutcome: Outcome<{ readonly sessionId: string } | null> = (v, m) => {
  if (v === null) return rejected(m, 'rejected');
  // The session id (a hash) only: nothing else of the resolved session.
  (m as { sessionId?: string }).sessionId = v.sessionId;
  return 'resolved';
};
export const refreshedOutcome: Outcome<object | null> = (v, m) =>
  v === null ? rejected(m, 'rejected') : 'refreshed';
export const revokedOutcome: Outcome<boolean> = (v, m) =>
  v ? 'revoked' : rejected(m, 'not-found');
export const replacedOutcome: Outcome<boolean> = (v, m) =>
  v ? 'replaced' : rejected(m, 'not-found');

/** A count lands in the message (`count`) as well. */
export const countedOutcome =
  (name: string): Outcome<number | readonly unknown[]> =>
  (v, m) => {
    (m as { count?: number }).count = typeof v === 'number' ? v : v.length;
    return name;
  };

export const rewrapOutcome: Outcome<{ readonly complete: boolean }> = (v) =>
  v.complete ? 'complete' : 'interrupted';
