import { isCloakroomError, type SessionRecord, StoreConflict } from '@cloakroom/core';
import {
  createPostgresKeySetStore,
  createPostgresStore,
  type PostgresStore,
} from '@cloakroom/store-postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, makeRecord, type PgWorld } from './pg-harness';

let world: PgWorld;
/** Several stores, each over its own pool, as separate app instances would be. */
let stores: PostgresStore[];
let pools: pg.Pool[];

beforeAll(async () => {
  world = await createWorld('crpg_race');
  pools = Array.from({ length: 4 }, () => world.pool({ max: 5 }));
  stores = pools.map((pool) => createPostgresStore({ pool, ...world.tables }));
});
afterAll(async () => {
  await Promise.all((stores ?? []).map((s) => s.close()));
  await world?.teardown();
});

const N = 20;
const pick = (i: number) => stores[i % stores.length]!;

/** Every outcome must be a contract answer: a value or a typed Cloakroom error, never a raw pg error. */
async function settle<T>(calls: Promise<T>[]) {
  const results = await Promise.allSettled(calls);
  for (const r of results) {
    if (r.status === 'rejected') expect(isCloakroomError(r.reason), String(r.reason)).toBe(true);
  }
  return results;
}

describe('postgres store: concurrency across pools', () => {
  it(`${N} parallel replace calls with one expected version: exactly one winner`, async () => {
    const rec = makeRecord();
    await stores[0]!.insert(rec);
    for (let round = 1; round <= 5; round += 1) {
      const results = await settle(
        Array.from({ length: N }, (_, i) =>
          pick(i).replace({ ...rec, version: round + 1, payload: new Uint8Array([i]) }, round),
        ),
      );
      const winners = results.filter((r) => r.status === 'fulfilled' && r.value === true);
      expect(winners).toHaveLength(1);
      expect((await stores[0]!.get(rec.id))?.version).toBe(round + 1);
    }
  });

  it(`${N} parallel rotate calls on one record: one winner, one successor, no partial writes`, async () => {
    const old = makeRecord();
    await stores[0]!.insert(old);
    const nexts = Array.from({ length: N }, () => makeRecord({ subject: old.subject }));
    const results = await settle(
      nexts.map((next, i) =>
        pick(i).rotate({ record: { ...old, version: 2 }, expectedVersion: 1 }, next),
      ),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' && r.value ? [i] : []));
    expect(won).toHaveLength(1);
    const present = await Promise.all(nexts.map((n) => stores[0]!.get(n.id)));
    expect(present.filter((p) => p !== null).map((p) => p!.id)).toEqual([nexts[won[0]!]!.id]);
    expect((await stores[0]!.get(old.id))?.version).toBe(2);
  });

  it(`${N} parallel inserts of one id: one succeeds, the rest get StoreConflict`, async () => {
    const id = makeRecord().id;
    const results = await settle(
      Array.from({ length: N }, (_, i) =>
        pick(i).insert(makeRecord({ id, payload: new Uint8Array([i]) })),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StoreConflict);
    }
  });

  it('rotates racing onto the same next id: one wins, the others conflict, their old records are untouched', async () => {
    const olds = Array.from({ length: 8 }, () => makeRecord());
    for (const o of olds) await stores[0]!.insert(o);
    const shared = makeRecord();
    const results = await settle(
      olds.map((o, i) =>
        pick(i).rotate({ record: { ...o, version: 2 }, expectedVersion: 1 }, shared),
      ),
    );
    const won = results.flatMap((r, i) =>
      r.status === 'fulfilled' && r.value === true ? [i] : [],
    );
    expect(won).toHaveLength(1);
    for (const [i, r] of results.entries()) {
      if (i === won[0]) continue;
      expect(r.status === 'rejected' && r.reason instanceof StoreConflict).toBe(true);
      expect((await stores[0]!.get(olds[i]!.id))?.version).toBe(1);
    }
  });

  it('crossed rotates (A→B while B→A) that deadlock in PostgreSQL still end in contract answers', async () => {
    for (let round = 0; round < 3; round += 1) {
      const a = makeRecord();
      const b = makeRecord();
      await stores[0]!.insert(a);
      await stores[0]!.insert(b);
      // Each rotate locks its own old row, then wants the other's row as its "next" id.
      const results = await settle([
        stores[1]!.rotate({ record: { ...a, version: 2 }, expectedVersion: 1 }, b),
        stores[2]!.rotate({ record: { ...b, version: 2 }, expectedVersion: 1 }, a),
      ]);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StoreConflict);
        else expect(r.value).toBe(false);
      }
      // Both ids are live, so neither rotate can have inserted: both versions unchanged.
      expect((await stores[0]!.get(a.id))?.version).toBe(1);
      expect((await stores[0]!.get(b.id))?.version).toBe(1);
    }
  });

  it('SERIALIZABLE as the server default still yields one winner and no raw errors', async () => {
    const serializablePools = Array.from({ length: 3 }, () =>
      world.pool({ max: 4, options: '-c default_transaction_isolation=serializable' }),
    );
    const serializable = serializablePools.map((pool) =>
      createPostgresStore({ pool, ...world.tables }),
    );
    const rec: SessionRecord = makeRecord();
    await serializable[0]!.insert(rec);
    // Open every connection first so the racers really overlap on the row lock.
    await Promise.all(Array.from({ length: 12 }, (_, i) => serializable[i % 3]!.get(rec.id)));
    for (let round = 1; round <= 3; round += 1) {
      const results = await settle(
        Array.from({ length: 12 }, (_, i) =>
          serializable[i % 3]!.replace(
            { ...rec, version: round + 1, payload: new Uint8Array([i]) },
            round,
          ),
        ),
      );
      // Serialization failures are retried into plain answers: nobody sees an error at all.
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      expect(results.filter((r) => r.status === 'fulfilled' && r.value === true)).toHaveLength(1);
    }
    await Promise.all(serializable.map((s) => s.close()));
    // The server has a connection limit shared with other suites: give these back now.
    await Promise.all(serializablePools.map((p) => p.end()));
  });

  it('key-set writes racing on one expected version: exactly one winner', async () => {
    const keySets = pools.map((pool) => createPostgresKeySetStore({ pool, ...world.tables }));
    const created = await settle(keySets.map((k, i) => k.write('race', new Uint8Array([i]), null)));
    expect(created.filter((r) => r.status === 'fulfilled' && r.value)).toHaveLength(1);
    for (let v = 1; v <= 3; v += 1) {
      const results = await settle(
        Array.from({ length: 12 }, (_, i) =>
          keySets[i % keySets.length]!.write('race', new Uint8Array([v, i]), v),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled' && r.value)).toHaveLength(1);
      expect((await keySets[0]!.read('race'))?.version).toBe(v + 1);
    }
  });
});
