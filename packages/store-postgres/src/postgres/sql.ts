import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';

/** A named (prepared once per connection) statement. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/**
 * Names a statement after a hash of its text: pg prepares each name once per
 * connection, and two stores over different tables never share a name.
 */
export function statement(text: string): Statement {
  return {
    name: `cloakroom_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`,
    text,
  };
}

/**
 * A query config for the driver: the statement plus its parameters. `values`
 * is handed over as is (every caller builds a fresh array).
 */
export function bind(stmt: Statement, values: unknown[]): QueryConfig {
  return { name: stmt.name, text: stmt.text, values };
}

const COLUMNS = 'id, subject, expires_at, version, payload';

/**
 * A fresh seat: the server's clock in microseconds (one clock for every
 * writer, whatever the application hosts' clocks say). Written explicitly by
 * this release's `insert`, `insertWithLimit` and `rotate`; the column has no
 * default (migration 3), so rows from before the migration and rows an older
 * release still inserts hold no seat: the store cannot tell their forwarders
 * from their sessions, and a forwarder must never take a user's seat. Not a
 * sequence: `nextval` would need a grant the least-privilege role of an
 * existing deployment does not hold.
 */
const SEAT_NOW = '(extract(epoch FROM clock_timestamp()) * 1000000)::int8';

/**
 * A fresh seat after every seat the subject (the parameter `subject`) holds:
 * the server's clock, or one past the subject's latest seat when that is
 * later, so a clock stepping back cannot seat a record before older ones.
 */
function seatAfter(table: string, subject: string): string {
  return `GREATEST(${SEAT_NOW}, (SELECT max(seat) + 1 FROM ${table} WHERE subject = ${subject}))`;
}

/**
 * Every statement the session store runs. Time is always the store's clock
 * passed as a parameter (never the server's `now()`), so the manager and the
 * store agree on what has expired.
 */
/**
 * The writes of a table from before migration 3 (no `seat` column), used
 * when the seated statements fail with SQLSTATE 42703 (undefined column): a
 * release that finds its table not yet migrated keeps serving sign-ins and
 * refreshes, and its rows hold no seat, like an older release's. Only
 * `insertWithLimit` needs the migration. Same parameters as the seated
 * statements of the same name.
 */
export function seatlessStatements(table: string) {
  return {
    insert: statement(
      `INSERT INTO ${table} (${COLUMNS}) VALUES ($1, $2, $3::int8, $4::int4, $5::bytea)`,
    ),
    insertOverExpired: statement(
      `UPDATE ${table} SET subject = $2, expires_at = $3::int8, version = $4::int4,` +
        ' payload = $5::bytea WHERE id = $1 AND expires_at <= $6::int8',
    ),
    rotate: statement(
      `WITH swapped AS (UPDATE ${table} SET subject = $3, expires_at = $4::int8,` +
        ' version = $5::int4, payload = $6::bytea' +
        ' WHERE id = $1 AND version = $2::int4 AND expires_at > $7::int8 RETURNING 1),' +
        ` inserted AS (INSERT INTO ${table} AS s (${COLUMNS})` +
        ' SELECT $8::text, $9::text, $10::int8, $11::int4, $12::bytea FROM swapped' +
        ' ON CONFLICT (id) DO UPDATE SET subject = EXCLUDED.subject,' +
        ' expires_at = EXCLUDED.expires_at, version = EXCLUDED.version, payload = EXCLUDED.payload' +
        ' WHERE s.expires_at <= $7::int8 RETURNING 1)' +
        ' SELECT ((SELECT count(*) FROM swapped)' +
        ' / ((SELECT count(*) FROM inserted) - (SELECT count(*) FROM swapped) + 1))::int4 AS rotated',
    ),
  };
}

