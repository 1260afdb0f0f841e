import type { SessionRecord } from '@cloakroom/core';
import {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from '@cloakroom/store-memory';

/** A settable clock: tests move time explicitly instead of sleeping. */
export interface FakeClock {
  (): number;
  now: number;
  advance(ms: number): void;
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  const clock = (() => clock.now) as FakeClock;
  clock.now = start;
  clock.advance = (ms: number) => {
    clock.now += ms;
  };
  return clock;
}

/** A memory store on a fake clock, sweep timer off unless asked for. */
export function storeAt(
  clock: FakeClock,
  options: Omit<MemoryStoreOptions, 'clock'> = {},
): MemoryStore {
  return createMemoryStore({ sweepIntervalMs: 0, ...options, clock });
}

let counter = 0;

/** A 43-character id/subject-shaped string, unique per call unless `n` is given. */
export function key(prefix: string, n: number = counter++): string {
  return `${prefix}${n}`.padEnd(43, '_');
}

/** A record expiring `ttl` ms after `clock.now`, version 1, with a small distinct payload. */
export function rec(
  clock: FakeClock,
  overrides: Partial<SessionRecord> & { ttl?: number } = {},
): SessionRecord {
  const { ttl = 60_000, ...rest } = overrides;
  const n = counter++;
  return {
    id: key('id', n),
    subject: key('sub', n),
    expiresAt: clock.now + ttl,
    version: 1,
    payload: new Uint8Array([n & 0xff, (n >> 8) & 0xff, 0, 255]),
    ...rest,
  };
}

/** Page through a whole scan; returns the records in page order and the page count. */
export async function scanAll(
  store: MemoryStore,
  limit: number,
  between?: (page: number) => Promise<void> | void,
): Promise<{ records: SessionRecord[]; pages: number }> {
  const records: SessionRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.scan(cursor === undefined ? { limit } : { cursor, limit });
    pages++;
    // A cursor that fails to advance would loop forever; fail instead.
    if (pages > 100_000) throw new Error('scan did not terminate');
    records.push(...page.records);
    cursor = page.cursor;
    if (cursor !== undefined && between !== undefined) await between(pages);
  } while (cursor !== undefined);
  return { records, pages };
}
