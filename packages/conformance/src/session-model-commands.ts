import type { SessionRecord, SessionStore, SubjectLimit } from '@cloakroom/core';
import fc from 'fast-check';
import { malformedAnswer } from './checks/subject-limit-kit';
import { ConformanceFailure, ensure } from './harness';
import { describeError, expectRecord, expectRecordSet, hasCode, outcome, summary } from './records';
import { ID_POOL, SUBJECT_POOL, type Seat, type SessionModel } from './session-model';

type Cmd = fc.AsyncCommand<SessionModel, SessionStore>;

/** What a generated command writes: indexes into the pools, expiry in model steps, payload. */
interface Shape {
  readonly subject: number;
  readonly steps: number;
  readonly payload: Uint8Array;
}

function build(model: SessionModel, id: string, shape: Shape, version: number): SessionRecord {
  return {
    id,
    subject: SUBJECT_POOL[shape.subject]!,
    expiresAt: model.expiry(shape.steps),
    version,
    payload: shape.payload,
  };
}

const shown = (s: Shape) =>
  `subj${s.subject}, ttl${s.steps >= 0 ? '+' : ''}${s.steps}, ${s.payload.length}B`;

/** Before a seat-taking call: steps the clock when seats must not tie; returns the seat's earliest time. */
async function seatStart(m: SessionModel): Promise<number> {
  if (m.seatStep) await m.clock.until(m.clock.now() + 1);
  return m.clock.now();
}

class Insert implements Cmd {
  constructor(
    readonly i: number,
    readonly shape: Shape,
  ) {}
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const lo = await seatStart(m);
    const id = ID_POOL[this.i]!;
    const before = m.live(id);
    const record = build(m, id, this.shape, 1);
    const result = await outcome(() => store.insert(record));
    if (before) {
      ensure(
        !result.ok && hasCode(result.error, 'ERR_STORE_CONFLICT'),
        () =>
          `insert over live id${this.i} must throw StoreConflict, got ${result.ok ? 'success' : describeError(result.error)}`,
      );
      expectRecord(await store.get(id), before, 'after a conflicting insert the original');
      return;
    }
    if (!result.ok) throw failure(`insert id${this.i} (free or expired) threw`, result.error);
    m.records.set(id, record);
    if (m.limits) m.seats.set(id, { lo, hi: m.clock.now() });
  }
  toString = () => `insert(id${this.i}, ${shown(this.shape)})`;
}

