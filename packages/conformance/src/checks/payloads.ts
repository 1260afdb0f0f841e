import type { SessionRecord } from '@cloakroom/core';
import { ensure, type SessionStoreCheck, suiteClock, withStore } from '../harness';
import {
  expectRecord,
  expectRecordSet,
  makeRecord,
  randomId,
  randomPayload,
  withFields,
} from '../records';
import { scanAll } from '../session-model-commands';

const HOUR = 3_600_000;
const KIB64 = 64 * 1024;

function everyByte(): Uint8Array {
  const out = new Uint8Array(512);
  for (let i = 0; i < out.length; i++) out[i] = i % 256;
  return out;
}

export const payloadCheck: SessionStoreCheck = {
  id: 'payloads',
  name: 'payloads round-trip byte for byte: every byte value, empty, 64 KiB (get, listBySubject, scan, replace, rotate)',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const subject = randomId();
      const payloads = [
        everyByte(),
        new Uint8Array(0),
        randomPayload(KIB64),
        new Uint8Array(KIB64).fill(0),
        new Uint8Array(KIB64).fill(0xff),
        new Uint8Array([0xef, 0xbb, 0xbf, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00, 0x5c, 0x27, 0x22]), // BOM, bad UTF-8, NUL, \ ' "
      ];
      const records = payloads.map((payload) =>
        makeRecord({ subject, payload, expiresAt: clock.now() + HOUR }),
      );
      for (const r of records) await store.insert(r);
      for (const r of records) expectRecord(await store.get(r.id), r, 'get');
      expectRecordSet(await store.listBySubject(subject), records, 'listBySubject');
      expectRecordSet(await scanAll(store, 2), records, 'scan');

      const replaced = withFields(records[1]!, { version: 2, payload: randomPayload(KIB64) });
      ensure(
        (await store.replace(replaced, 1)) === true,
        'replace with a 64 KiB payload must succeed',
      );
      expectRecord(await store.get(replaced.id), replaced, 'get after replace');
      const emptied = withFields(records[0]!, { version: 2, payload: new Uint8Array(0) });
      const next = makeRecord({ subject, payload: everyByte(), expiresAt: clock.now() + HOUR });
      ensure(
        (await store.rotate({ record: emptied, expectedVersion: 1 }, next)) === true,
        'rotate must succeed',
      );
      expectRecord(await store.get(emptied.id), emptied, 'get of the rotated (emptied) record');
      expectRecord(await store.get(next.id), next, 'get of the successor');
    });
  },
};

export const idShapeCheck: SessionStoreCheck = {
  id: 'id-shapes',
  name: 'ids and subject indexes at full 43-character length stay distinct, including ids differing only in case or made of - and _',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const ids = [
        'A'.repeat(43),
        'a'.repeat(43),
        '-'.repeat(43),
        '_'.repeat(43),
        `-${'_'.repeat(41)}-`,
        randomId(),
      ];
      const subjects = ['S'.repeat(43), 's'.repeat(43), '_'.repeat(43), '-'.repeat(43)];
      const records: SessionRecord[] = ids.map((id, i) =>
        makeRecord({ id, subject: subjects[i % subjects.length]!, expiresAt: clock.now() + HOUR }),
      );
      for (const r of records) await store.insert(r);
      for (const r of records) expectRecord(await store.get(r.id), r, 'get by an edge-shaped id');
      for (const s of subjects) {
        expectRecordSet(
          await store.listBySubject(s),
          records.filter((r) => r.subject === s),
          `listBySubject of ${JSON.stringify(s.slice(0, 3))}…`,
        );
      }
      expectRecordSet(await scanAll(store, 4), records, 'scan of edge-shaped ids');
      ensure(
        (await store.deleteBySubject('S'.repeat(43))) === 2,
        'deleteBySubject must be case-sensitive',
      );
      expectRecord(
        await store.get('a'.repeat(43)),
        records[1]!,
        'a record whose id differs only in case',
      );
      ensure(
        (await store.delete('A'.repeat(43))) === false,
        'the uppercase id was already deleted by subject',
      );
    });
  },
};

export const copiesCheck: SessionStoreCheck = {
  id: 'copies',
  name: 'returned records are copies: mutating a returned (or inserted) record never changes the store',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const payload = randomPayload(32);
      const original = makeRecord({ payload: payload.slice(), expiresAt: clock.now() + HOUR });
      const input = { ...original, payload: payload.slice() };
      await store.insert(input);
      input.payload.fill(0);
      expectRecord(await store.get(original.id), original, 'after mutating the inserted payload');
      const sources = [
        await store.get(original.id),
        ...(await store.listBySubject(original.subject)),
        ...(await scanAll(store, 10)),
      ];
      for (const r of sources) {
        ensure(r !== null, 'the record disappeared');
        r.payload.fill(0xaa);
        try {
          (r as { version: number }).version = 99;
          (r as { subject: string }).subject = 'x';
        } catch {
          // frozen records are fine
        }
      }
      expectRecord(await store.get(original.id), original, 'after mutating returned records');
    });
  },
};

export const callTimeCopyCheck: SessionStoreCheck = {
  id: 'copy-at-call',
  name: "the store copies a record's payload when insert, replace or rotate is called: changing the caller's bytes before the call settles changes nothing",
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const original = makeRecord({ expiresAt: clock.now() + HOUR });
      const input = withFields(original, { payload: original.payload.slice() });
      const inserting = store.insert(input);
      // The caller reuses its buffer at once, as a pooled encoder would.
      input.payload.fill(0x5a);
      await inserting;
      expectRecord(
        await store.get(original.id),
        original,
        'after changing the payload while insert ran',
      );

      const updated = withFields(original, { version: 2, payload: randomPayload(40) });
      const replaceInput = withFields(updated, { payload: updated.payload.slice() });
      const replacing = store.replace(replaceInput, 1);
      replaceInput.payload.fill(0x5a);
      ensure((await replacing) === true, 'replace at the current version must succeed');
      expectRecord(
        await store.get(original.id),
        updated,
        'after changing the payload while replace ran',
      );

      const rotated = withFields(updated, { version: 3, payload: randomPayload(40) });
      const next = makeRecord({ expiresAt: clock.now() + HOUR });
      const oldInput = withFields(rotated, { payload: rotated.payload.slice() });
      const nextInput = withFields(next, { payload: next.payload.slice() });
      const rotating = store.rotate({ record: oldInput, expectedVersion: 2 }, nextInput);
      oldInput.payload.fill(0x5a);
      nextInput.payload.fill(0x5a);
      ensure((await rotating) === true, 'rotate at the current version must succeed');
      expectRecord(
        await store.get(original.id),
        rotated,
        'the old record after changing its payload while rotate ran',
      );
      expectRecord(
        await store.get(next.id),
        next,
        'the successor after changing its payload while rotate ran',
      );
    });
  },
};
