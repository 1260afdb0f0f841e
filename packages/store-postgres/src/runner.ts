import type { Pool, PoolClient } from 'pg';
import {
  DeadlineExceeded,
  isRetryable,
  leavesConnectionUsable,
  toStoreError,
} from './driver-errors';

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

async function attemptOnce<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  remainingMs: number,
  timeoutMs: number,
): Promise<T> {
  let client: PoolClient | undefined;
  let expired = false;
  let broken: Error | undefined;
  // A checked-out pg client that loses its socket emits 'error'; without a
  // listener that would crash the process, so we record it and discard the client.
  const onClientError = (err: Error) => {
    broken ??= err;
  };

  const running = (async () => {
    const acquired = await pool.connect();
    if (expired) {
      // The caller already got StoreUnavailable; hand the late connection straight back.
      acquired.release();
      throw new DeadlineExceeded(timeoutMs);
    }
    client = acquired;
    acquired.on('error', onClientError);
    return work(acquired);
  })();
  // Whichever side loses the race must not surface as an unhandled rejection.
  running.catch(() => {});

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(new DeadlineExceeded(timeoutMs));
    }, remainingMs);
  });
  timedOut.catch(() => {});

  try {
    return await Promise.race([running, timedOut]);
  } catch (err) {
    if (!leavesConnectionUsable(err)) broken ??= err instanceof Error ? err : new Error('failed');
    throw err;
  } finally {
    clearTimeout(timer);
    if (client) {
      client.removeListener('error', onClientError);
      // Releasing with an error makes the pool close the connection, which
      // also aborts any transaction the server still holds for it.
      client.release(broken);
    }
  }
}
