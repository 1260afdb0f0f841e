import { ensure, type SessionStoreCheck, suiteClock, withStore } from '../harness';
import {
  expectCode,
  expectRecord,
  makeRecord,
  outcome,
  randomId,
  summary,
  withFields,
} from '../records';

const HOUR = 3_600_000;

/** Insert conflicts: StoreConflict, and the original record untouched. */
export const insertConflictCheck: SessionStoreCheck = {
  id: 'insert-conflict',
  name: 'insert of an existing id throws StoreConflict and leaves the original untouched',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const original = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(original);
      const intruder = withFields(original, {
        subject: randomId(),
        expiresAt: original.expiresAt + 1000,
        payload: new Uint8Array([1, 2, 3]),
      });
      await expectCode(
        () => store.insert(intruder),
        'ERR_STORE_CONFLICT',
        'second insert of one id',
      );
      expectRecord(await store.get(original.id), original, 'after the conflicting insert');
      const [mine, theirs] = await Promise.all([
        store.listBySubject(original.subject),
        store.listBySubject(intruder.subject),
      ]);
      ensure(mine.length === 1, `the original subject lists ${mine.length} records, want 1`);
      ensure(theirs.length === 0, `the intruder's subject lists ${theirs.length} records, want 0`);
    });
  },
};

/** Missing ids and subjects: null, false, 0, []. Repeat deletes return false. */
export const missingCheck: SessionStoreCheck = {
  id: 'missing',
  name: 'missing ids and subjects: get null, delete false (repeat deletes too), deleteBySubject 0, listBySubject []',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const absent = randomId();
      ensure((await store.get(absent)) === null, 'get of a missing id must be null');
      ensure((await store.delete(absent)) === false, 'delete of a missing id must be false');
      ensure(
        (await store.deleteBySubject(absent)) === 0,
        'deleteBySubject of an unknown subject must be 0',
      );
      const list = await store.listBySubject(absent);
      ensure(
        Array.isArray(list) && list.length === 0,
        'listBySubject of an unknown subject must be []',
      );
      const record = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(record);
      ensure((await store.delete(record.id)) === true, 'delete of a live record must be true');
      ensure((await store.delete(record.id)) === false, 'a repeat delete must be false');
      const after = await store.get(record.id);
      ensure(after === null, () => `get after delete must be null, got ${summary(after)}`);
      const replaced = await store.replace(withFields(record, { version: 2 }), 1);
      ensure(replaced === false, 'replace of a deleted record must be false');
      ensure(
        (await store.get(record.id)) === null,
        'a refused replace must not resurrect the record',
      );
    });
  },
};

/** close() twice resolves; the contract makes it idempotent. */
export const closeCheck: SessionStoreCheck = {
  id: 'close',
  name: 'close is idempotent',
  async run(factory, options) {
    await withStore(factory, options, async (store) => {
      await store.insert(makeRecord({ expiresAt: suiteClock(options).now() + HOUR }));
      await store.close();
      const second = await outcome(() => store.close());
      ensure(second.ok, 'a second close() must resolve');
    });
  },
};
