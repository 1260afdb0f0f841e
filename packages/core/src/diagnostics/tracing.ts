// Core's tracing channels and the one test every traced call starts with.
// Node-only (node:diagnostics_channel, which Bun and Deno provide too); the
// Web entry never reaches this file.
import * as dc from 'node:diagnostics_channel';
import { isCloakroomError } from '../errors';
import {
  REWRAP_PROGRESS_CHANNEL,
  SESSION_OPERATIONS,
  STORE_METHODS,
  type SessionOperation,
  type SessionTraceMessage,
  type StoreMethod,
  type StoreTraceMessage,
  sessionChannelName,
  storeChannelName,
} from './channels';

/** A tracing channel, or none on a runtime without `tracingChannel`. */
export type Traced<M extends object> = dc.TracingChannel<unknown, M> | undefined;

/**
 * The channel, or none when the runtime's `diagnostics_channel` lacks
 * TracingChannel or any part `active()` and `tracePromise` rely on: core then
 * publishes nothing rather than fail an operation.
 */
export function usableTracingChannel<M extends object>(name: string): Traced<M> {
  if (typeof dc.tracingChannel !== 'function') return undefined;
  const tc = dc.tracingChannel<unknown, M>(name);
  const parts = [tc.start, tc.end, tc.asyncStart, tc.asyncEnd, tc.error];
  const whole =
    typeof tc.tracePromise === 'function' &&
    parts.every((c) => typeof c === 'object' && c !== null && 'hasSubscribers' in c);
  return whole ? tc : undefined;
}

const make = usableTracingChannel;

function table<K extends string, M extends object>(
  keys: readonly K[],
  name: (key: K) => string,
): Readonly<Record<K, Traced<M>>> {
  const out = {} as Record<K, Traced<M>>;
  for (const key of keys) out[key] = make<M>(name(key));
  return out;
}

/** One tracing channel per manager operation. */
export const sessionTraces: Readonly<Record<SessionOperation, Traced<SessionTraceMessage>>> = table(
  SESSION_OPERATIONS,
  sessionChannelName,
);
/** One tracing channel per store method. */
export const storeTraces: Readonly<Record<StoreMethod, Traced<StoreTraceMessage>>> = table(
  STORE_METHODS,
  storeChannelName,
);
/** Rewrap's per-batch progress (a plain channel: one message, no span). */
export const rewrapProgress: dc.Channel | undefined =
  typeof dc.channel === 'function' ? dc.channel(REWRAP_PROGRESS_CHANNEL) : undefined;

/**
 * Whether anyone listens on a tracing channel. Reads the five sub-channels
 * (Node 20 releases before 20.13 have no `TracingChannel.hasSubscribers`);
 * allocates nothing, so the untraced path costs a few property reads.
 */
export function active(tc: Traced<object>): tc is dc.TracingChannel<unknown, object> {
  return (
    tc !== undefined &&
    (tc.start.hasSubscribers ||
      tc.end.hasSubscribers ||
      tc.asyncStart.hasSubscribers ||
      tc.asyncEnd.hasSubscribers ||
      tc.error.hasSubscribers)
  );
}

/** `error:<code>`: the stable code of a CloakroomError, never its message. */
export const errorOutcome = (error: unknown): string =>
  `error:${isCloakroomError(error) ? error.code : 'ERR_UNKNOWN'}`;

/**
 * Runs `run` under `tc` with `message` as the context object. The channel
 * sets `message.result` to what the traced function returns, so the traced
 * function returns only `outcome(value)`; the real value (a token, records)
 * is handed back outside the channel.
 */
export async function traceCall<M extends { outcome?: string }, T>(
  tc: dc.TracingChannel<unknown, M>,
  message: M,
  run: () => Promise<T>,
  outcome: (value: T) => string,
): Promise<T> {
  let value: T | undefined;
  await tc.tracePromise(async () => {
    try {
      value = await run();
    } catch (error) {
      message.outcome = errorOutcome(error);
      throw error;
    }
    message.outcome = outcome(value);
    return message.outcome;
  }, message);
  return value as T;
}
