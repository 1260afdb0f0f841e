import {
  Closed,
  ConfigInvalid,
  InvalidArgument,
  type ScanOptions,
  type ScanPage,
  type SessionRecord,
  type SessionStore,
  StoreConflict,
  type StoreCapabilities,
} from '@cloakroom/core';
import pg, { type Pool, type PoolConfig } from 'pg';
import { type PostgresTableOptions, resolveTables } from './identifiers';
import { checkExpectedVersion, checkRecord, isStorableText, rowToRecord, toBytea } from './records';
import { sqlState } from './driver-errors';
import { createRunner } from './runner';
import { decodeCursor, encodeCursor } from './scan-cursor';
import { bind, sessionStatements } from './session-sql';

/**
 * Options for {@link createPostgresStore}. Give exactly one of `pool` and
 * `connectionString`; names are validated as for {@link PostgresTableOptions}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { pool, schema: 'auth', statementTimeoutMs: 2000 };
 * ```
 */
export interface PostgresStoreOptions extends PostgresTableOptions {
  /**
   * A node-postgres pool you created (with your TLS, `max`,
   * `connectionTimeoutMillis`...). The store never ends it. Give the pool an
   * `'error'` listener: pg emits idle-connection errors there.
   */
  readonly pool?: Pool;
  /**
   * Convenience: the store creates its own pool from this URL (with
   * `connectionTimeoutMillis` = `statementTimeoutMs`) and ends it on `close()`.
   */
  readonly connectionString?: string;
  /** Passed through to the pool the store creates from `connectionString` (TLS settings). */
  readonly ssl?: PoolConfig['ssl'];
  /**
   * Upper bound on one store call, in milliseconds: waiting for a pooled
   * connection plus running its statements. Past it the call throws
   * `StoreUnavailable` and the connection is discarded (which also rolls back
   * any open transaction on the server).
   * @default 5000
   */
  readonly statementTimeoutMs?: number;
  /**
   * Rows deleted per statement by `sweep`, so no statement holds many locks for long.
   * @default 1000
   */
  readonly sweepBatchSize?: number;
  /**
   * Epoch-ms clock deciding what has expired; pass the manager's clock so both agree.
   * @default Date.now
   */
  readonly clock?: () => number;
}

/**
 * A {@link SessionStore} over PostgreSQL, with `sweep` always present.
 *
 * @example
 * ```ts
 * const store: PostgresStore = createPostgresStore({ pool });
 * const removed = await store.sweep(Date.now());
 * ```
 */
export interface PostgresStore extends SessionStore {
  readonly name: 'postgres';
  /** Always declared: rows expire only logically, call `sweep`; several processes may share the table. */
  readonly capabilities: StoreCapabilities;
  sweep(now: number): Promise<number>;
}

const MAX_SCAN_PAGE = 1000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1)
    throw new ConfigInvalid(`${name} must be a positive integer`);
  return v;
}

