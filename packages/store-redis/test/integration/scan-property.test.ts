import type { SessionRecord, SessionStore } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/redis/key-layout';
import { connectOrFail, deleteUnder, makeRecord, uniquePrefix } from './redis-test-env';

let client: Redis;
beforeAll(async () => {
  client = await connectOrFail();
});
afterAll(() => client.disconnect());

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A real-shaped id (43 base64url characters) starting with `stem`, in bucket `bucket`. */
function inBucket(stem: string, bucket: number): string {
  for (let k = 0; ; k++) {
    let tail = '';
    for (let n = k, i = 0; i < 3; i++, n = Math.floor(n / 64)) tail += ALPHABET[n % 64];
    const candidate = `${stem}${tail}`;
    if (bucketOf(candidate) === bucket) return candidate;
  }
}

async function scanAll(
  store: SessionStore,
  limit: number,
  between: (page: number) => Promise<void>,
): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  let cursor: string | undefined;
  let page = 0;
  do {
    const result = await store.scan(cursor === undefined ? { limit } : { limit, cursor });
    expect(result.records.length).toBeLessThanOrEqual(limit);
    out.push(...result.records);
    cursor = result.cursor;
    await between(page++);
  } while (cursor !== undefined);
  return out;
}

describe.each([
  ['standalone', false],
  ['clusterMode (one script per bucket, several buckets per round trip)', true],
])('scan position survives ties and unusual ids: %s', (_, clusterMode) => {
  it('records that stay live and unchanged come back exactly once: equal expiresAt, ids differing only in - and _ (byte order), churn between pages', async () => {
    const t = 1_700_000_000_000;
    await fc.assert(
      fc.asyncProperty(
        // 40-character stems from a small alphabet: many ids share long prefixes.
        fc.uniqueArray(
          fc.string({
            minLength: 40,
            maxLength: 40,
            unit: fc.constantFrom('-', '_', 'A', 'a', '0'),
          }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        fc.integer({ min: 1, max: 3 }), // few distinct expiries: many ties
        fc.integer({ min: 1, max: 9 }),
        async (ids, expiries, limit) => {
          const prefix = uniquePrefix('scan-prop');
          const store = createRedisStore({ client, prefix, clusterMode, clock: () => t });
          try {
            // Standalone: all in one bucket, so pages end inside it and resume by
            // binary search on (expiresAt, id). clusterMode: over buckets 0-3, so
            // a round that reads several buckets at once over-reads and must
            // resume right after the last record it kept.
            const sameBucket = [
              ...new Set(ids.map((id, i) => inBucket(id, clusterMode ? i % 4 : 0))),
            ];
            const stable = sameBucket.map((id, i) =>
              makeRecord({ id, expiresAt: t + 10_000 + (i % expiries) }),
            );
            for (const r of stable) await store.insert(r);
            const churn: string[] = [];
            const seen = await scanAll(store, limit, async (page) => {
              // Insert and delete other records between pages, with the same expiries.
              const extra = makeRecord({ expiresAt: t + 10_000 + (page % expiries) });
              await store.insert(extra);
              churn.push(extra.id);
              if (page % 2 === 1) await store.delete(churn[page - 1] as string);
            });
            const stableIds = new Set(stable.map((r) => r.id));
            const counted = seen.filter((r) => stableIds.has(r.id)).map((r) => r.id);
            expect(counted.sort()).toEqual([...stableIds].sort());
            expect(new Set(seen.map((r) => r.id)).size).toBe(seen.length);
          } finally {
            await deleteUnder(client, prefix);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
