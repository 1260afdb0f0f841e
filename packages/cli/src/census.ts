// One pass over a store through its public scan, counting live records per
// storage key id from each sealed header (nothing is decrypted, no key is
// needed): what `stats` prints, and what `rewrap` counts before it starts
// and, after an interrupted or resumed run, for the whole store.
import { ConfigInvalid, type SessionStore, createAesGcmCipher } from '@cloakroom/core';

/** What a census found. */
export interface Census {
  /** Live records. */
  readonly total: number;
  /** Live records per storage key id. */
  readonly byKeyId: Readonly<Record<string, number>>;
  /** Live records whose header is not a sealed payload this version understands. */
  readonly malformed: number;
  /** Records past their expiry (only seen through a store view whose clock stands at the epoch). */
  readonly expired: number;
}

const PAGE = 500;

/**
 * Count the records `store` scans. `now` decides what is expired (records
 * the store still returns past their expiry); `onPage` sees the running
 * count after each page.
 *
 * @example
 * ```ts
 * const { total, byKeyId } = await census(store, Date.now());
 * ```
 */
export async function census(
  store: SessionStore,
  now: number,
  onPage?: (counted: number) => void,
): Promise<Census> {
  // The header parser needs no key: a provider that refuses keeps it honest.
  const headerReader = createAesGcmCipher({
    keys: { storageKeys: () => Promise.reject(new ConfigInvalid('a census reads headers only')) },
  });
  const byKeyId: Record<string, number> = Object.create(null);
  let total = 0;
  let malformed = 0;
  let expired = 0;
  let cursor: string | undefined;
  do {
    const page = await store.scan(cursor === undefined ? { limit: PAGE } : { cursor, limit: PAGE });
    for (const record of page.records) {
      if (record.expiresAt <= now) {
        expired++;
        continue;
      }
      total++;
      try {
        const id = headerReader.keyIdOf(record.payload);
        byKeyId[id] = (byKeyId[id] ?? 0) + 1;
      } catch {
        malformed++;
      }
    }
    onPage?.(total + expired);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { total, byKeyId: { ...byKeyId }, malformed, expired };
}

/**
 * Storage key ids by record count, most first (ties by id).
 *
 * @example
 * ```ts
 * keyRows({ sk_a: 3, sk_b: 7 }); // [['sk_b', 7], ['sk_a', 3]]
 * ```
 */
export function keyRows(byKeyId: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(byKeyId).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
