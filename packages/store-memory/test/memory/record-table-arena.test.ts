import type { SessionRecord } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/memory/payload-arena';
import { RecordTable } from '../../src/memory/record-table';
import { key } from '../helpers';

/*
 * The record table over its payload arena: payloads of many lengths, so
 * writes move between slots, free lists fill, and (with tiny chunks)
 * compaction relocates live payloads in the middle of deletes, expiries,
 * replaces and rotates. Every live record must still read back its bytes.
 */

const TINY = { chunkSize: 64, largePayload: 24, minDeadBytes: 0 };
const T0 = 1_700_000_000_000;
const IDS = Array.from({ length: 8 }, (_, i) => key('arena-id', i));
const SUBJECTS = Array.from({ length: 3 }, (_, i) => key('arena-sub', i));

const bytes = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (seed * 13 + i * 5 + 3) & 0xff);

describe('RecordTable over the payload arena', () => {
  it('replacing every record with a same-length payload (a rewrap) allocates nothing', () => {
    const table = new RecordTable(10_000);
    const n = 2_000;
    for (let i = 0; i < n; i++) {
      table.insert(
        {
          id: key('rw', i),
          subject: key('s', i % 50),
          expiresAt: T0 + 60_000,
          version: 1,
          payload: bytes(973, i),
        },
        T0,
      );
    }
    const before = table.arenaStats();
    for (let i = 0; i < n; i++) {
      const id = key('rw', i);
      const current = table.get(id, T0) as SessionRecord;
      expect(table.replace({ ...current, version: 2, payload: bytes(973, i + 1) }, 1, T0)).toBe(
        true,
      );
    }
    expect(table.arenaStats()).toEqual(before);
    for (let i = 0; i < n; i += 97) {
      expect(table.get(key('rw', i), T0)?.payload).toEqual(bytes(973, i + 1));
    }
  });

  it('holds about the payload bytes: capacity within a chunk of the live bytes', () => {
    const table = new RecordTable(10_000);
    for (let i = 0; i < 5_000; i++) {
      table.insert(
        {
          id: key('cap', i),
          subject: key('s', i),
          expiresAt: T0 + 1_000 + (i % 7),
          version: 1,
          payload: bytes(900 + (i % 200), i),
        },
        T0,
      );
    }
    const stats = table.arenaStats();
    expect(stats.capacityBytes - stats.liveBytes).toBeLessThan(DEFAULT_LIMITS.chunkSize * 1.1);
    // Everything expires: the sweep gives the chunks back.
    table.reclaimExpired(T0 + 10_000);
    expect(table.arenaStats().liveBytes).toBe(0);
    expect(table.arenaStats().capacityBytes).toBeLessThanOrEqual(DEFAULT_LIMITS.chunkSize);
  });

  it('expiresAt (held as two small-integer halves) round-trips exactly across the safe-integer range', () => {
    const cases = [
      [T0, T0 + 100],
      [0, 2 ** 30],
      [0, 2 ** 31 + 12_345],
      [T0, Number.MAX_SAFE_INTEGER],
      [T0, Number.MAX_SAFE_INTEGER - 2 ** 30],
      [-(2 ** 52), -(2 ** 52) + 100],
      [-(2 ** 40), -1],
      [-(2 ** 40), 0],
      [-(2 ** 40), -(2 ** 30) - 1],
    ];
    for (const [now, expiresAt] of cases as Array<[number, number]>) {
      const table = new RecordTable(10);
      const r = {
        id: key('x', 1),
        subject: key('s', 1),
        expiresAt,
        version: 1,
        payload: bytes(3, 1),
      };
      table.insert(r, now);
      expect(table.get(r.id, now)).toEqual(r);
      expect(table.get(r.id, expiresAt - 1)).toEqual(r);
      const moved = { ...r, expiresAt: expiresAt - 7, version: 2 };
      expect(table.replace(moved, 1, now)).toBe(true);
      expect(table.get(r.id, now)?.expiresAt).toBe(expiresAt - 7);
      expect(table.get(r.id, expiresAt - 7)).toBeNull();
    }
  });

  type Op =
    | { kind: 'insert' | 'replace'; id: number; subject: number; ttl: number; length: number }
    | { kind: 'rotate'; id: number; next: number; length: number; nextLength: number }
    | { kind: 'delete'; id: number }
    | { kind: 'deleteBySubject'; subject: number }
    | { kind: 'advance'; ms: number };
  const length = fc.oneof(fc.nat(30), fc.constantFrom(0, 24, 25, 100));
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom('insert' as const, 'replace' as const),
      id: fc.nat(IDS.length - 1),
      subject: fc.nat(SUBJECTS.length - 1),
      ttl: fc.integer({ min: -2, max: 30 }),
      length,
    }),
    fc.record({
      kind: fc.constant('rotate' as const),
      id: fc.nat(IDS.length - 1),
      next: fc.nat(IDS.length - 1),
      length,
      nextLength: length,
    }),
    fc.record({ kind: fc.constant('delete' as const), id: fc.nat(IDS.length - 1) }),
    fc.record({
      kind: fc.constant('deleteBySubject' as const),
      subject: fc.nat(SUBJECTS.length - 1),
    }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(12) }),
  );

  it('random writes of many lengths, with compaction in between, always read back the model', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const table = new RecordTable(6, TINY);
        const model = new Map<string, SessionRecord>();
        let now = T0;
        let seed = 0;
        const live = (id: string) => {
          const r = model.get(id);
          return r !== undefined && r.expiresAt > now ? r : undefined;
        };
        for (const o of ops) {
          seed++;
          switch (o.kind) {
            case 'insert': {
              const id = IDS[o.id] as string;
              const r = {
                id,
                subject: SUBJECTS[o.subject] as string,
                expiresAt: now + o.ttl,
                version: 1,
                payload: bytes(o.length, seed),
              };
              try {
                table.insert(r, now);
                if (r.expiresAt > now) model.set(id, r);
              } catch {
                // StoreConflict or StoreFull: the table must be unchanged, checked below.
              }
              break;
            }
            case 'replace': {
              const id = IDS[o.id] as string;
              const current = live(id);
              const r = {
                id,
                subject: SUBJECTS[o.subject] as string,
                expiresAt: now + o.ttl,
                version: (current?.version ?? 1) + 1,
                payload: bytes(o.length, seed),
              };
              const ok = table.replace(r, current?.version ?? 1, now);
              expect(ok).toBe(current !== undefined);
              if (ok) {
                if (r.expiresAt > now) model.set(id, r);
                else model.delete(id);
              }
              break;
            }
            case 'rotate': {
              const id = IDS[o.id] as string;
              const current = live(id);
              if (current === undefined) break;
              const old = {
                ...current,
                version: current.version + 1,
                payload: bytes(o.length, seed),
              };
              const next = {
                id: IDS[o.next] as string,
                subject: current.subject,
                expiresAt: now + 20,
                version: 1,
                payload: bytes(o.nextLength, seed + 1000),
              };
              let rotated: boolean | 'refused';
              try {
                rotated = table.rotate(old, current.version, next, now);
              } catch {
                // Next id live (or the same id), or full: nothing changed, checked below.
                rotated = 'refused';
              }
              expect(rotated).not.toBe(false);
              if (rotated === true) {
                model.set(id, old);
                model.set(next.id, next);
              }
              break;
            }
            case 'delete':
              table.delete(IDS[o.id] as string, now);
              model.delete(IDS[o.id] as string);
              break;
            case 'deleteBySubject':
              table.deleteBySubject(SUBJECTS[o.subject] as string, now);
              for (const [id, r] of model) if (r.subject === SUBJECTS[o.subject]) model.delete(id);
              break;
            case 'advance':
              now += o.ms;
              if (o.ms % 3 === 0) table.reclaimExpired(now);
              break;
          }
          for (const id of IDS) expect(table.get(id, now)).toEqual(live(id) ?? null);
          for (const id of IDS) if (live(id) === undefined) model.delete(id);
          const stats = table.arenaStats();
          const liveBytes = [...model.values()].reduce((n, r) => n + r.payload.byteLength, 0);
          expect(stats.liveBytes).toBe(liveBytes);
        }
      }),
      { numRuns: 300 },
    );
  });
});
