import { StoreDataInvalid, StoreUnavailable, isCloakroomError } from '@cloakroom/core';

/**
 * Why the store gave up on Redis without a driver error: the `cause` of the
 * `StoreUnavailable` it throws then, so a caller (or a log) can tell a call
 * that never left the process from one whose outcome is unknown.
 *
 * - `timeout`: the call was sent (or queued in the client) and got no answer
 *   within `commandTimeoutMs`. Its outcome is unknown: a write may still land.
 * - `unresponsive`: an earlier call to the same Redis node timed out and no
 *   probe has been answered since. Nothing was sent: this call never lands.
 * - `in-flight-limit`: `maxInFlight` commands were already waiting for
 *   Redis. Nothing was sent: this call never lands.
 * - `replication`: the write ran on the master but fewer replicas than
 *   `replication.replicas` acknowledged it within `replication.timeoutMs`.
 *
 * @example
 * ```ts
 * import { StoreUnavailable } from '@cloakroom/core';
 * import { RedisGaveUp } from '@cloakroom/store-redis';
 *
 * try {
 *   await store.delete(id);
 * } catch (err) {
 *   if (err instanceof StoreUnavailable && err.cause instanceof RedisGaveUp) {
 *     console.warn('redis:', err.cause.reason); // never holds an id or payload
 *   }
 * }
 * ```
 */
export class RedisGaveUp extends Error {
  constructor(
    /** See the class description. */
    readonly reason: 'timeout' | 'unresponsive' | 'in-flight-limit' | 'replication',
    message: string,
  ) {
    super(message);
    this.name = 'RedisGaveUp';
  }

  /** True when the command was never handed to the client: it cannot land later. */
  get notSent(): boolean {
    return this.reason === 'unresponsive' || this.reason === 'in-flight-limit';
  }
}

/** A `StoreUnavailable` whose cause is a {@link RedisGaveUp}. */
export function gaveUp(
  label: string,
  reason: RedisGaveUp['reason'],
  text: string,
): StoreUnavailable {
  const cause = new RedisGaveUp(reason, text);
  const err = new StoreUnavailable(`${label}: ${text}`, { cause });
  // Until `stack` is read, V8 keeps the frames' closures alive, and the
  // store's are closures over the call's encoded record: a caller that
  // keeps the error (a log queue, a retry list) would keep the payload.
  void cause.stack;
  void err.stack;
  return err;
}

/** The message of anything thrown, for matching Redis reply errors. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Turn whatever the client threw into the store contract's typed errors,
 * keeping it as `cause`: the scripts' `CLOAKROOM_BAD` reply and `WRONGTYPE`
 * become `StoreDataInvalid`, everything else `StoreUnavailable`. Our own
 * typed errors pass through unchanged.
 */
export function mapRedisError(label: string, err: unknown): Error {
  if (isCloakroomError(err)) return err;
  // ioredis attaches the command's arguments to reply errors: sealed
  // payloads and ids have no place in a logged `cause`. Keep the name only.
  const command = (err as { command?: { name?: unknown } } | null)?.command;
  if (command !== undefined && command !== null && typeof command === 'object') {
    (err as { command: unknown }).command = { name: command.name };
  }
  const text = errorText(err);
  if (text.includes('CLOAKROOM_BAD') || text.startsWith('WRONGTYPE')) {
    return new StoreDataInvalid(`${label}: malformed data under the store prefix`, { cause: err });
  }
  return new StoreUnavailable(`${label}: redis command failed`, { cause: err });
}

/** `StoreDataInvalid` for a value under the prefix this package did not write (never its bytes). */
export function malformed(what = 'a record value under the prefix is malformed'): StoreDataInvalid {
  return new StoreDataInvalid(`redis store: ${what}`);
}
