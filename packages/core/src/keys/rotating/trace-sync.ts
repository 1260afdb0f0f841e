// The `cloakroom:keys.sync` tracing channel: every read-maintain-write of the
// shared key-set document (first load, periodic refresh, rotate, compromise).
// It lives here rather than in diagnostics/ because keys/ sits below every
// layer that could import it. Internal; the names and message type are
// re-exported through diagnostics/channels.ts.
import * as dc from 'node:diagnostics_channel';
import { isCloakroomError } from '../../errors';

/** The tracing channel name of a key-set synchronisation. */
export const KEY_SYNC_CHANNEL = 'cloakroom:keys.sync';

/**
 * The context object of `cloakroom:keys.sync`. Public identifiers and
 * numbers only: never a key, a master key or document bytes.
 */
export interface KeySyncTraceMessage {
  /** The key-set document name (`rotatingKeys({ schedule: { name } })`). */
  readonly keySet: string;
  /** The `name` of the `KeySetStore`. */
  readonly store: string;
  /** `load` (first use), `refresh` (periodic or unknown-id re-read), `change` (rotate, compromise, re-seal). */
  readonly reason: 'load' | 'refresh' | 'change';
  /** `updated` (a newer version installed), `unchanged`, or `error:<code>`. Set before `asyncEnd`/`error`. */
  outcome?: string;
  /** Document version held after the sync. */
  version?: number;
  /** When this process last installed the document (epoch ms, the provider's clock): the key-set age is `now - loadedAt`. */
  loadedAt?: number;
  /** Primary signing key id (RFC 7638 kid) after the sync. */
  signingKeyId?: string;
  /** Primary storage key id after the sync. */
  storageKeyId?: string;
  /** Set by the channel: the outcome (never the operation's return value). */
  result?: unknown;
  /** Set by the channel when the sync throws. */
  error?: unknown;
}

/** What the sync knows once it finished (read from its cache). */
export interface KeySyncState {
  readonly version: number;
  readonly loadedAt: number;
  readonly signingKeyId: string | undefined;
  readonly storageKeyId: string | undefined;
}

// None when the runtime lacks a complete TracingChannel: then nothing is
// published (diagnostics/tracing.ts checks the same for the other channels).
const channel = (() => {
  if (typeof dc.tracingChannel !== 'function') return undefined;
  const tc = dc.tracingChannel<KeySyncTraceMessage>(KEY_SYNC_CHANNEL);
  const parts = [tc.start, tc.end, tc.asyncStart, tc.asyncEnd, tc.error];
  const whole =
    typeof tc.tracePromise === 'function' &&
    parts.every((c) => typeof c === 'object' && c !== null && 'hasSubscribers' in c);
  return whole ? tc : undefined;
})();

/** Whether anyone listens; the sub-channels are checked because Node 20's TracingChannel may lack `hasSubscribers`. */
export function keySyncTraced(): boolean {
  return (
    channel !== undefined &&
    (channel.start.hasSubscribers ||
      channel.end.hasSubscribers ||
      channel.asyncStart.hasSubscribers ||
      channel.asyncEnd.hasSubscribers ||
      channel.error.hasSubscribers)
  );
}

/**
 * Runs one sync under the channel. Call only when `keySyncTraced`:
 * the untraced path calls `sync` itself, with no message and no channel work.
 */
export async function traceKeySync<T>(
  base: Pick<KeySyncTraceMessage, 'keySet' | 'store' | 'reason'>,
  sync: () => Promise<T>,
  state: () => KeySyncState | undefined,
): Promise<T> {
  const tc = channel;
  if (tc === undefined) return sync();
  const message: KeySyncTraceMessage = { ...base };
  const before = state()?.version;
  let value: T | undefined;
  await tc.tracePromise(async () => {
    try {
      value = await sync();
    } catch (error) {
      message.outcome = `error:${isCloakroomError(error) ? error.code : 'ERR_UNKNOWN'}`;
      throw error;
    }
    const after = state();
    if (after !== undefined) {
      message.version = after.version;
      message.loadedAt = after.loadedAt;
      if (after.signingKeyId !== undefined) message.signingKeyId = after.signingKeyId;
      if (after.storageKeyId !== undefined) message.storageKeyId = after.storageKeyId;
    }
    message.outcome = after?.version === before ? 'unchanged' : 'updated';
    return message.outcome;
  }, message);
  return value as T;
}
