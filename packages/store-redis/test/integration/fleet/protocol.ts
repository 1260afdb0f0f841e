// Messages between the fleet driver (instance A, the revoker) and the
// resolver process (instance B).

/** Monotonic milliseconds, comparable across processes (CLOCK_MONOTONIC). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export type ToResolver =
  | { type: 'init'; url: string; prefix: string; loops: number }
  | { type: 'warm'; ids: string[] }
  | { type: 'stop'; after: number }
  | { type: 'exit' };

export interface RoundReport {
  /** Per id: start time of the last resolve that returned the record. */
  lastLive: Record<string, number>;
  /** Per id: start time of the last resolve of all (after every revoke of the round returned). */
  lastLook: Record<string, number>;
  /** Per id: when its invalidation reached B's listener (the first after the warm-up). */
  invalidated: Record<string, number>;
  resolves: number;
  hits: number;
}

export type FromResolver =
  | { type: 'ready'; boundMs: number }
  | { type: 'warmed'; cachedAll: boolean }
  | { type: 'report'; report: RoundReport }
  | { type: 'error'; message: string };
