// `insertWithLimit` of the filesystem store: which record locks to take so
// that a subject's seats stay still, then count, evict and insert under them.
// Called holding the subject's lock. Internal.
import type { LimitedInsert, SessionRecord, SubjectLimit } from '@cloakroom/core';
import { StoreConflict, StoreUnavailable } from '@cloakroom/core';
import { corruptRecord } from '../errors';
import { seatStamp } from '../seat';
import { NotCreated, type RecordFiles, type RecordState } from './record-files';
import { settled } from './settled';

/**
 * How many times `insertWithLimit` re-takes its record locks when the
 * subject's index grew while it took them (a `rotate` or `insert` landing at
 * that moment) before giving up with `StoreUnavailable`.
 */
const LIMIT_ATTEMPTS = 16;
/**
 * How long `insertWithLimit` waits for a record lock it takes out of order
 * (a successor that a rotate made while it was taking the others): long
 * enough for a rotate in flight to finish, short enough that a cycle of
 * waiters breaks quickly.
 */
const LATE_LOCK_WAIT_MS = 250;
/** How many record files `insertWithLimit` reads at once while counting a subject's seats. */
const READ_BATCH = 64;

/** What the limited insert needs from the store. */
export interface SubjectLimitDeps {
  readonly files: RecordFiles;
  readonly clock: () => number;
  /** The ids in a subject's index (possibly ghosts, moved or expired records). */
  readonly indexed: (subject: string) => Promise<string[]>;
  /** Remove a record and its marker, under its lock. */
  readonly removeLocked: (id: string, state: RecordState, held: readonly string[]) => Promise<void>;
}

/**
 * `insertWithLimit`, run holding the subject's lock: takes the lock of the
 * new record's id and of every record that holds or may take a seat of the
 * subject, then counts, evicts and inserts ({@link limitedInsert}).
 */
export async function insertUnderSubjectLock(
  deps: SubjectLimitDeps,
  record: SessionRecord,
  limit: SubjectLimit,
): Promise<LimitedInsert> {
  const { files, clock, indexed } = deps;
  const { subject } = record;
  /*
   * Which records must be locked. A seat enters this subject by a
   * limited insert (they hold the subject lock, so one at a time),
   * by a rotate handing a seated record's seat to its successor, or
   * as a new seat no limited insert takes: a plain insert, the
   * rotate of a record without one, a record moving here from
   * another subject. Only the hand-over keeps the count while it
   * moves the seat, so the records to hold still are the seated
   * ones, and those that may yet become seated by a rotate in
   * flight: a successor not committed yet, or an indexed id with no
   * file yet (the marker is made first). A record seen expired,
   * live without a seat (a rotated-away forwarder), of another
   * subject or corrupt hands on no seat, so it is read once, not
   * locked: forwarders pile up during their grace window, and every
   * lock costs three system calls.
   */
  const passed = new Set<string>();
  const needed = async (candidates: readonly string[]): Promise<string[]> => {
    const now = clock();
    const states = await Promise.all(candidates.map((id) => files.state(id, now)));
    return candidates.filter((id, k) => {
      const state = states[k]!;
      const relevant =
        state.kind === 'missing' ||
        state.kind === 'orphan' ||
        (state.kind === 'live' &&
          state.stored.seat !== undefined &&
          state.stored.record.subject === subject);
      if (!relevant) passed.add(id);
      return relevant;
    });
  };
  const fresh = async (known: ReadonlySet<string>): Promise<string[]> => {
    const listed = (await indexed(subject)).filter((id) => !known.has(id) && !passed.has(id));
    const out: string[] = [];
    for (let i = 0; i < listed.length; i += READ_BATCH) {
      out.push(...(await needed(listed.slice(i, i + READ_BATCH))));
    }
    return out;
  };
  const ids = new Set([record.id]);
  for (const id of await fresh(ids)) ids.add(id);
  for (let attempt = 0; attempt < LIMIT_ATTEMPTS; attempt++) {
    const outcome = await files.locks.withLocks([...ids], async () => {
      const extra: (() => Promise<void>)[] = [];
      const held = new Set(ids);
      try {
        for (let round = 0; round < LIMIT_ATTEMPTS; round++) {
          // A record's marker is made before the record is written,
          // and a seat moves (rotate, replace) only under its
          // record's lock. So once these are locked, an index read
          // that lists nothing new to lock means every record that
          // holds or may take a seat of this subject is locked
          // here. A rotate that finished while the locks were
          // being taken may have added its successor: lock it
          // too, waiting only briefly (out of order).
          const grown = await fresh(held);
          // `return await`: the extra locks are released (finally) only once it is done.
          if (grown.length === 0) return await limitedInsert(deps, record, limit, [...held]);
          const release = await files.locks.tryLocks(grown, LATE_LOCK_WAIT_MS);
          // Still held elsewhere: start again, taking every lock in order.
          if (release === null) return [...held, ...grown];
          extra.push(release);
          for (const id of grown) held.add(id);
        }
        return [...held];
      } finally {
        await settled(extra.map((release) => release()));
      }
    });
    if (!Array.isArray(outcome)) return outcome;
    for (const id of outcome) ids.add(id);
  }
  throw new StoreUnavailable(
    `fs store: insertWithLimit gave up after ${LIMIT_ATTEMPTS} attempts: the subject's index kept growing`,
  );
}

