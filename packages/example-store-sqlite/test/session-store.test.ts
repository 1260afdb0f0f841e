import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Closed,
  ConfigInvalid,
  InvalidArgument,
  type SessionRecord,
  StoreDataInvalid,
  StoreUnavailable,
} from '@cloakroom/core';
import { createSqliteStore, type SqliteStore } from '@cloakroom/example-store-sqlite';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

// What the conformance suite does not pin down for this store: its own
// argument checks, options, error mapping and cursor integrity.

const T0 = 1_700_000_000_000;
const clock = () => T0;
let n = 0;
const key = (tag: string) => `${tag}-${String(++n).padStart(8, '0')}`.padEnd(43, 'x');
const rec = (o: Partial<SessionRecord> = {}): SessionRecord => ({
  id: key('id'),
  subject: key('sub'),
  expiresAt: T0 + 60_000,
  version: 1,
  payload: Uint8Array.from([1, 2, 3]),
  ...o,
});
const caught = async (fn: () => Promise<unknown>) =>
  fn().then(
    () => undefined,
    (e: unknown) => e,
  );

const opened: Array<{ close(): Promise<void> }> = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function store(options: Parameters<typeof createSqliteStore>[0] = {}): SqliteStore {
  const s = createSqliteStore({ clock, ...options });
  opened.push(s);
  return s;
}

