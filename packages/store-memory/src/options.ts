import { ConfigInvalid } from '@cloakroom/core';

/**
 * Options for {@link createMemoryStore}. Every field is optional; unknown
 * fields are rejected with `ConfigInvalid` so a typo cannot fall back to a
 * default silently.
 *
 * @example
 * ```ts
 * const options: MemoryStoreOptions = { maxSessions: 50_000, sweepIntervalMs: 30_000 };
 * const store = createMemoryStore(options);
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * Most records the store holds at once (expired ones not yet reclaimed
   * included). At the cap, an insert first reclaims expired records and,
   * if none expired, is refused with `StoreFull`: no live session is ever
   * evicted to make room.
   * @default 100_000
   */
  readonly maxSessions?: number;
  /**
   * The store's notion of now, in epoch milliseconds. A record is dead from
   * `clock() >= expiresAt`. Tests pass a fake clock.
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * How often a background sweep reclaims expired records, in milliseconds.
   * The timer is `unref`'d (it never keeps the process alive); `0` disables
   * it, leaving reclamation to reads, capacity pressure and {@link MemoryStore.sweep}.
   * @default 60_000
   */
  readonly sweepIntervalMs?: number;
}

/** {@link MemoryStoreOptions} with defaults applied. */
export interface ResolvedMemoryStoreOptions {
  readonly maxSessions: number;
  readonly clock: () => number;
  readonly sweepIntervalMs: number;
}

const KNOWN = new Set(['maxSessions', 'clock', 'sweepIntervalMs']);
// setInterval silently turns larger delays into 1 ms.
const MAX_TIMER_MS = 2_147_483_647;

/** Apply defaults and validate. @throws ConfigInvalid naming the bad option. */
export function resolveMemoryStoreOptions(options: unknown): ResolvedMemoryStoreOptions {
  if (options === undefined) {
    return { maxSessions: 100_000, clock: Date.now, sweepIntervalMs: 60_000 };
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigInvalid('memory store options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ConfigInvalid(`unknown memory store option "${key}"`);
  }
  const {
    maxSessions = 100_000,
    clock = Date.now,
    sweepIntervalMs = 60_000,
  } = options as Record<string, unknown>;
  if (!Number.isSafeInteger(maxSessions) || (maxSessions as number) < 1) {
    throw new ConfigInvalid('maxSessions must be a positive integer');
  }
  if (typeof clock !== 'function') {
    throw new ConfigInvalid('clock must be a function returning epoch milliseconds');
  }
  if (
    !Number.isSafeInteger(sweepIntervalMs) ||
    (sweepIntervalMs as number) < 0 ||
    (sweepIntervalMs as number) > MAX_TIMER_MS
  ) {
    throw new ConfigInvalid(`sweepIntervalMs must be an integer from 0 to ${MAX_TIMER_MS}`);
  }
  return {
    maxSessions: maxSessions as number,
    clock: clock as () => number,
    sweepIntervalMs: sweepIntervalMs as number,
  };
}
