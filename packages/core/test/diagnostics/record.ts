// Subscribes to every core diagnostics channel and records what each
// publishes, event by event, as the subscriber saw it at that moment.
import * as dc from 'node:diagnostics_channel';
import {
  KEY_SYNC_CHANNEL,
  REWRAP_PROGRESS_CHANNEL,
  SESSION_OPERATIONS,
  STORE_METHODS,
  sessionChannelName,
  storeChannelName,
} from '@cloakroom/core';

export type TraceEvent = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error' | 'publish';

export interface Seen {
  readonly channel: string;
  readonly event: TraceEvent;
  /** A copy of the message when the event was published. */
  readonly message: Record<string, unknown>;
  /** The message object itself (the same object from start to asyncEnd). */
  readonly ref: object;
}

export const ALL_TRACING_CHANNELS = [
  ...SESSION_OPERATIONS.map(sessionChannelName),
  ...STORE_METHODS.map(storeChannelName),
  KEY_SYNC_CHANNEL,
];

/** Records every channel until `stop()`; `only` limits the tracing channels. */
export function record(only: readonly string[] = ALL_TRACING_CHANNELS) {
  const seen: Seen[] = [];
  const stops: (() => void)[] = [];
  for (const name of only) {
    const tc = dc.tracingChannel(name);
    const on =
      (event: TraceEvent) =>
      (message: unknown): void => {
        seen.push({
          channel: name,
          event,
          message: { ...(message as Record<string, unknown>) },
          ref: message as object,
        });
      };
    const handlers = {
      start: on('start'),
      end: on('end'),
      asyncStart: on('asyncStart'),
      asyncEnd: on('asyncEnd'),
      error: on('error'),
    };
    tc.subscribe(handlers);
    stops.push(() => tc.unsubscribe(handlers));
  }
  const progress = (message: unknown) => {
    seen.push({
      channel: REWRAP_PROGRESS_CHANNEL,
      event: 'publish',
      message: { ...(message as Record<string, unknown>) },
      ref: message as object,
    });
  };
  dc.subscribe(REWRAP_PROGRESS_CHANNEL, progress);
  stops.push(() => dc.unsubscribe(REWRAP_PROGRESS_CHANNEL, progress));
  return {
    seen,
    /** The final message (at asyncEnd) of each traced call on `channel`. */
    ended: (channel: string) =>
      seen.filter((s) => s.channel === channel && s.event === 'asyncEnd').map((s) => s.message),
    stop: () => {
      for (const s of stops) s();
    },
  };
}
