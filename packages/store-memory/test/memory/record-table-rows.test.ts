import type { SessionRecord } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { RecordTable } from '../../src/memory/record-table';
import { key } from '../helpers';

/*
 * The paths of the record table that read ids and subjects back out of the
 * rows' bytes rather than from the caller: the expiry heap's rebuild, the
 * subject moves of a replace, and rows reused after a delete.
 */

const T0 = 1_700_000_000_000;
const payload = (n: number) => Uint8Array.from({ length: 64 }, (_, i) => (n + i) & 0xff);
const record = (id: string, subject: string, expiresAt: number, version = 1): SessionRecord => ({
  id,
  subject,
  expiresAt,
  version,
  payload: payload(version),
});

describe('RecordTable rows', () => {
  it('after the expiry heap is rebuilt from the rows, each record still expires at its last expiry, by its own id', () => {
    const table = new RecordTable(1_000);
    const ids = Array.from({ length: 10 }, (_, i) => key('heap', i));
    // Odd ids expire at T0 + 3,000, even ones at T0 + 8,000: one heap entry each.
    ids.forEach((id, i) => {
      table.insert(record(id, key('heap-sub', i % 3), T0 + (i % 2 === 0 ? 8_000 : 3_000)), T0);
    });
    // One more record whose expiry moves 1,200 times: every move pushes a heap
    // entry, and past 2 x live + 1,024 entries the heap is rebuilt from the
    // rows, so from then on the ten records' only entries are the rebuilt ones.
    const churn = key('heap-churn', 0);
    table.insert(record(churn, key('heap-sub', 9), T0 + 20_000), T0);
    for (let v = 1; v <= 1_200; v++) {
      expect(table.replace(record(churn, key('heap-sub', 9), T0 + 20_000 + v, v + 1), v, T0)).toBe(
        true,
      );
    }
    expect(table.reclaimExpired(T0 + 3_001)).toBe(5);
    ids.forEach((id, i) => {
      expect(table.get(id, T0) !== null).toBe(i % 2 === 0);
    });
    expect(table.reclaimExpired(T0 + 8_001)).toBe(5);
    for (const id of ids) expect(table.get(id, T0)).toBeNull();
    expect(table.get(churn, T0 + 8_001)?.version).toBe(1_201);
  });

  it('a replace that moves a record to another subject reads and moves the old subject out of the row', () => {
    const table = new RecordTable(100);
    const [a, b] = [key('mv-sub', 0), key('mv-sub', 1)];
    const id = key('mv', 0);
    table.insert(record(id, a, T0 + 1_000), T0);
    table.insert(record(key('mv', 1), a, T0 + 1_000), T0);
    expect(table.replace(record(id, b, T0 + 1_000, 2), 1, T0)).toBe(true);
    expect(table.get(id, T0)?.subject).toBe(b);
    expect(table.listBySubject(a, T0).map((r) => r.id)).toEqual([key('mv', 1)]);
    expect(table.listBySubject(b, T0).map((r) => r.id)).toEqual([id]);
    expect(table.deleteBySubject(a, T0)).toBe(1);
    expect(table.get(id, T0)?.subject).toBe(b);
  });

  it('a row reused after a delete answers only for its new id and subject', () => {
    const table = new RecordTable(100);
    const old = key('reuse', 0);
    table.insert(record(old, key('reuse-sub', 0), T0 + 1_000), T0);
    expect(table.delete(old, T0)).toBe(true);
    const next = key('reuse', 1);
    table.insert(record(next, key('reuse-sub', 1), T0 + 1_000), T0);
    expect(table.get(old, T0)).toBeNull();
    expect(table.get(next, T0)).toMatchObject({ id: next, subject: key('reuse-sub', 1) });
    expect(table.listBySubject(key('reuse-sub', 0), T0)).toEqual([]);
  });

  it('rows keep their ids and subjects when the row buffer grows', () => {
    const table = new RecordTable(10_000);
    const n = 3_000; // the buffer starts at 1,024 rows and grows by half: twice or more
    for (let i = 0; i < n; i++)
      table.insert(record(key('grow', i), key('grow-sub', i % 40), T0 + 1_000), T0);
    for (let i = 0; i < n; i += 37) {
      expect(table.get(key('grow', i), T0)).toMatchObject({
        id: key('grow', i),
        subject: key('grow-sub', i % 40),
      });
    }
    expect(table.listBySubject(key('grow-sub', 7), T0)).toHaveLength(n / 40);
  });
});
