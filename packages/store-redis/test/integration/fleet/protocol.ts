// Messages between the fleet driver (instance A, the revoker) and the
// resolver process (instance B).

/** Monotonic milliseconds, comparable across processes (CLOCK_MONOTONIC). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * `channel`: B is a minimal near cache over `store.watch` (items are session
 * ids); `core`: B is `createCloakroom({ nearCache: true })` on the Redis
 * store (items are tickets), A revokes through its own manager.
 */
export type FleetMode = 'channel' | 'core';

/** Test key material for both instances of core mode, base64url. */
export interface FleetKeys {
  readonly signingJwk: Record<string, unknown>;
  readonly storage: string;
  readonly index: string;
}

export type ToResolver =
  | {
      type: 'init';
      url: string;
      prefix: string;
      loops: number;
      mode: FleetMode;
      keys?: FleetKeys;
    }
  | { type: 'warm'; items: string[] }
  | { type: 'stop'; after: number }
  | { type: 'exit' };

/** Per item of the round, by position (never the item itself: a ticket is a secret). */
export interface RoundReport {
  /** Start time of the last resolve that answered the session (0: none). */
  lastLive: number[];
  /** Start time of the last resolve of all. */
  lastLook: number[];
  /** When B's listener heard of it (channel mode; 0: not by name). */
  invalidated: number[];
  resolves: number;
  hits: number;
}

export type FromResolver =
  | { type: 'ready'; boundMs: number }
  | { type: 'warmed'; cachedAll: boolean }
  | { type: 'report'; report: RoundReport }
  | { type: 'error'; message: string };
