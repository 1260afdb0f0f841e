import { StoreConflict, StoreFull, type SessionRecord } from '@cloakroom/core';
import type { MemoryStore } from '@cloakroom/store-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FakeClock, fakeClock, key, scanAll, storeAt } from './helpers';

/*
 * Model-based test: random command sequences run against the store and
 * against a plain Map of records; after every command the store must agree
 * with the model on every id and every subject (so the subject index never
 * holds a ghost or misses a record) and a full scan must return exactly the
 * live records. Small pools force collisions; a cap of 4 forces StoreFull.
 */

const IDS = Array.from({ length: 6 }, (_, i) => key('id', 9_000 + i));
const SUBJECTS = Array.from({ length: 3 }, (_, i) => key('sub', 9_000 + i));
const MAX = 4;

interface Model {
  clock: FakeClock;
  records: Map<string, SessionRecord>;
}
interface Real {
  store: MemoryStore;
}

const liveOf = (m: Model, id: string) => {
  const r = m.records.get(id);
  return r !== undefined && r.expiresAt > m.clock.now ? r : undefined;
};
const liveCount = (m: Model) => [...m.records.keys()].filter((id) => liveOf(m, id)).length;
const byId = (a: SessionRecord, b: SessionRecord) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function expectAgreement(m: Model, r: Real): Promise<void> {
  for (const id of IDS) expect(await r.store.get(id)).toEqual(liveOf(m, id) ?? null);
  for (const subject of SUBJECTS) {
    const expected = IDS.flatMap((id) => liveOf(m, id) ?? []).filter((x) => x.subject === subject);
    expect((await r.store.listBySubject(subject)).sort(byId)).toEqual(expected.sort(byId));
  }
  const { records } = await scanAll(r.store, 2);
  expect(records.sort(byId)).toEqual(IDS.flatMap((id) => liveOf(m, id) ?? []).sort(byId));
}

type Spec = { id: string; subject: string; ttl: number; byte: number };
const spec = fc.record({
  id: fc.constantFrom(...IDS),
  subject: fc.constantFrom(...SUBJECTS),
  ttl: fc.integer({ min: -5, max: 40 }),
  byte: fc.integer({ min: 0, max: 255 }),
});
const build = (m: Model, s: Spec, version: number): SessionRecord => ({
  id: s.id,
  subject: s.subject,
  expiresAt: m.clock.now + s.ttl,
  version,
  payload: new Uint8Array([s.byte, version & 0xff]),
});

/** Expected effect of writing `record` over whatever the model holds. */
const write = (m: Model, record: SessionRecord) => {
  if (record.expiresAt > m.clock.now) m.records.set(record.id, record);
  else m.records.delete(record.id);
};

class Insert implements fc.AsyncCommand<Model, Real> {
  constructor(readonly s: Spec) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const record = build(m, this.s, 1);
    const outcome = await r.store.insert(record).then(
      () => 'ok',
      (e: unknown) => e,
    );
    if (liveOf(m, record.id)) {
      expect(outcome).toBeInstanceOf(StoreConflict);
    } else if (record.expiresAt > m.clock.now && liveCount(m) >= MAX) {
      expect(outcome).toBeInstanceOf(StoreFull);
    } else {
      expect(outcome).toBe('ok');
      write(m, record);
    }
  }
  toString = () => `insert(${JSON.stringify(this.s)})`;
}

class Replace implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly s: Spec,
    readonly skew: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const current = liveOf(m, this.s.id);
    const expected = Math.max(1, (current?.version ?? 1) + this.skew);
    const record = build(m, this.s, expected + 1);
    const ok = await r.store.replace(record, expected);
    expect(ok).toBe(current !== undefined && current.version === expected);
    if (ok) write(m, record);
  }
  toString = () => `replace(${JSON.stringify(this.s)}, skew ${this.skew})`;
}

class Rotate implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly old: Spec,
    readonly next: Spec,
    readonly skew: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const current = liveOf(m, this.old.id);
    const expected = Math.max(1, (current?.version ?? 1) + this.skew);
    const oldRecord = build(m, this.old, expected + 1);
    const nextRecord = build(m, this.next, 1);
    const outcome = await r.store
      .rotate({ record: oldRecord, expectedVersion: expected }, nextRecord)
      .then(
        (ok) => ok,
        (e: unknown) => e,
      );
    if (current === undefined || current.version !== expected) {
      expect(outcome).toBe(false);
    } else if (liveOf(m, nextRecord.id)) {
      expect(outcome).toBeInstanceOf(StoreConflict);
    } else if (nextRecord.expiresAt > m.clock.now && liveCount(m) >= MAX) {
      expect(outcome).toBeInstanceOf(StoreFull);
    } else {
      expect(outcome).toBe(true);
      write(m, oldRecord);
      write(m, nextRecord);
    }
  }
  toString = () =>
    `rotate(${JSON.stringify(this.old)} -> ${JSON.stringify(this.next)}, skew ${this.skew})`;
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    expect(await r.store.delete(this.id)).toBe(liveOf(m, this.id) !== undefined);
    m.records.delete(this.id);
  }
  toString = () => `delete(${this.id})`;
}

class DeleteBySubject implements fc.AsyncCommand<Model, Real> {
  constructor(readonly subject: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const doomed = IDS.filter((id) => liveOf(m, id)?.subject === this.subject);
    expect(await r.store.deleteBySubject(this.subject)).toBe(doomed.length);
    for (const id of doomed) m.records.delete(id);
  }
  toString = () => `deleteBySubject(${this.subject})`;
}

// Reads reclaim expired records lazily, so agreement is checked only by this
// command: between checks expired records linger, as they do in production.
class Check implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    await expectAgreement(m, r);
  }
  toString = () => 'check()';
}

class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model) {
    m.clock.advance(this.ms);
  }
  toString = () => `advance(${this.ms})`;
}

class Sweep implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    const expiredInModel = [...m.records.values()].filter((x) => x.expiresAt <= m.clock.now).length;
    const removed = await r.store.sweep(m.clock.now);
    // Reads may already have reclaimed some expired records lazily.
    expect(removed).toBeLessThanOrEqual(expiredInModel);
    expect(await r.store.sweep(m.clock.now)).toBe(0);
  }
  toString = () => 'sweep()';
}

const commands = [
  spec.map((s) => new Insert(s)),
  fc.tuple(spec, fc.constantFrom(0, 0, 0, 1, -1)).map(([s, k]) => new Replace(s, k)),
  fc.tuple(spec, spec, fc.constantFrom(0, 0, 0, 1)).map(([o, n, k]) => new Rotate(o, n, k)),
  fc.constantFrom(...IDS).map((id) => new Delete(id)),
  fc.constantFrom(...SUBJECTS).map((s) => new DeleteBySubject(s)),
  fc.integer({ min: 1, max: 30 }).map((ms) => new Advance(ms)),
  fc.constant(new Sweep()),
  fc.constant(new Check()),
  fc.constant(new Check()),
];

describe('model-based: store agrees with a plain map after any command sequence', () => {
  it('get, listBySubject, deleteBySubject, scan and capacity match the model; the subject index never holds ghosts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60 }), async (cmds) => {
        const clock = fakeClock();
        const model: Model = { clock, records: new Map() };
        const real: Real = { store: storeAt(clock, { maxSessions: MAX }) };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await expectAgreement(model, real);
      }),
      { numRuns: 300 },
    );
  });
});
