import type { ScanOptions, SessionRecord, SessionStore } from '@cloakroom/core';
import {
  ConformanceFailure,
  ensure,
  type SessionStoreCheck,
  suiteClock,
  withStore,
} from '../harness';
import {
  expectRecord,
  expectRecordSet,
  expectRejection,
  makeRecord,
  short,
  withFields,
} from '../records';
import { scanAll } from '../session-model-commands';

const HOUR = 3_600_000;
const INVALID = 'ERR_INVALID_ARGUMENT';

/** Limits that are not positive safe integers, as a bug or an untyped caller might pass them. */
export const BAD_LIMITS: readonly unknown[] = [
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  '10',
  null,
  undefined,
];

const show = (v: unknown) =>
  typeof v === 'string' ? JSON.stringify(v.slice(0, 24)) : Array.isArray(v) ? '[]' : String(v);

export const scanLimitCheck: SessionStoreCheck = {
  id: 'scan-limit',
  name: 'scan with a limit that is not a positive safe integer (0, -1, 1.5, NaN, Infinity, 2^53, "10", null, none) rejects with InvalidArgument',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const record = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(record);
      for (const limit of BAD_LIMITS) {
        await expectRejection(
          () => store.scan({ limit } as unknown as ScanOptions),
          INVALID,
          `scan({ limit: ${show(limit)} })`,
        );
      }
      expectRecordSet(await scanAll(store, 1), [record], 'a scan with a good limit afterwards');
    });
  },
};

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * `cursor` with the character at `i` changed. Within the base64url alphabet the
 * swap flips the character's top bit, which every base64 position uses, so the
 * decoded bytes change too (a swap in the unused low bits of a final character
 * would decode to the very cursor the store produced).
 */
function alterAt(cursor: string, i: number): string {
  const c = cursor[i]!;
  const at = B64URL.indexOf(c);
  const swapped = at >= 0 ? B64URL[at ^ 32]! : c === 'A' ? 'B' : 'A';
  return cursor.slice(0, i) + swapped + cursor.slice(i + 1);
}

/** Cursors the store never produced: altered, truncated, extended, made up, or not strings at all. */
export function forgedCursors(real: string): [string, unknown][] {
  const mid = Math.floor(real.length / 2);
  return [
    ['the first character changed', alterAt(real, 0)],
    ['a middle character changed', alterAt(real, mid)],
    ['the last character changed', alterAt(real, real.length - 1)],
    ['the last character cut', real.slice(0, -1)],
    ['one character appended', `${real}A`],
    ['made up', 'forged-cursor'],
    ['the empty string', ''],
    ['a number', 123],
    ['an object', { toString: () => real }],
    ['an array', [real]],
    ['true', true],
    ['null', null],
  ];
}

export const scanCursorCheck: SessionStoreCheck = {
  id: 'scan-cursor',
  name: 'scan with a cursor the store did not produce (altered, cut, extended, made up, not a string) rejects with InvalidArgument; the genuine cursor still resumes',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const records: SessionRecord[] = [];
      for (let i = 0; i < 6; i++) {
        const r = makeRecord({ expiresAt: clock.now() + HOUR });
        await store.insert(r);
        records.push(r);
      }
      const first = await store.scan({ limit: 2 });
      const real = first.cursor;
      ensure(
        typeof real === 'string' && real.length > 0,
        'scan({ limit: 2 }) over 6 records must return a non-empty cursor',
      );
      for (const [what, cursor] of forgedCursors(real)) {
        await expectRejection(
          () => store.scan({ cursor, limit: 2 } as unknown as ScanOptions),
          INVALID,
          `scan with a forged cursor (${what})`,
        );
      }
      const rest = await scanAll(store, 2, real);
      expectRecordSet(
        [...first.records, ...rest],
        records,
        'the genuine cursor, after the forgeries',
      );
    });
  },
};

/** A valid record with one field broken, for the write methods. */
function broken(base: SessionRecord): [string, SessionRecord][] {
  const bad = (field: string, value: unknown): [string, SessionRecord] => [
    `${field} ${show(value)}`,
    { ...base, [field]: value } as unknown as SessionRecord,
  ];
  return [
    bad('id', ''),
    bad('id', '../../etc/passwd'),
    bad('id', base.id.slice(0, 42)),
    bad('id', `${base.id}A`),
    bad('id', `${base.id.slice(0, 42)}=`),
    bad('id', `${base.id.slice(0, 42)}/`),
    bad('id', `${base.id.slice(0, 42)}.`),
    bad('id', `${base.id}\n`),
    bad('id', 123),
    bad('subject', `${base.subject.slice(0, 42)}+`),
    bad('subject', ''),
    bad('subject', undefined),
    bad('expiresAt', 1.5),
    bad('expiresAt', Number.NaN),
    bad('expiresAt', String(base.expiresAt)),
    bad('version', 0),
    bad('version', 1.5),
    bad('version', '1'),
    bad('payload', 'text'),
    bad('payload', [1, 2, 3]),
    bad('payload', null),
    bad('payload', new DataView(new ArrayBuffer(4))),
  ];
}

export const malformedRecordCheck: SessionStoreCheck = {
  id: 'malformed-records',
  name: 'insert, replace and rotate of a malformed record (id or subject not 43 chars of [A-Za-z0-9_-], bad expiresAt, version or payload) reject with InvalidArgument and change nothing',
  timeoutMs: () => 60_000,
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const live = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(live);
      const next = makeRecord({ expiresAt: clock.now() + HOUR });
      const fresh = makeRecord({ expiresAt: clock.now() + HOUR });
      for (const [what, record] of broken(fresh)) {
        await expectRejection(
          () => store.insert(record),
          INVALID,
          `insert of a record with ${what}`,
        );
      }
      for (const [what, record] of broken(withFields(live, { version: 2 }))) {
        // A broken version is the record's own field here; the expected version stays valid.
        await expectRejection(
          () => store.replace(record, 1),
          INVALID,
          `replace with a record with ${what}`,
        );
        await expectRejection(
          () => store.rotate({ record, expectedVersion: 1 }, next),
          INVALID,
          `rotate of an old record with ${what}`,
        );
      }
      for (const [what, record] of broken(next)) {
        await expectRejection(
          () =>
            store.rotate({ record: withFields(live, { version: 2 }), expectedVersion: 1 }, record),
          INVALID,
          `rotate into a next record with ${what}`,
        );
      }
      await expectUnchanged(store, live, [next, fresh]);
    });
  },
};

async function expectUnchanged(
  store: SessionStore,
  live: SessionRecord,
  absent: readonly SessionRecord[],
): Promise<void> {
  expectRecord(await store.get(live.id), live, 'the live record after the malformed writes');
  for (const r of absent) {
    const found = await store.get(r.id);
    if (found !== null) {
      throw new ConformanceFailure(`a malformed write left a record behind under ${short(r.id)}`);
    }
  }
  expectRecordSet(await scanAll(store, 10), [live], 'a scan after the malformed writes');
}
