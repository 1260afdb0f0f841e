import type { Pool, PoolClient } from 'pg';
import { DeadlineExceeded, isRetryable, leavesConnectionUsable, toStoreError } from '../errors';

/** Runs work on one pooled connection within a deadline. Internal. */
export interface Runner {
  /**
   * Checks out a connection, runs `work`, returns the connection (or
   * discards it when it may be broken). Throws only typed Cloakroom errors.
   * `work` may run again after a serialization failure or deadlock, so it
   * must leave nothing behind when it throws (roll back its transaction).
   */
  run<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
}

const MAX_ATTEMPTS = 5;

/** @param timeoutMs bound on one call: waiting for a connection plus every statement and retry. */
export function createRunner(pool: Pool, timeoutMs: number): Runner {
  return {
    async run(work) {
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await attemptOnce(pool, work, Math.max(1, deadline - Date.now()), timeoutMs);
        } catch (err) {
          if (isRetryable(err) && attempt < MAX_ATTEMPTS && Date.now() < deadline) {
            // Small random backoff so the racers that lost do not collide again in lockstep.
            await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 10 * attempt));
            continue;
          }
          throw toStoreError(err);
        }
      }
    },
  };
}

/**
 * One attempt: check out a connection, run `work`, give the connection back
 * (discarded when it may be broken), all within `remainingMs`. Written with
 * callbacks and one promise: this runs on every store call, and an async
 * wrapper plus a `Promise.race` per call cost more than the checkout itself.
 */
function attemptOnce<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  remainingMs: number,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let client: PoolClient | undefined;
    let done = false;
    let broken: Error | undefined;
    // A checked-out pg client that loses its socket emits 'error'; without a
    // listener that would crash the process, so we record it and discard the client.
    const onClientError = (err: Error): void => {
      broken ??= err;
    };
    const finish = (failed: boolean, outcome: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (client !== undefined) {
        if (failed && !leavesConnectionUsable(outcome)) {
          broken ??= outcome instanceof Error ? outcome : new Error('failed');
        }
        client.removeListener('error', onClientError);
        // Releasing with an error makes the pool close the connection, which
        // also aborts any statement or transaction the server still runs for it.
        client.release(broken);
      }
      if (failed) reject(outcome);
      else resolve(outcome as T);
    };
    const timer = setTimeout(() => finish(true, new DeadlineExceeded(timeoutMs)), remainingMs);
    pool.connect((err, acquired) => {
      if (err || acquired === undefined) {
        finish(true, err ?? new Error('no connection'));
        return;
      }
      if (done) {
        // The caller already got StoreUnavailable; hand the late connection straight back.
        acquired.release();
        return;
      }
      client = acquired;
      acquired.on('error', onClientError);
      let running: Promise<T>;
      try {
        running = work(acquired);
      } catch (workErr) {
        finish(true, workErr);
        return;
      }
      running.then(
        (value) => finish(false, value),
        (workErr: unknown) => finish(true, workErr),
      );
    });
  });
}