class InsertWithLimit implements Cmd {
  constructor(
    readonly i: number,
    readonly shape: Shape,
    readonly limit: SubjectLimit,
  ) {}
  /** Only where every live seat of the subject is known. */
  check = (m: Readonly<SessionModel>) =>
    m
      .liveOfSubject(SUBJECT_POOL[this.shape.subject]!)
      .every((r) => m.seats.get(r.id) !== 'unknown');
  async run(m: SessionModel, store: SessionStore) {
    const lo = await seatStart(m);
    const id = ID_POOL[this.i]!;
    const subject = SUBJECT_POOL[this.shape.subject]!;
    const label = this.toString();
    const before = m.live(id);
    const record = build(m, id, this.shape, 1);
    const seated = m.liveOfSubject(subject).filter((r) => m.seats.has(r.id));
    const result = await outcome(() => store.insertWithLimit!(record, this.limit));
    const hi = m.clock.now();
    const name = (rid: string) => `id${ID_POOL.indexOf(rid)}`;
    if (before) {
      ensure(
        !result.ok && hasCode(result.error, 'ERR_STORE_CONFLICT'),
        () =>
          `${label} over a live id must throw StoreConflict, got ${result.ok ? 'an answer' : describeError(result.error)}`,
      );
      expectRecord(await store.get(id), before, `after ${label} threw StoreConflict, the original`);
      expectRecordSet(
        await store.listBySubject(subject),
        m.liveOfSubject(subject),
        `after ${label} threw StoreConflict (nothing may be evicted), listBySubject`,
      );
      return;
    }
    if (!result.ok) throw failure(`${label} threw`, result.error);
    const why = malformedAnswer(result.value);
    if (why) throw new ConformanceFailure(`${label} ${why}`);
    const answer = result.value;
    const { max, evict } = this.limit;
    if (seated.length < max) {
      ensure(
        answer.inserted && answer.evicted.length === 0,
        () =>
          `${label} with ${seated.length} seated answered ${answer.inserted ? `evicted ${answer.evicted.map(name).join(', ')}` : 'inserted: false'}, want an insert evicting nothing`,
      );
    } else if (evict === 'refuse') {
      ensure(!answer.inserted, () => `${label} with ${seated.length} seated inserted`);
      const got = await store.get(id);
      ensure(got === null, () => `${label} refused, yet id${this.i} reads ${summary(got)}`);
      return;
    } else {
      ensure(answer.inserted, () => `${label} with ${seated.length} seated did not insert`);
      const evicted = answer.evicted;
      const want = seated.length - max + 1;
      ensure(
        evicted.length === want && new Set(evicted).size === want,
        () =>
          `${label} with ${seated.length} seated evicted [${evicted.map(name).join(', ')}], want ${want} distinct`,
      );
      const seatOf = (rid: string) => m.seats.get(rid) as Seat;
      const candidates = new Set(seated.map((r) => r.id));
      for (const e of evicted) {
        ensure(
          candidates.has(e),
          () => `${label} evicted ${name(e)}, which held no live seat of the subject`,
        );
      }
      const gone = new Set(evicted);
      for (const e of evicted) {
        const earlier = seated.find((r) => !gone.has(r.id) && seatOf(r.id).hi < seatOf(e).lo);
        ensure(
          earlier === undefined,
          () => `${label} evicted ${name(e)} while ${name(earlier!.id)}, seated earlier, stayed`,
        );
      }
      evicted.forEach((e, k) => {
        const prev = evicted[k - 1];
        ensure(
          prev === undefined || !(seatOf(e).hi < seatOf(prev).lo),
          () => `${label} listed evicted ${name(prev!)} before ${name(e)}, seated earlier`,
        );
      });
      for (const e of evicted) {
        const got = await store.get(e);
        ensure(got === null, () => `${label} evicted ${name(e)}, yet it reads ${summary(got)}`);
        m.drop(e);
      }
    }
    m.records.set(id, record);
    m.seats.set(id, { lo, hi });
  }
  toString = () =>
    `insertWithLimit(id${this.i}, ${shown(this.shape)}, max ${this.limit.max}, ${this.limit.evict})`;
}

class Get implements Cmd {
  constructor(readonly i: number) {}
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const id = ID_POOL[this.i]!;
    const actual = await store.get(id);
    const expected = m.live(id);
    if (expected) expectRecord(actual, expected, `get(id${this.i})`);
    else ensure(actual === null, () => `get(id${this.i}) must be null, got ${summary(actual)}`);
  }
  toString = () => `get(id${this.i})`;
}

/** The version a command expects: the model's (or 1 when absent), moved by `delta`. */
function expectedVersion(m: SessionModel, id: string, delta: number): number {
  return Math.max(1, (m.records.get(id)?.version ?? 1) + delta);
}

class Replace implements Cmd {
  constructor(
    readonly i: number,
    readonly delta: number,
    readonly shape: Shape,
  ) {}
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const id = ID_POOL[this.i]!;
    const expected = expectedVersion(m, id, this.delta);
    const current = m.live(id);
    const record = build(m, id, this.shape, expected + 1);
    const ok = await store.replace(record, expected);
    const should = current?.version === expected;
    ensure(
      ok === should,
      () => `replace(id${this.i}, expected v${expected}) returned ${String(ok)}, want ${should}`,
    );
    if (should) m.records.set(id, record);
  }
  toString = () =>
    `replace(id${this.i}, v${this.delta >= 0 ? '+' : ''}${this.delta}, ${shown(this.shape)})`;
}

