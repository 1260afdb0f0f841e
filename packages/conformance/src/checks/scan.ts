import type { SessionRecord } from '@cloakroom/core';
import {
  ConformanceFailure,
  ensure,
  type SessionStoreCheck,
  suiteClock,
  withStorePair,
} from '../harness';
import { expectRecord, expectRecordSet, makeRecord, short } from '../records';
import { scanAll } from '../session-model-commands';

const HOUR = 3_600_000;

export const scanPagingCheck: SessionStoreCheck = {
  id: 'scan-paging',
  name: 'scan returns every record that lives through the scan exactly once, with concurrent inserts and deletes, at limits 1, 2, 3 and 7',
  timeoutMs: () => 60_000,
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStorePair(factory, options, async (store, other) => {
      ensure(
        (await scanAll(store, 5)).length === 0,
        'scan of an empty store must return no records',
      );
      const stable: SessionRecord[] = [];
      for (let i = 0; i < 40; i++) {
        const r = makeRecord({ expiresAt: clock.now() + HOUR });
        await store.insert(r);
        stable.push(r);
      }
      expectRecordSet(await scanAll(store, 1000), stable, 'scan in one page');
      for (const limit of [1, 2, 3, 7]) {
        const doomed: SessionRecord[] = [];
        for (let i = 0; i < 10; i++) {
          const r = makeRecord({ expiresAt: clock.now() + HOUR });
          await store.insert(r);
          doomed.push(r);
        }
        const known = new Map([...stable, ...doomed].map((r) => [r.id, r]));
        const counts = new Map<string, number>();
        let cursor: string | undefined;
        let page = 0;
        for (;;) {
          // Writes race the page fetches: deletes of doomed records and (a bounded number of)
          // inserts of new ones, so the scan is sure to end.
          const fresh = page < 12 ? makeRecord({ expiresAt: clock.now() + HOUR }) : undefined;
          if (fresh) known.set(fresh.id, fresh);
          const victim = doomed[page];
          const [result] = await Promise.all([
            store.scan(cursor === undefined ? { limit } : { cursor, limit }),
            // Through the sibling when there is one: another instance's writes during the scan.
            fresh ? other.insert(fresh) : Promise.resolve(),
            victim ? other.delete(victim.id) : Promise.resolve(false),
          ]);
          ensure(
            result.records.length <= limit,
            () => `a page held ${result.records.length} records, limit ${limit}`,
          );
          for (const r of result.records) {
            const want = known.get(r.id);
            if (!want)
              throw new ConformanceFailure(
                `scan returned an id that never existed: ${short(r.id)}`,
              );
            expectRecord(r, want, `scan(limit ${limit})`);
            counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
          }
          if (result.cursor === undefined) break;
          cursor = result.cursor;
          ensure(++page < 10_000, 'scan did not finish within 10000 pages');
        }
        for (const r of stable) {
          const c = counts.get(r.id) ?? 0;
          ensure(
            c === 1,
            `scan(limit ${limit}) returned a stable record ${c} times, want 1 (${short(r.id)})`,
          );
        }
        for (const r of doomed) await store.delete(r.id);
        // Drop the records inserted during this pass so the next pass starts from the stable set.
        for (const id of known.keys()) if (!stable.some((s) => s.id === id)) await store.delete(id);
        expectRecordSet(
          await scanAll(store, limit),
          stable,
          `scan(limit ${limit}) of the quiet store`,
        );
      }
    });
  },
};
