import { createHash } from 'node:crypto';
import { Closed, StoreDataInvalid, StoreUnavailable, isCloakroomError } from '@cloakroom/core';
import { type Cluster, Redis } from 'ioredis';
import type { ResolvedRedisOptions } from './options';

/** A Lua script and its SHA-1, for EVALSHA. */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

/** Prepare a script for {@link Connection.script}. */
export function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

type Arg = string | Buffer | number;

/**
 * The store's view of its client: every call is bounded by the command
 * timeout and failures become typed errors. Shared by the session store and
 * the key-set store.
 */
export interface Connection {
  readonly client: Redis | Cluster;
  /** True when every script must stay inside one slot (a `Cluster`, or `clusterMode`). */
  readonly isCluster: boolean;
  /** Now, from the store's clock, as an integer. */
  now(): number;
  /** Throws `Closed` after {@link close}. */
  assertOpen(): void;
  /**
   * Run `work` (one or more commands) within the command timeout, mapping
   * failures. `expired()` tells multi-step work to stop starting new steps.
   */
  run<T>(work: (expired: () => boolean) => Promise<T>): Promise<T>;
  /** EVALSHA a script, falling back to EVAL when the server has not cached it. Not timed: wrap in `run`. */
  script(s: Script, keys: readonly string[], args: readonly Arg[]): Promise<unknown>;
  close(): Promise<void>;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Open (or wrap) the client described by resolved options. */
export function connect(options: ResolvedRedisOptions, label: string): Connection {
  const owned = options.client === undefined;
  const client = options.client ?? new Redis(options.url as string);
  if (owned) client.on('error', () => {}); // reported through rejected commands, not as an unhandled event
  const timeout = options.commandTimeoutMs;
  let closed = false;

  const mapError = (err: unknown): Error => {
    // Our own typed errors (a conflict found mid-operation, a timeout) pass through.
    if (isCloakroomError(err)) return err;
    // ioredis attaches the command's arguments to reply errors: sealed
    // payloads and ids have no place in a logged `cause`. Keep the name only.
    const command = (err as { command?: { name?: unknown } } | null)?.command;
    if (command !== undefined && command !== null && typeof command === 'object') {
      (err as { command: unknown }).command = { name: command.name };
    }
    const text = errorText(err);
    if (text.includes('CLOAKROOM_BAD') || text.startsWith('WRONGTYPE')) {
      return new StoreDataInvalid(`${label}: malformed data under the store prefix`, {
        cause: err,
      });
    }
    return new StoreUnavailable(`${label}: redis command failed`, { cause: err });
  };

  return {
    client,
    isCluster: options.clusterMode ?? client.isCluster,
    now() {
      const t = options.clock();
      if (typeof t !== 'number' || !Number.isFinite(t)) {
        throw new StoreUnavailable(`${label}: clock returned a non-finite time`);
      }
      return Math.floor(t);
    },
    assertOpen() {
      if (closed) throw new Closed(`${label} is closed`);
    },
    async run<T>(work: (expired: () => boolean) => Promise<T>): Promise<T> {
      if (closed) throw new Closed(`${label} is closed`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let late = false;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(new StoreUnavailable(`${label}: redis did not answer within ${timeout} ms`));
        }, timeout);
      });
      const pending = work(() => late);
      // A late rejection after the timer won must not become an unhandled rejection.
      pending.catch(() => {});
      try {
        return await Promise.race([pending, expired]);
      } catch (err) {
        throw mapError(err);
      } finally {
        clearTimeout(timer);
      }
    },
    async script(s, keys, args) {
      const n = keys.length;
      try {
        return await client.callBuffer('EVALSHA', s.sha, n, ...keys, ...args);
      } catch (err) {
        if (!errorText(err).includes('NOSCRIPT')) throw err;
        return client.callBuffer('EVAL', s.lua, n, ...keys, ...args);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!owned) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          client.quit(),
          new Promise((resolve) => {
            timer = setTimeout(resolve, timeout);
          }),
        ]);
      } catch {
        // Quitting a dead connection fails; disconnect below still frees it.
      } finally {
        clearTimeout(timer);
        client.disconnect();
      }
    },
  };
}