class Rotate implements Cmd {
  constructor(
    readonly i: number,
    readonly delta: number,
    readonly oldShape: Shape,
    readonly n: number,
    readonly nextShape: Shape,
  ) {}
  check = () => this.i !== this.n;
  async run(m: SessionModel, store: SessionStore) {
    const id = ID_POOL[this.i]!;
    const nextId = ID_POOL[this.n]!;
    const expected = expectedVersion(m, id, this.delta);
    const current = m.live(id);
    const nextBefore = m.live(nextId);
    const oldRecord = build(m, id, this.oldShape, expected + 1);
    const next = build(m, nextId, this.nextShape, 1);
    const casOk = current?.version === expected;
    const result = await outcome(() =>
      store.rotate({ record: oldRecord, expectedVersion: expected }, next),
    );
    const label = `rotate(id${this.i} v${expected} -> id${this.n})`;
    if (nextBefore) {
      const conflict = !result.ok && hasCode(result.error, 'ERR_STORE_CONFLICT');
      const refused = result.ok && result.value === false;
      ensure(
        conflict || (!casOk && refused),
        () =>
          `${label} into a live id must throw StoreConflict${casOk ? '' : ' or return false'}, got ${
            result.ok ? String(result.value) : describeError(result.error)
          }`,
      );
      // Either way nothing may have changed.
      const after = await store.get(id);
      if (current) expectRecord(after, current, `${label} refused, yet the old record`);
      else
        ensure(
          after === null,
          () => `${label} refused, yet id${this.i} now reads ${summary(after)}`,
        );
      expectRecord(
        await store.get(nextId),
        nextBefore,
        `${label} refused, yet the live next record`,
      );
      return;
    }
    if (!result.ok) throw failure(`${label} threw`, result.error);
    ensure(
      result.value === casOk,
      () => `${label} returned ${String(result.value)}, want ${casOk}`,
    );
    if (casOk) {
      m.records.set(id, oldRecord);
      m.records.set(nextId, next);
      // next takes over old's seat and place; old stays live without one. The
      // contract does not say where a seat goes from a seatless old record or
      // into another subject, so the model stops checking seats there.
      const seat = m.seats.get(id);
      m.seats.delete(id);
      const known = seat !== undefined && next.subject === current?.subject;
      m.seats.set(nextId, known ? seat : 'unknown');
    }
  }
  toString = () =>
    `rotate(id${this.i}, v${this.delta >= 0 ? '+' : ''}${this.delta}, ${shown(this.oldShape)} -> id${this.n}, ${shown(this.nextShape)})`;
}

class Delete implements Cmd {
  constructor(readonly i: number) {}
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const id = ID_POOL[this.i]!;
    const live = m.live(id) !== undefined;
    const ok = await store.delete(id);
    ensure(ok === live, () => `delete(id${this.i}) returned ${String(ok)}, want ${live}`);
    if (live) m.drop(id);
  }
  toString = () => `delete(id${this.i})`;
}

class DeleteBySubject implements Cmd {
  constructor(readonly s: number) {}
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const subject = SUBJECT_POOL[this.s]!;
    const live = m.liveOfSubject(subject);
    const n = await store.deleteBySubject(subject);
    ensure(
      n === live.length,
      () => `deleteBySubject(subj${this.s}) returned ${String(n)}, want ${live.length}`,
    );
    for (const r of live) m.drop(r.id);
  }
  toString = () => `deleteBySubject(subj${this.s})`;
}

class ListBySubject implements Cmd {
  constructor(readonly s: number) {}
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const subject = SUBJECT_POOL[this.s]!;
    expectRecordSet(
      await store.listBySubject(subject),
      m.liveOfSubject(subject),
      `listBySubject(subj${this.s})`,
    );
  }
  toString = () => `listBySubject(subj${this.s})`;
}

class Scan implements Cmd {
  constructor(readonly limit: number) {}
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const all = await scanAll(store, this.limit);
    expectRecordSet(all, m.liveRecords(), `scan(limit ${this.limit})`);
  }
  toString = () => `scan(limit ${this.limit})`;
}

class Advance implements Cmd {
  constructor(readonly steps: number) {}
  check = () => true;
  async run(m: SessionModel) {
    await m.clock.until(m.clock.now() + this.steps * m.unit);
  }
  toString = () => `advanceTime(${this.steps} steps)`;
}

