// A readiness check an app mounts for its orchestrator (#18): can this
// instance answer requests now? The store must answer a read within a
// deadline, and the keys must be loaded (for a rotating key set: read from
// its store recently enough). Reports codes and timings, never a secret.
import { randomBytes } from 'node:crypto';
import { isCloakroomError } from '../errors';
import type { KeyProvider } from '../contracts/keys';
import type { Lifecycle, SessionConfig, Storage } from './context';

/** Options of `Cloakroom.health()`. */
export interface HealthOptions {
  /** Deadline for each check, in milliseconds. @default 2000 */
  readonly timeoutMs?: number;
  /**
   * A rotating key set read from its store longer ago than this is stale:
   * the instance cannot see rotations or compromises made elsewhere.
   * @default 600_000 (10 minutes)
   */
  readonly maxKeySetAgeMs?: number;
}

/** One check's outcome. `error` is an error code (`ERR_…`) or `timeout`; never a message. */
export interface HealthCheck {
  readonly ok: boolean;
  /** How long the check took, in milliseconds. */
  readonly ms: number;
  readonly error?: string;
}

/** What `Cloakroom.health()` reports. */
export interface HealthReport {
  /** Both checks passed: the instance can serve sessions. Answer 200, else 503. */
  readonly ready: boolean;
  /** A read of a random, well-formed session id (answered "missing") within the deadline. */
  readonly store: HealthCheck;
  /** Signing, storage and index keys available; for a rotating set, its age too. */
  readonly keys: HealthCheck & {
    /** Rotating key sets only: time since the document was last read from its store. */
    readonly keySetAgeMs?: number;
  };
}

const TIMEOUT = Symbol('timeout');

async function timed(
  now: () => number,
  timeoutMs: number,
  work: () => Promise<unknown>,
): Promise<HealthCheck> {
  const started = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await Promise.race([
      work(),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(TIMEOUT), timeoutMs);
      }),
    ]);
    const ms = now() - started;
    return outcome === TIMEOUT ? { ok: false, ms, error: 'timeout' } : { ok: true, ms };
  } catch (error) {
    const code = isCloakroomError(error) ? error.code : 'ERR_UNEXPECTED';
    return { ok: false, ms: now() - started, error: code };
  } finally {
    clearTimeout(timer);
  }
}

type WithStatus = KeyProvider & {
  readonly name?: unknown;
  status?: () => Promise<{ loadedAt: number; lastError?: unknown }>;
};

export async function health(
  ctx: SessionConfig & Storage & Lifecycle & { readonly keys: KeyProvider },
  options: HealthOptions = {},
): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxAge = options.maxKeySetAgeMs ?? 600_000;
  if (ctx.closed) {
    const closed: HealthCheck = { ok: false, ms: 0, error: 'ERR_CLOSED' };
    return { ready: false, store: closed, keys: closed };
  }
  // Wall time for the deadlines: a test clock must not stretch a probe.
  const wall = () => Date.now();
  const probeId = randomBytes(32).toString('base64url').slice(0, 43);
  let keySetAgeMs: number | undefined;
  let stale = false;
  const [store, keys] = await Promise.all([
    timed(wall, timeoutMs, () => ctx.store.get(probeId)),
    timed(wall, timeoutMs, async () => {
      const provider = ctx.keys as WithStatus;
      await Promise.all([provider.signingKey(), provider.storageKeys(), provider.indexKey()]);
      if (provider.name === 'rotating' && typeof provider.status === 'function') {
        const status = await provider.status();
        keySetAgeMs = Math.max(0, ctx.now() - status.loadedAt);
        stale = keySetAgeMs > maxAge;
      }
    }),
  ]);
  const keyCheck = {
    ...(stale && keys.ok ? { ...keys, ok: false, error: 'stale' } : keys),
    ...(keySetAgeMs === undefined ? {} : { keySetAgeMs }),
  };
  return { ready: store.ok && keyCheck.ok, store, keys: keyCheck };
}
