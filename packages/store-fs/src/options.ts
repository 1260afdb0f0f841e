import { ConfigInvalid } from '@cloakroom/core';

/**
 * How hard each write works to survive power loss.
 * - `'fsync'`: temp file → fsync → rename → fsync directory. A write that
 *   returned survives a power cut or kernel crash.
 * - `'none'`: temp file → rename, no fsync. Still never torn by a process
 *   crash (the rename is atomic and the page cache outlives the process), but
 *   after a power cut the last writes may be lost, and on some file systems a
 *   file may come back empty (detected by its checksum, see README).
 *
 * @example
 * ```ts
 * const demo = createFsStore({ dir: './.sessions', durability: 'none' });
 * ```
 */
export type FsDurability = 'fsync' | 'none';

/**
 * Options shared by {@link createFsStore} and {@link createFsKeySetStore}.
 *
 * @example
 * ```ts
 * const options: FsCommonOptions = { dir: '/var/lib/myapp/cloakroom', lockTimeoutMs: 2000 };
 * ```
 */
export interface FsCommonOptions {
  /**
   * Root directory. Created with mode 0700 when missing. Refused
   * (`ConfigInvalid`) when it is group- or world-writable, owned by another
   * user, or on a case-insensitive file system.
   */
  readonly dir: string;
  /** @default 'fsync' */
  readonly durability?: FsDurability;
  /**
   * How long an operation waits for a record's lock held by another
   * operation or process before throwing `StoreUnavailable`.
   * @default 5000
   */
  readonly lockTimeoutMs?: number;
  /**
   * A lock older than this is treated as abandoned and broken. Locks whose
   * owner process is gone (same host) are broken at once, whatever their age.
   * `sweep` uses the same rule for the locks killed writers leave, and
   * removes their temp files once older than this. Must exceed the longest
   * write you expect (a slow disk's fsync).
   * @default 30000
   */
  readonly staleLockMs?: number;
}

/**
 * Options for {@link createFsStore}; see {@link FsCommonOptions} for `dir`,
 * `durability`, `lockTimeoutMs` and `staleLockMs`.
 *
 * @example
 * ```ts
 * let now = Date.now();
 * const store = createFsStore({ dir: testDir, clock: () => now }); // tests move `now`
 * ```
 */
export interface FsStoreOptions extends FsCommonOptions {
  /**
   * Source of "now" (epoch ms) for expiry checks. Lock and temp-file ages
   * always use the real clock, since they are compared with other processes.
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * Largest payload accepted by `insert`, `replace` and `rotate`
   * (`InvalidArgument` above it). Record files larger than this plus the
   * header are treated as corrupt and never read into memory.
   * @default 1048576 (1 MiB)
   */
  readonly maxPayloadBytes?: number;
  /**
   * How many files `sweep` examines at once before yielding to the event loop.
   * @default 256
   */
  readonly sweepBatchSize?: number;
}

/**
 * Options for {@link createFsKeySetStore}: the common ones (`dir`,
 * `durability`, `lockTimeoutMs`, `staleLockMs`).
 *
 * @example
 * ```ts
 * const keySets = createFsKeySetStore({ dir: '/var/lib/myapp/cloakroom' });
 * ```
 */
export interface FsKeySetStoreOptions extends FsCommonOptions {}

/** Validated common options with defaults filled in. */
export interface ResolvedCommon {
  readonly dir: string;
  readonly durable: boolean;
  readonly lock: { readonly timeoutMs: number; readonly staleMs: number };
}

/** Validated session-store options with defaults filled in. */
export interface ResolvedStoreOptions extends ResolvedCommon {
  readonly clock: () => number;
  readonly maxPayloadBytes: number;
  readonly sweepBatchSize: number;
}

/** @throws ConfigInvalid naming the option at fault. */
export function resolveCommon(options: FsCommonOptions): ResolvedCommon {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigInvalid('fs store: options object is required');
  }
  if (typeof options.dir !== 'string' || options.dir === '' || options.dir.includes('\0')) {
    throw new ConfigInvalid('fs store: `dir` must be a non-empty path');
  }
  const durability = options.durability ?? 'fsync';
  if (durability !== 'fsync' && durability !== 'none') {
    throw new ConfigInvalid("fs store: `durability` must be 'fsync' or 'none'");
  }
  return {
    dir: options.dir,
    durable: durability === 'fsync',
    lock: {
      timeoutMs: positiveInt('lockTimeoutMs', options.lockTimeoutMs, 5000),
      staleMs: positiveInt('staleLockMs', options.staleLockMs, 30_000),
    },
  };
}

/** @throws ConfigInvalid naming the option at fault. */
export function resolveStoreOptions(options: FsStoreOptions): ResolvedStoreOptions {
  const common = resolveCommon(options);
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new ConfigInvalid('fs store: `clock` must be a function');
  }
  return {
    ...common,
    clock: options.clock ?? Date.now,
    maxPayloadBytes: positiveInt('maxPayloadBytes', options.maxPayloadBytes, 1024 * 1024),
    sweepBatchSize: positiveInt('sweepBatchSize', options.sweepBatchSize, 256),
  };
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigInvalid(`fs store: \`${name}\` must be a positive integer`);
  }
  return value;
}