class Sweep implements Cmd {
  check = () => true;
  async run(m: SessionModel, store: SessionStore) {
    const dead = m.deadRecords();
    const n = await store.sweep!(m.clock.now());
    ensure(
      Number.isInteger(n) && n >= 0 && n <= dead.length,
      () =>
        `sweep(now) returned ${String(n)}; at most ${dead.length} expired record(s) could remain`,
    );
    for (const r of dead) m.drop(r.id);
    const again = await store.sweep!(m.clock.now());
    ensure(again === 0, () => `a second sweep(now) returned ${String(again)}, want 0`);
  }
  toString = () => 'sweep(now)';
}

/** Pages through the whole store with `limit`, checking each page's size. */
export async function scanAll(
  store: SessionStore,
  limit: number,
  from?: string,
  maxPages = 10_000,
): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  let cursor: string | undefined = from;
  for (let page = 0; page < maxPages; page++) {
    const result = await store.scan(cursor === undefined ? { limit } : { cursor, limit });
    ensure(Array.isArray(result.records), 'scan page has no records array');
    ensure(
      result.records.length <= limit,
      () => `scan page holds ${result.records.length} records, limit ${limit}`,
    );
    out.push(...result.records);
    if (result.cursor === undefined) return out;
    ensure(typeof result.cursor === 'string', 'scan cursor must be a string or undefined');
    cursor = result.cursor;
  }
  throw new ConformanceFailure(`scan did not finish within ${maxPages} pages`);
}

function failure(message: string, error: unknown): ConformanceFailure {
  return new ConformanceFailure(`${message}: ${describeError(error)}`, { cause: error });
}

/** The command arbitraries for a store; clock and sweep commands only where they apply. */
export function sessionCommands(opts: {
  virtualTime: boolean;
  sweep: boolean;
  limits?: boolean;
}): fc.Arbitrary<Cmd>[] {
  const id = fc.nat(ID_POOL.length - 1);
  const subject = fc.nat(SUBJECT_POOL.length - 1);
  const shape: fc.Arbitrary<Shape> = fc.record({
    subject,
    steps: fc.integer({ min: -1, max: 5 }),
    payload: fc.uint8Array({ maxLength: 48 }),
  });
  const delta = fc.constantFrom(0, 0, 0, 0, -1, 1);
  const arbs: fc.Arbitrary<Cmd>[] = [
    fc.tuple(id, shape).map(([i, s]) => new Insert(i, s)),
    fc.tuple(id, shape).map(([i, s]) => new Insert(i, s)),
    id.map((i) => new Get(i)),
    fc.tuple(id, delta, shape).map(([i, d, s]) => new Replace(i, d, s)),
    fc.tuple(id, delta, shape, id, shape).map(([i, d, s, n, t]) => new Rotate(i, d, s, n, t)),
    id.map((i) => new Delete(i)),
    subject.map((s) => new DeleteBySubject(s)),
    subject.map((s) => new ListBySubject(s)),
    fc.integer({ min: 1, max: 4 }).map((l) => new Scan(l)),
  ];
  if (opts.virtualTime) arbs.push(fc.integer({ min: 1, max: 3 }).map((k) => new Advance(k)));
  if (opts.sweep) arbs.push(fc.constant(new Sweep()));
  if (opts.limits) {
    // Live records only: core never inserts one already expired under a limit.
    const live: fc.Arbitrary<Shape> = fc.record({
      subject,
      steps: fc.integer({ min: 1, max: 5 }),
      payload: fc.uint8Array({ maxLength: 48 }),
    });
    const limit: fc.Arbitrary<SubjectLimit> = fc.record({
      max: fc.integer({ min: 1, max: 3 }),
      evict: fc.constantFrom('oldest' as const, 'refuse' as const),
    });
    const limited = fc.tuple(id, live, limit).map(([i, s, l]) => new InsertWithLimit(i, s, l));
    arbs.push(limited, limited);
  }
  return arbs;
}