describe('sqlite example: argument checks (core helpers)', () => {
  const bad: Array<[string, (r: SessionRecord) => unknown]> = [
    ['a null record', () => null],
    ['a 42-character id', (r) => ({ ...r, id: 'a'.repeat(42) })],
    ['an id with a slash', (r) => ({ ...r, id: `${'a'.repeat(42)}/` })],
    ['an empty subject', (r) => ({ ...r, subject: '' })],
    ['a fractional expiresAt', (r) => ({ ...r, expiresAt: T0 + 0.5 })],
    ['version 0', (r) => ({ ...r, version: 0 })],
    ['a string payload', (r) => ({ ...r, payload: 'abc' })],
    ['a spoofed payload', (r) => ({ ...r, payload: { [Symbol.toStringTag]: 'Uint8Array' } })],
  ];

  it.each(bad)(
    'insert, replace and rotate reject %s with InvalidArgument, changing nothing',
    async (_what, mutate) => {
      const s = store();
      const r = rec();
      await s.insert(r);
      expect(await caught(() => s.insert(mutate(rec()) as SessionRecord))).toBeInstanceOf(
        InvalidArgument,
      );
      const broken = mutate({ ...r, version: 2 }) as SessionRecord;
      expect(await caught(() => s.replace(broken, 1))).toBeInstanceOf(InvalidArgument);
      expect(
        await caught(() => s.rotate({ record: broken, expectedVersion: 1 }, rec())),
      ).toBeInstanceOf(InvalidArgument);
      expect(
        await caught(() =>
          s.rotate(
            { record: { ...r, version: 2 }, expectedVersion: 1 },
            mutate(rec()) as SessionRecord,
          ),
        ),
      ).toBeInstanceOf(InvalidArgument);
      expect(await s.get(r.id)).toEqual(r);
      expect((await s.scan({ limit: 10 })).records).toEqual([r]);
    },
  );

  it('expected versions that are not positive integers throw InvalidArgument', async () => {
    const s = store();
    const r = rec();
    await s.insert(r);
    for (const v of [0, -1, 1.5, Number.NaN, '1']) {
      expect(await caught(() => s.replace({ ...r, version: 2 }, v as number))).toBeInstanceOf(
        InvalidArgument,
      );
      expect(
        await caught(() =>
          s.rotate({ record: { ...r, version: 2 }, expectedVersion: v as number }, rec()),
        ),
      ).toBeInstanceOf(InvalidArgument);
    }
    expect(await caught(() => s.rotate(null as never, rec()))).toBeInstanceOf(InvalidArgument);
    expect(await s.get(r.id)).toEqual(r);
  });

  it('an id or subject that is not 43 characters of [A-Za-z0-9_-] is answered as missing', async () => {
    const s = store();
    const r = rec();
    await s.insert(r);
    for (const v of [r.id.slice(1), `${r.id}x`, `${r.id.slice(1)}/`, '', 7, null]) {
      expect(await s.get(v as string)).toBeNull();
      expect(await s.delete(v as string)).toBe(false);
      expect(await s.listBySubject(v as string)).toEqual([]);
      expect(await s.deleteBySubject(v as string)).toBe(0);
    }
    expect(await s.get(r.id)).toEqual(r);
  });

  it('sweep refuses a time that is not a finite number', async () => {
    const s = store();
    for (const t of [Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(await caught(() => s.sweep(t as number))).toBeInstanceOf(InvalidArgument);
    }
  });
});

describe('sqlite example: scan', () => {
  it.each([0, -1, 1.5, Number.NaN, '10', 2 ** 53, Number.POSITIVE_INFINITY])(
    'limit %s throws InvalidArgument',
    async (limit) => {
      expect(await caught(() => store().scan({ limit: limit as number }))).toBeInstanceOf(
        InvalidArgument,
      );
    },
  );

  it('a forged cursor (garbage, a bare id, a number) throws InvalidArgument', async () => {
    const s = store();
    const r = rec();
    await s.insert(r);
    for (const cursor of ['', 'garbage', r.id, 'sq1.', 5, {}]) {
      expect(await caught(() => s.scan({ cursor: cursor as string, limit: 5 }))).toBeInstanceOf(
        InvalidArgument,
      );
    }
  });

  it('a genuine cursor altered in any one character is rejected, not resumed elsewhere', async () => {
    const s = store();
    for (let i = 0; i < 6; i++) await s.insert(rec());
    const cursor = (await s.scan({ limit: 2 })).cursor as string;
    expect(cursor).toBeDefined();
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.';
    for (let at = 0; at < cursor.length; at++) {
      for (const c of alphabet) {
        if (c === cursor[at]) continue;
        const altered = cursor.slice(0, at) + c + cursor.slice(at + 1);
        expect(await caught(() => s.scan({ cursor: altered, limit: 2 }))).toBeInstanceOf(
          InvalidArgument,
        );
      }
    }
    expect((await s.scan({ cursor, limit: 2 })).records).toHaveLength(2);
  });
});

describe('sqlite example: close, errors and options', () => {
  it('after close every method throws Closed, close is idempotent, and a caller database stays open', async () => {
    const database = new Database(':memory:');
    const s = createSqliteStore({ database, clock });
    const r = rec();
    await s.insert(r);
    await s.close();
    await s.close();
    const calls: Array<() => Promise<unknown>> = [
      () => s.insert(rec()),
      () => s.get(r.id),
      () => s.get('malformed'),
      () => s.replace({ ...r, version: 2 }, 1),
      () => s.rotate({ record: { ...r, version: 2 }, expectedVersion: 1 }, rec()),
      () => s.delete(r.id),
      () => s.deleteBySubject(r.subject),
      () => s.listBySubject(r.subject),
      () => s.scan({ limit: 1 }),
      () => s.scan({ limit: 0 }),
      () => s.sweep(T0),
    ];
    for (const call of calls) expect(await caught(call)).toBeInstanceOf(Closed);
    expect(database.open).toBe(true);
    expect(database.prepare('SELECT count(*) AS n FROM cloakroom_sessions').get()).toEqual({
      n: 1,
    });
    database.close();
  });

  it('a driver failure is StoreUnavailable with the driver error as cause, never a payload in the message', async () => {
    const database = new Database(':memory:');
    const s = createSqliteStore({ database, clock });
    const secret = new TextEncoder().encode('SECRET-PAYLOAD');
    await s.insert(rec({ payload: secret }));
    database.close(); // the caller closes its own connection under the store
    for (const call of [() => s.get(rec().id), () => s.insert(rec({ payload: secret }))]) {
      const err = (await caught(call)) as StoreUnavailable;
      expect(err).toBeInstanceOf(StoreUnavailable);
      expect(err.cause).toBeInstanceOf(Error);
      expect(err.message).not.toContain('SECRET');
    }
  });

  it('a file that cannot be opened is StoreUnavailable with cause', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-'));
    dirs.push(dir);
    let err: unknown;
    try {
      createSqliteStore({ filename: join(dir, 'missing-dir', 'sessions.db') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as StoreUnavailable).cause).toBeDefined();
  });

  it('a row that does not hold a valid record reads as StoreDataInvalid, naming no value', async () => {
    const database = new Database(':memory:');
    const s = createSqliteStore({ database, clock });
    const r = rec();
    await s.insert(r);
    database.prepare('UPDATE cloakroom_sessions SET payload = ?').run('not a blob');
    const err = (await caught(() => s.get(r.id))) as Error;
    expect(err).toBeInstanceOf(StoreDataInvalid);
    expect(err.message).not.toContain('not a blob');
    await s.close();
    database.close();
  });

  it.each([
    ['an unknown option (typo)', { busyTimeout: 5 }],
    ['a table name with a quote', { table: 'x"; DROP TABLE y; --' }],
    ['a negative busy timeout', { busyTimeoutMs: -1 }],
    ['a fractional busy timeout', { busyTimeoutMs: 1.5 }],
    ['a non-function clock', { clock: 5 }],
    ['both filename and database', { filename: 'x.db', database: {} }],
    ['an empty filename', { filename: '' }],
  ])('rejects %s with ConfigInvalid', (_what, options) => {
    expect(() => createSqliteStore(options as never)).toThrow(ConfigInvalid);
  });
});