/**
 * The body of `insertWithLimit`, run holding the subject's lock and the
 * lock of every id in `held`: the new record's, and every record in the
 * subject's index (checked after taking them). No seat of this subject
 * can come or go meanwhile but by expiry (a record's seat moves only under
 * its lock), so what is counted here stays true until the insert lands.
 */
async function limitedInsert(
  deps: SubjectLimitDeps,
  record: SessionRecord,
  limit: SubjectLimit,
  held: readonly string[],
): Promise<LimitedInsert> {
  const { files, clock, removeLocked } = deps;
  const now = clock();
  const own = await files.state(record.id, now, true);
  if (own.kind === 'invalid') throw corruptRecord(record.id);
  if (own.kind === 'live') throw new StoreConflict('fs store: a live record with this id exists');
  const seats: { id: string; seat: number; state: RecordState }[] = [];
  const others = held.filter((id) => id !== record.id);
  for (let i = 0; i < others.length; i += READ_BATCH) {
    const batch = others.slice(i, i + READ_BATCH);
    const states = await Promise.all(batch.map((id) => files.state(id, now, true)));
    states.forEach((state, k) => {
      // A corrupt file is counted as nothing and never evicted (left to `get`/`delete`, as in `listBySubject`).
      if (state.kind !== 'live') return;
      const { seat, record: found } = state.stored;
      if (seat !== undefined && found.subject === record.subject) {
        seats.push({ id: batch[k]!, seat, state });
      }
    });
  }
  // A record already dead on arrival is accepted, as `insert` accepts it, but never counts: it evicts nothing.
  const excess = now >= record.expiresAt ? 0 : seats.length - limit.max + 1;
  if (excess > 0 && limit.evict === 'refuse') return { inserted: false };
  seats.sort((a, b) => a.seat - b.seat || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const victims = excess > 0 ? seats.slice(0, excess) : [];
  const latest = seats.reduce((most, s) => Math.max(most, s.seat), -1);
  // Evictions are deleted durably (each `remove` fsyncs its directory)
  // before the new record's rename: a crash at any point leaves at most
  // `max` seats, and the new record exists only once the call can answer.
  // Its temp file and index marker are written meanwhile.
  const temp = files.prepare({ record, seat: seatStamp(latest) });
  try {
    await settled([
      files.addMarker(record.subject, record.id),
      own.kind === 'missing' ? undefined : files.settleSuccessor(own.stored, held),
      temp,
      ...victims.map((v) => removeLocked(v.id, v.state, held)),
    ]);
  } catch (err) {
    await files.discard([temp]);
    throw err;
  }
  try {
    // Where the id has no file, an insert without the lock may make one
    // meanwhile (a same-id race: ids are random). The evictions stand; they
    // made room this insert no longer takes.
    await files.commit(await temp, own.kind === 'missing');
  } catch (err) {
    if (err instanceof NotCreated)
      throw new StoreConflict('fs store: a live record with this id exists');
    throw err;
  }
  if (own.kind !== 'missing' && own.stored.record.subject !== record.subject) {
    await files.removeMarker(own.stored.record.subject, record.id);
  }
  return { inserted: true, evicted: victims.map((v) => v.id) };
}
