import type { SessionRecord, SessionStore } from '@cloakroom/core';
import { ensure, granularity, type SessionStoreCheck, suiteClock, withStore } from '../harness';
import {
  expectCode,
  expectRecord,
  expectRecordSet,
  makeRecord,
  summary,
  withFields,
} from '../records';
import { scanAll } from '../session-model-commands';

const HOUR = 3_600_000;

async function expectVisible(
  store: SessionStore,
  record: SessionRecord,
  when: string,
): Promise<void> {
  expectRecord(await store.get(record.id), record, `get ${when}`);
  expectRecordSet(
    (await store.listBySubject(record.subject)).filter((r) => r.id === record.id),
    [record],
    `listBySubject ${when}`,
  );
  expectRecordSet(
    (await scanAll(store, 2)).filter((r) => r.id === record.id),
    [record],
    `scan ${when}`,
  );
}

async function expectGone(store: SessionStore, record: SessionRecord, when: string): Promise<void> {
  const got = await store.get(record.id);
  ensure(got === null, () => `get ${when} returned ${summary(got)}`);
  const listed = (await store.listBySubject(record.subject)).filter((r) => r.id === record.id);
  ensure(listed.length === 0, `listBySubject ${when} returned the expired record`);
  const scanned = (await scanAll(store, 2)).filter((r) => r.id === record.id);
  ensure(scanned.length === 0, `scan ${when} returned the expired record`);
}

export const expiryBoundaryCheck: SessionStoreCheck = {
  id: 'expiry-boundary',
  name: 'expiry: returned until expiresAt, never at or past it (get, listBySubject, scan)',
  async run(factory, options) {
    const clock = suiteClock(options);
    const g = granularity(options);
    await withStore(factory, options, async (store) => {
      const keeper = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(keeper);
      // Real time: long enough to check visibility first, short enough to keep the suite quick.
      const lifetime = clock.virtual ? 10_000 : 150 + 2 * g;
      const record = makeRecord({ subject: keeper.subject, expiresAt: clock.now() + lifetime });
      await store.insert(record);
      if (clock.virtual) await clock.until(record.expiresAt - g);
      if (clock.now() <= record.expiresAt - g)
        await expectVisible(store, record, 'before expiresAt');
      await clock.until(record.expiresAt + g - 1);
      await expectGone(
        store,
        record,
        clock.virtual ? 'at exactly expiresAt' : 'once past expiresAt',
      );
      ensure(
        (await store.delete(record.id)) === false,
        'delete of an expired record must be false',
      );
      ensure(
        (await store.replace(
          withFields(record, { version: 2, expiresAt: clock.now() + HOUR }),
          1,
        )) === false,
        'replace of an expired record must be false',
      );
      ensure(
        (await store.get(record.id)) === null,
        'a refused replace must not resurrect an expired record',
      );
      expectRecord(await store.get(keeper.id), keeper, 'an unexpired neighbour');
      ensure(
        (await store.deleteBySubject(keeper.subject)) === 1,
        'deleteBySubject must count only live records',
      );
    });
  },
};

export const expiredInsertCheck: SessionStoreCheck = {
  id: 'expired-insert',
  name: 'expiry: a record inserted at or past its expiresAt is never returned, and its id can be inserted again',
  async run(factory, options) {
    const clock = suiteClock(options);
    const g = granularity(options);
    await withStore(factory, options, async (store) => {
      const atNow = makeRecord({ expiresAt: clock.now() - (g - 1) });
      const past = makeRecord({ subject: atNow.subject, expiresAt: clock.now() - g - 60_000 });
      await store.insert(atNow);
      await store.insert(past);
      await expectGone(store, atNow, 'for a record inserted at its expiresAt');
      await expectGone(store, past, 'for a record inserted already expired');
      const rotated = await store.rotate(
        {
          record: withFields(past, { version: 2, expiresAt: clock.now() + HOUR }),
          expectedVersion: 1,
        },
        makeRecord({ expiresAt: clock.now() + HOUR }),
      );
      ensure(rotated === false, 'rotate of an expired record must be false');
      ensure(
        (await store.get(past.id)) === null,
        'a refused rotate must not resurrect an expired record',
      );
      const reborn = withFields(past, {
        expiresAt: clock.now() + HOUR,
        payload: new Uint8Array([7]),
      });
      await store.insert(reborn);
      expectRecord(await store.get(reborn.id), reborn, 'a record inserted over an expired one');
      expectRecordSet(
        await store.listBySubject(atNow.subject),
        [reborn],
        'listBySubject after re-insert',
      );
      await expectCode(
        () => store.insert(reborn),
        'ERR_STORE_CONFLICT',
        'insert over the re-inserted record',
      );
    });
  },
};

export const sweepCheck: SessionStoreCheck = {
  id: 'sweep',
  name: 'sweep(now) removes exactly the records expired at now (required without native expiry)',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const t = clock.now();
      if (store.capabilities.nativeExpiry && typeof store.sweep !== 'function') return;
      ensure(
        typeof store.sweep === 'function',
        'a store without native expiry must implement sweep',
      );
      const sweep = store.sweep.bind(store);
      if (store.capabilities.nativeExpiry) {
        // Native expiry: sweep is optional housekeeping, but it must never remove a live record.
        const live = makeRecord({ expiresAt: t + HOUR });
        await store.insert(live);
        const removed = await sweep(clock.now());
        ensure(Number.isInteger(removed) && removed >= 0, 'sweep must return a count');
        expectRecord(await store.get(live.id), live, 'a live record after sweep');
        return;
      }
      const offsets = [HOUR, HOUR + 1, HOUR + 2, 2 * HOUR, 3 * HOUR, 3 * HOUR + 500];
      const records = offsets.map((o) => makeRecord({ expiresAt: t + o }));
      for (const r of records) await store.insert(r);
      const at = t + HOUR + 1; // the first two are expired at `at` (one exactly at its expiresAt)
      const first = await sweep(at);
      ensure(
        first === 2,
        `sweep(at) returned ${String(first)}; 2 records were expired at that time`,
      );
      ensure((await sweep(at)) === 0, 'a repeat sweep at the same time must return 0');
      for (const r of records.slice(2))
        expectRecord(await store.get(r.id), r, 'a record not yet expired at sweep time');
      expectRecordSet(await scanAll(store, 3), records.slice(2), 'scan after sweep');
      const later = await sweep(t + 3 * HOUR + 500);
      ensure(later === 4, `sweep past every expiry returned ${String(later)}, want 4`);
    });
  },
};
