import { StoreConflict, StoreUnavailable } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { DeadlineExceeded, leavesConnectionUsable, toStoreError } from '../src/errors';

// An internal module, tested directly (unit, no network); the same mapping is
// exercised against the real server in test/integration/faults.test.ts.

describe('driver error mapping', () => {
  const pgError = (code: string) => Object.assign(new Error(`server said ${code}`), { code });

  it('unique violations become StoreConflict; everything else StoreUnavailable with cause', () => {
    expect(toStoreError(pgError('23505'))).toBeInstanceOf(StoreConflict);
    for (const err of [
      pgError('08006'),
      pgError('57P01'),
      pgError('53300'),
      pgError('42P01'),
      pgError('42501'),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new DeadlineExceeded(100),
      'not even an error',
    ]) {
      const mapped = toStoreError(err);
      expect(mapped).toBeInstanceOf(StoreUnavailable);
      expect(mapped.cause).toBe(err);
    }
    expect(toStoreError(pgError('42P01')).message).toMatch(/migrate\(\)/);
    // A table from before migration 3 (no seat column) names the same remedy.
    expect(toStoreError(pgError('42703'))).toBeInstanceOf(StoreUnavailable);
    expect(toStoreError(pgError('42703')).message).toMatch(/migrate\(\)/);
  });

  it('typed Cloakroom errors pass through unchanged', () => {
    const conflict = new StoreConflict('x');
    expect(toStoreError(conflict)).toBe(conflict);
  });

  it('only SQL-level errors leave a connection fit for the pool', () => {
    expect(leavesConnectionUsable(pgError('23505'))).toBe(true);
    expect(leavesConnectionUsable(pgError('40001'))).toBe(true);
    expect(leavesConnectionUsable(new StoreConflict('x'))).toBe(true);
    for (const code of ['08006', '57P01', '57014', '53300', 'XX000', '58030']) {
      expect(leavesConnectionUsable(pgError(code))).toBe(false);
    }
    expect(leavesConnectionUsable(new DeadlineExceeded(1))).toBe(false);
    expect(leavesConnectionUsable(new Error('socket hang up'))).toBe(false);
  });
});