export function sessionStatements(table: string) {
  return {
    /** $1 id, $2 now */
    get: statement(`SELECT ${COLUMNS} FROM ${table} WHERE id = $1 AND expires_at > $2::int8`),
    /**
     * $1 id, $2 subject, $3 expiresAt, $4 version, $5 payload. A plain
     * INSERT, as cheap as the floor's: no speculative insertion (`ON
     * CONFLICT`), no read, and no UPDATE trigger fired. An id already
     * present fails with 23505; the store then tries {@link insertOverExpired}.
     * The seat is the server's clock as is, without `insertWithLimit`'s floor
     * (that needs a read of the subject's rows): after the server's clock
     * steps back, a plain insert may sit before seats taken just before the
     * step. The count is never wrong; only an `'oldest'` eviction may pick it
     * early (see the README, "Per-subject limits").
     */
    insert: statement(
      `INSERT INTO ${table} (${COLUMNS}, seat)` +
        ` VALUES ($1, $2, $3::int8, $4::int4, $5::bytea, ${SEAT_NOW})`,
    ),
    /**
     * $1 id, $2 subject, $3 expiresAt, $4 version, $5 payload, $6 now: takes
     * the place of a dead row with this id. One row when written, none when
     * the row is live (a conflict) or gone (the id was freed meanwhile: also
     * reported as a conflict, as if the insert had come first). The
     * record takes a fresh seat, as a new row would.
     */
    insertOverExpired: statement(
      `UPDATE ${table} SET subject = $2, expires_at = $3::int8, version = $4::int4,` +
        ` payload = $5::bytea, seat = ${SEAT_NOW} WHERE id = $1 AND expires_at <= $6::int8`,
    ),
    /** $1 id, $2 expectedVersion, $3 subject, $4 expiresAt, $5 version, $6 payload, $7 now. */
    replace: statement(
      `UPDATE ${table} SET subject = $3, expires_at = $4::int8, version = $5::int4,` +
        ' payload = $6::bytea WHERE id = $1 AND version = $2::int4 AND expires_at > $7::int8',
    ),
    /**
     * The whole of `rotate` as one statement (one round trip, its own
     * transaction): $1 old id, $2 expectedVersion, $3 subject, $4 expiresAt,
     * $5 version, $6 payload (the old record's new state), $7 now, $8 next
     * id, $9 subject, $10 expiresAt, $11 version, $12 payload.
     * The swap is a compare-and-swap on the old row; the next row is
     * inserted only when the swap happened (over an expired row, never a
     * live one). `rotated` is 0 when the swap did not happen and 1 when
     * both did. When the swap happened but a live row holds the next id,
     * the division by zero (SQLSTATE 22012) aborts the statement, so the
     * swap is rolled back with it: the caller reports `StoreConflict`.
     * Never call it with the same id twice (checked before).
     *
     * Seats: the next row takes the old row's seat (its value, so its
     * place in the order) and the old row gives it up (`seat` NULL), in the
     * same commit, so a reader never sees the subject's seated count
     * change. The old seat is read in the statement's snapshot (all parts of
     * one statement share it), i.e. before the swap. When the old row holds
     * no seat (a row from before migration 3 or from an older release, or a
     * forwarder), the next row takes a fresh one after every seat of its
     * subject, as `insertWithLimit` does: so a legacy session joins the count
     * at its next refresh and no live record escapes the count by rotation.
     * (`COALESCE` evaluates that read only when the old seat is NULL.)
     */
    rotate: statement(
      `WITH swapped AS (UPDATE ${table} SET subject = $3, expires_at = $4::int8,` +
        ' version = $5::int4, payload = $6::bytea, seat = NULL' +
        ' WHERE id = $1 AND version = $2::int4 AND expires_at > $7::int8 RETURNING 1),' +
        ` inserted AS (INSERT INTO ${table} AS s (${COLUMNS}, seat)` +
        ' SELECT $8::text, $9::text, $10::int8, $11::int4, $12::bytea,' +
        ` COALESCE((SELECT seat FROM ${table} WHERE id = $1), ${seatAfter(table, '$9')}) FROM swapped` +
        ' ON CONFLICT (id) DO UPDATE SET subject = EXCLUDED.subject,' +
        ' expires_at = EXCLUDED.expires_at, version = EXCLUDED.version, payload = EXCLUDED.payload,' +
        ' seat = EXCLUDED.seat WHERE s.expires_at <= $7::int8 RETURNING 1)' +
        ' SELECT ((SELECT count(*) FROM swapped)' +
        ' / ((SELECT count(*) FROM inserted) - (SELECT count(*) FROM swapped) + 1))::int4 AS rotated',
    ),
    /** $1 id, $2 expectedVersion, $3 now. A row when the record is live at that version. */
    liveAt: statement(
      `SELECT 1 AS live FROM ${table} WHERE id = $1 AND version = $2::int4 AND expires_at > $3::int8`,
    ),
    /** $1 id, $2 now. Also removes an expired row, but counts only a live one. */
    delete: statement(
      `WITH d AS (DELETE FROM ${table} WHERE id = $1 RETURNING expires_at)` +
        ' SELECT count(*) FILTER (WHERE expires_at > $2::int8)::int4 AS n FROM d',
    ),
    /** $1 subject, $2 now. */
    deleteBySubject: statement(
      `WITH d AS (DELETE FROM ${table} WHERE subject = $1 RETURNING expires_at)` +
        ' SELECT count(*) FILTER (WHERE expires_at > $2::int8)::int4 AS n FROM d',
    ),
    /** $1 subject, $2 now. */
    listBySubject: statement(
      `SELECT ${COLUMNS} FROM ${table} WHERE subject = $1 AND expires_at > $2::int8`,
    ),
    /** $1 now, $2 limit. Keyset pagination on the primary key. */
    scanFirst: statement(
      `SELECT ${COLUMNS} FROM ${table} WHERE expires_at > $1::int8 ORDER BY id LIMIT $2::int4`,
    ),
    /** $1 after id, $2 now, $3 limit. */
    scanAfter: statement(
      `SELECT ${COLUMNS} FROM ${table} WHERE id > $1 AND expires_at > $2::int8` +
        ' ORDER BY id LIMIT $3::int4',
    ),
    /**
     * $1 now, $2 batch size. Rows locked by a writer are skipped, not waited
     * for; the outer test keeps a row an insert just revived.
     */
    sweep: statement(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE expires_at <= $1::int8` +
        ' LIMIT $2::int4 FOR UPDATE SKIP LOCKED) AND expires_at <= $1::int8',
    ),
  };
}

/**
 * The statements of `insertWithLimit`, run in one transaction on one
 * connection after {@link seatStatements}' `lock` (see seats.ts). A seated
 * row is one whose `seat` is not NULL; it counts while `expires_at` is past
 * the store's clock.
 */
export function seatStatements(table: string) {
  return {
    /**
     * $1 lock key text. Serialises `insertWithLimit` per subject across every
     * connection and process: a transaction-scoped advisory lock on a 64-bit
     * hash of table and subject (two subjects sharing a hash only queue).
     * Its own statement: under READ COMMITTED the next statement's snapshot
     * is taken once the lock is held, so it sees every earlier holder's commit.
     */
    lock: statement('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))'),
    /**
     * $1 id, $2 now, $3 subject, $4 max. One row: `taken` when a live row
     * holds the id; `excess` the ids of the seated live rows of the subject
     * that must go for one seat to be free, earliest seat first (ties by id),
     * empty when a seat is free already.
     */
    check: statement(
      `SELECT EXISTS (SELECT 1 FROM ${table} WHERE id = $1 AND expires_at > $2::int8) AS taken,` +
        ' ARRAY(SELECT id FROM (SELECT id, count(*) OVER () AS n,' +
        ' row_number() OVER (ORDER BY seat, id) AS r' +
        ` FROM ${table} WHERE subject = $3 AND seat IS NOT NULL AND expires_at > $2::int8) AS s` +
        ' WHERE r <= n - $4::int4 + 1 ORDER BY r) AS excess',
    ),
    /**
     * $1 ids, $2 subject, $3 now. Deletes those rows that are still seated,
     * live and of this subject (re-checked on the latest row version, so a
     * row a concurrent `rotate` has just unseated stays), earliest seat
     * first. Fires the DELETE trigger like any delete (SEC-32).
     */
    evict: statement(
      `WITH d AS (DELETE FROM ${table} WHERE id = ANY($1::text[]) AND subject = $2` +
        ' AND seat IS NOT NULL AND expires_at > $3::int8 RETURNING id, seat)' +
        ' SELECT id, seat::text AS seat FROM d ORDER BY d.seat, id',
    ),
    /**
     * $1 id, $2 subject, $3 expiresAt, $4 version, $5 payload, $6 now.
     * Inserts with a seat after every seat the subject holds (so a clock
     * stepping back cannot seat it earlier), or takes the place of a dead
     * row with this id. One row when written, none when a live row holds it.
     */
    insert: statement(
      `INSERT INTO ${table} AS s (${COLUMNS}, seat)` +
        ` VALUES ($1, $2, $3::int8, $4::int4, $5::bytea, ${seatAfter(table, '$2')})` +
        ' ON CONFLICT (id) DO UPDATE SET subject = EXCLUDED.subject,' +
        ' expires_at = EXCLUDED.expires_at, version = EXCLUDED.version, payload = EXCLUDED.payload,' +
        ' seat = EXCLUDED.seat WHERE s.expires_at <= $6::int8 RETURNING 1 AS written',
    ),
  };
}

/** Every statement the key-set store runs. */
export function keySetStatements(table: string) {
  return {
    /** $1 name. */
    read: statement(`SELECT version, document FROM ${table} WHERE name = $1`),
    /** $1 name, $2 document. One row when created, none when the name exists. */
    create: statement(
      `INSERT INTO ${table} (name, version, document) VALUES ($1, 1, $2::bytea)` +
        ' ON CONFLICT (name) DO NOTHING',
    ),
    /** $1 name, $2 document, $3 expectedVersion. One row when swapped. */
    swap: statement(
      `UPDATE ${table} SET version = version + 1, document = $2::bytea` +
        ' WHERE name = $1 AND version = $3::int4',
    ),
  };
}
