import { type SessionRecord, StoreConflict } from '@cloakroom/core';
import { createPostgresStore } from '@cloakroom/store-postgres';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, fakeClock, makeRecord, type PgWorld, randomId } from './pg-harness';

let world: PgWorld;
const clock = fakeClock();

beforeAll(async () => {
  world = await createWorld('crpg_model');
});
afterAll(async () => {
  await world?.teardown();
});

describe('postgres store: model-based property', () => {
  it('random operation sequences agree with a map model (seed printed on failure)', async () => {
    const s = createPostgresStore({ pool: world.admin, ...world.tables, clock: clock.now });
    const ids = Array.from({ length: 4 }, () => randomId());
    const subjects = [randomId(), randomId()];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('insert' as const),
        i: fc.nat(3),
        s: fc.nat(1),
        ttl: fc.integer({ min: 1, max: 50 }),
      }),
      fc.record({
        kind: fc.constant('replace' as const),
        i: fc.nat(3),
        v: fc.integer({ min: 1, max: 3 }),
        ttl: fc.integer({ min: 1, max: 50 }),
      }),
      fc.record({ kind: fc.constant('delete' as const), i: fc.nat(3) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('deleteBySubject' as const), s: fc.nat(1) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        for (const id of ids) await s.delete(id);
        const model = new Map<string, SessionRecord>();
        const alive = (r: SessionRecord | undefined) =>
          r && r.expiresAt > clock.now() ? r : undefined;
        for (const o of ops) {
          if (o.kind === 'tick') clock.advance(o.ms);
          if (o.kind === 'insert') {
            const r = makeRecord({
              id: ids[o.i]!,
              subject: subjects[o.s]!,
              expiresAt: clock.now() + o.ttl,
            });
            const exists = alive(model.get(r.id));
            const err = await s.insert(r).then(
              () => undefined,
              (e: unknown) => e,
            );
            if (exists) expect(err).toBeInstanceOf(StoreConflict);
            else {
              expect(err).toBeUndefined();
              model.set(r.id, r);
            }
          }
          if (o.kind === 'replace') {
            const cur = alive(model.get(ids[o.i]!));
            const r = makeRecord({
              id: ids[o.i]!,
              version: o.v + 1,
              expiresAt: clock.now() + o.ttl,
            });
            const ok = await s.replace(r, o.v);
            expect(ok).toBe(cur?.version === o.v);
            if (ok) model.set(r.id, r);
          }
          if (o.kind === 'delete') {
            expect(await s.delete(ids[o.i]!)).toBe(alive(model.get(ids[o.i]!)) !== undefined);
            model.delete(ids[o.i]!);
          }
          if (o.kind === 'deleteBySubject') {
            const hits = [...model.values()].filter((r) => alive(r) && r.subject === subjects[o.s]);
            expect(await s.deleteBySubject(subjects[o.s]!)).toBe(hits.length);
            for (const [k, r] of model) if (r.subject === subjects[o.s]) model.delete(k);
          }
          for (const id of ids) expect(await s.get(id)).toEqual(alive(model.get(id)) ?? null);
        }
      }),
      { numRuns: 25, verbose: 1 },
    );
    await s.close();
  });
});
