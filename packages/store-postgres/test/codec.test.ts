import { InvalidArgument, type SessionRecord, StoreDataInvalid } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { MAX_INT4, recordParams, rowToKeySetEntry, rowToRecord } from '../src/codec';

// An internal module, tested directly (unit, no network); the same codec runs
// against the real server in test/integration.

const record = (o: Partial<SessionRecord> = {}): SessionRecord => ({
  id: 'i'.repeat(43),
  subject: 's'.repeat(43),
  expiresAt: 1_700_000_000_000,
  version: 1,
  payload: Uint8Array.from([1, 2, 3]),
  ...o,
});

describe('row codec', () => {
  it('recordParams copies the payload, so later changes to the caller buffer are not sent', () => {
    const r = record();
    const params = recordParams(r, 'record');
    r.payload.fill(9);
    expect([...params[4]]).toEqual([1, 2, 3]);
    expect(params.slice(0, 4)).toEqual([r.id, r.subject, r.expiresAt, r.version]);
  });

  it('a version beyond the integer column is InvalidArgument, naming the field and not the value', () => {
    expect(() => recordParams(record({ version: MAX_INT4 }), 'record')).not.toThrow();
    expect(() => recordParams(record({ version: MAX_INT4 + 1 }), 'next')).toThrow(/next\.version/);
    expect(() => recordParams(record({ version: MAX_INT4 + 1 }), 'next')).toThrow(InvalidArgument);
  });

  it('rows of the wrong shape are StoreDataInvalid; int8 read as string or bigint', () => {
    const row = {
      id: 'i'.repeat(43),
      subject: 's'.repeat(43),
      expires_at: '1700000000000',
      version: 2,
      payload: Buffer.from([7]),
    };
    const decoded = rowToRecord(row);
    expect(decoded.expiresAt).toBe(1_700_000_000_000);
    expect(Buffer.isBuffer(decoded.payload)).toBe(false);
    expect(rowToRecord({ ...row, expires_at: 1_700_000_000_000n }).expiresAt).toBe(
      1_700_000_000_000,
    );
    for (const bad of [
      { ...row, id: 5 },
      { ...row, version: '2' },
      { ...row, payload: 'bytes' },
      { ...row, expires_at: '9'.repeat(20) },
    ]) {
      expect(() => rowToRecord(bad)).toThrow(StoreDataInvalid);
    }
    expect(rowToKeySetEntry({ version: 3, document: Buffer.from([1]) })).toEqual({
      version: 3,
      document: Uint8Array.from([1]),
    });
    for (const bad of [
      { version: 0, document: Buffer.from([1]) },
      { version: 1, document: null },
    ]) {
      expect(() => rowToKeySetEntry(bad)).toThrow(StoreDataInvalid);
    }
  });
});
