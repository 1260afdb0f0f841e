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
   * Must exceed the longest write you expect (a slow disk's fsync).
   * @default 30000
   */
  readonly staleLockMs?: number;
}

/** Validated options with defaults filled in. */
export interface ResolvedCommon {
  readonly dir: string;
  readonly durable: boolean;
  readonly lock: { readonly timeoutMs: number; readonly staleMs: number };
}

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

/** Validate an optional positive integer option. */
export function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigInvalid(`fs store: \`${name}\` must be a positive integer`);
  }
  return value;
}