/**
 * Creates a session store over a node-postgres pool. Run {@link migrate}
 * first (or apply {@link migrationSql}); the store does no DDL and works
 * under a role limited to SELECT, INSERT, UPDATE, DELETE on its tables.
 *
 * Edge behaviour: expiry is judged by `clock` (passed to SQL as a
 * parameter), so expired rows are never returned; `sweep` removes them in
 * batches. `rotate` is one statement (one transaction). Races come back as the
 * contract's answers (`false`, `StoreConflict`); connection failures and
 * timeouts as `StoreUnavailable` with the driver error as `cause`. Throws
 * `ConfigInvalid` for unsafe schema/table names or a missing pool.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { createPostgresStore, migrate } from '@cloakroom/store-postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 5000 });
 * pool.on('error', (err) => console.error('postgres idle client error', err.message));
 * await migrate(pool);
 * const store = createPostgresStore({ pool });
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  const tables = resolveTables(options);
  const timeoutMs = positiveInteger('statementTimeoutMs', options.statementTimeoutMs, 5000);
  const batchSize = positiveInteger('sweepBatchSize', options.sweepBatchSize, 1000);
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') throw new ConfigInvalid('clock must be a function');

  let pool: Pool;
  let ownsPool = false;
  if (options.pool && options.connectionString !== undefined) {
    throw new ConfigInvalid(
      'give createPostgresStore either a pool or a connectionString, not both',
    );
  }
  if (options.pool) {
    pool = options.pool;
  } else if (typeof options.connectionString === 'string' && options.connectionString !== '') {
    const config: PoolConfig = {
      connectionString: options.connectionString,
      connectionTimeoutMillis: timeoutMs,
    };
    if (options.ssl !== undefined) config.ssl = options.ssl;
    pool = new pg.Pool(config);
    // An idle connection dropping is reported here; the next call reconnects or throws StoreUnavailable.
    pool.on('error', () => {});
    ownsPool = true;
  } else {
    throw new ConfigInvalid('createPostgresStore needs a pool or a connectionString');
  }

  const runner = createRunner(pool, timeoutMs);
  const sql = sessionStatements(tables.sessionsSql);
  let closing: Promise<void> | undefined;
  const now = () => {
    const at = clock();
    // A NaN would reach SQL as text and fail there; name the real culprit instead.
    if (!Number.isFinite(at)) throw new ConfigInvalid('clock returned a non-finite time');
    return Math.floor(at);
  };
  const open = () => {
    if (closing) throw new Closed('the postgres store is closed');
  };

  return {
    name: 'postgres',
    capabilities: Object.freeze({ nativeExpiry: false, shared: true }),

    async insert(record) {
      open();
      checkRecord(record, 'record');
      const written = await runner.run((c) =>
        c.query(bind(sql.insert, insertValues(record, now()))),
      );
      if (written.rowCount !== 1)
        throw new StoreConflict('a live record with this id already exists');
    },

    async get(id) {
      open();
      if (!isStorableText(id)) return null;
      const result = await runner.run((c) => c.query(bind(sql.get, [id, now()])));
      const row = result.rows[0];
      return row ? rowToRecord(row) : null;
    },

    async replace(record, expectedVersion) {
      open();
      checkRecord(record, 'record');
      if (!checkExpectedVersion(expectedVersion)) return false;
      const result = await runner.run((c) =>
        c.query(bind(sql.replace, replaceValues(record, expectedVersion, now()))),
      );
      return result.rowCount === 1;
    },

    async rotate(old, next) {
      open();
      if (old === null || typeof old !== 'object')
        throw new InvalidArgument('old must be an object');
      checkRecord(old.record, 'old.record');
      checkRecord(next, 'next');
      if (!checkExpectedVersion(old.expectedVersion)) return false;
      if (next.id === old.record.id) {
        // Rotating a record onto its own id: the swap would succeed and the
        // insert then meet the live row it just wrote, so the answer is a
        // conflict when the swap could happen and `false` otherwise; nothing changes.
        const live = await runner.run((c) =>
          c.query(bind(sql.liveAt, [old.record.id, old.expectedVersion, now()])),
        );
        if (live.rowCount === 1)
          throw new StoreConflict('a live record with the next id already exists');
        return false;
      }
      return runner.run(async (c) => {
        const at = now();
        const values = replaceValues(old.record, old.expectedVersion, at);
        values.push(next.id, next.subject, next.expiresAt, next.version, toBytea(next.payload));
        try {
          const result = await c.query(bind(sql.rotate, values));
          return result.rows[0]?.rotated === 1;
        } catch (err) {
          // The statement's own signal: swapped, but a live row holds next.id (all rolled back).
          if (sqlState(err) === '22012')
            throw new StoreConflict('a live record with the next id already exists');
          throw err;
        }
      });
    },

    async delete(id) {
      open();
      if (!isStorableText(id)) return false;
      const result = await runner.run((c) => c.query(bind(sql.delete, [id, now()])));
      return (result.rows[0]?.n ?? 0) > 0;
    },

    async deleteBySubject(subject) {
      open();
      if (!isStorableText(subject)) return 0;
      const result = await runner.run((c) => c.query(bind(sql.deleteBySubject, [subject, now()])));
      return Number(result.rows[0]?.n ?? 0);
    },

    async listBySubject(subject) {
      open();
      if (!isStorableText(subject)) return [];
      const result = await runner.run((c) => c.query(bind(sql.listBySubject, [subject, now()])));
      return result.rows.map(rowToRecord);
    },

    async scan(scanOptions: ScanOptions): Promise<ScanPage> {
      open();
      const limit = scanOptions?.limit;
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new InvalidArgument('scan limit must be a positive integer');
      }
      const pageSize = Math.min(limit, MAX_SCAN_PAGE);
      const after = scanOptions.cursor === undefined ? undefined : decodeCursor(scanOptions.cursor);
      const result = await runner.run((c) =>
        c.query(
          after === undefined
            ? bind(sql.scanFirst, [now(), pageSize])
            : bind(sql.scanAfter, [after, now(), pageSize]),
        ),
      );
      const records = result.rows.map(rowToRecord);
      const last = records[records.length - 1];
      // A full page may be followed by more rows; a short one means the end.
      return records.length === pageSize && last
        ? { records, cursor: encodeCursor(last.id) }
        : { records };
    },

    async sweep(at) {
      open();
      if (!Number.isFinite(at)) throw new InvalidArgument('sweep needs a finite epoch-ms time');
      const cutoff = Math.floor(at);
      let removed = 0;
      // One short statement per batch (each its own transaction), so locks are held briefly.
      for (;;) {
        const result = await runner.run((c) => c.query(bind(sql.sweep, [cutoff, batchSize])));
        const count = result.rowCount ?? 0;
        removed += count;
        if (count < batchSize) return removed;
      }
    },

    close() {
      closing ??= ownsPool ? pool.end() : Promise.resolve();
      return closing;
    },
  };
}

function insertValues(record: SessionRecord, at: number): unknown[] {
  return [record.id, record.subject, record.expiresAt, record.version, toBytea(record.payload), at];
}

function replaceValues(record: SessionRecord, expectedVersion: number, at: number): unknown[] {
  return [
    record.id,
    expectedVersion,
    record.subject,
    record.expiresAt,
    record.version,
    toBytea(record.payload),
    at,
  ];
}
