// `insertWithLimit` of the PostgreSQL store: the per-subject seat limit as
// one transaction on one pooled connection. Internal; session-store.ts
// checks the arguments and hands over the record's statement parameters.
import {
  type LimitedInsert,
  StoreConflict,
  StoreUnavailable,
  type SubjectLimit,
} from '@cloakroom/core';
import type { PoolClient } from 'pg';
import type { RecordParams } from './codec';
import { bind, type seatStatements } from './postgres/sql';

/**
 * How often the eviction step may come up short before the call gives up:
 * only a concurrent `rotate` or `replace` of a record being evicted makes it
 * run again, so more than a couple of passes means a pathological workload.
 */
const MAX_PASSES = 8;

/** The advisory-lock key of one subject of one table (hashed to 64 bits by the server). */
export function seatLockKey(tableSql: string, subject: string): string {
  return `cloakroom seat ${tableSql} ${subject}`;
}

/**
 * The transaction, on a connection the runner checked out:
 *
 * 1. `BEGIN` at READ COMMITTED whatever the database's default (at
 *    REPEATABLE READ the snapshot would date from the lock statement, before
 *    the previous holder committed), then the subject's advisory lock (its
 *    own statement, so every later statement's snapshot includes the commits
 *    of the calls that held it before);
 * 2. `check`: a live row holding the id ends it with `StoreConflict`; no
 *    excess inserts; excess with `'refuse'` ends it with `{ inserted: false }`;
 * 3. `evict` the excess, earliest seat first. A row a concurrent `rotate`
 *    unseated in the meantime is left (its successor now holds that seat),
 *    so when fewer rows went than asked, `check` runs again; rotate and
 *    replace move seats without the lock, but each commits atomically, so a
 *    fresh snapshot always counts the subject right;
 * 4. `insert` with a seat after the subject's others; no row means a live
 *    row took the id since step 2 (a plain insert): `StoreConflict`.
 *
 * Any answer other than an insert rolls back, so nothing is evicted unless
 * the record was written. Throwing rolls back too, which the runner's retry
 * on deadlock or serialization failure requires.
 */
export async function insertSeated(
  c: PoolClient,
  sql: ReturnType<typeof seatStatements>,
  lockKey: string,
  params: RecordParams,
  limit: SubjectLimit,
  now: number,
): Promise<LimitedInsert> {
  const [id, subject] = params;
  await c.query('BEGIN ISOLATION LEVEL READ COMMITTED');
  try {
    await c.query(bind(sql.lock, [lockKey]));
    const evicted: { id: string; seat: bigint }[] = [];
    for (let pass = 1; ; pass += 1) {
      const check = await c.query(bind(sql.check, [id, now, subject, limit.max]));
      const row = check.rows[0] as { taken: boolean; excess: string[] };
      if (row.taken) throw new StoreConflict('a live record with this id already exists');
      if (row.excess.length === 0) break;
      if (limit.evict === 'refuse') {
        await c.query('ROLLBACK');
        return { inserted: false };
      }
      if (pass > MAX_PASSES) {
        throw new StoreUnavailable('the subject kept changing while making room; try again');
      }
      const gone = await c.query(bind(sql.evict, [row.excess, subject, now]));
      for (const r of gone.rows as { id: string; seat: string }[]) {
        evicted.push({ id: r.id, seat: BigInt(r.seat) });
      }
      if (gone.rows.length === row.excess.length) break;
    }
    const written = await c.query(bind(sql.insert, [...params, now]));
    if (written.rowCount !== 1)
      throw new StoreConflict('a live record with this id already exists');
    await c.query('COMMIT');
    // Passes evict in seat order each; a later pass may free an earlier seat (one a rotate handed on).
    evicted.sort((a, b) => (a.seat < b.seat ? -1 : a.seat > b.seat ? 1 : a.id < b.id ? -1 : 1));
    return { inserted: true, evicted: evicted.map((e) => e.id) };
  } catch (err) {
    // A broken connection fails this too; the runner then discards it, which ends the transaction.
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
