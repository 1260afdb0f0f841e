import {
  assertRecordVersion,
  assertSessionRecord,
  assertSubjectLimit,
  Closed,
  ConfigInvalid,
  InvalidArgument,
  isStoreKey,
  type InvalidationChannel,
  type InvalidationListener,
  type LimitedInsert,
  type ScanOptions,
  type ScanPage,
  type SessionStore,
  StoreConflict,
  type StoreCapabilities,
  type SessionRecord,
  type SubjectLimit,
} from '@cloakroom/core';
import pg, { type ClientConfig, type Pool, type PoolConfig } from 'pg';
import { MAX_INT4, type RecordParams, recordParams, rowToRecord } from './codec';
import { sqlState } from './errors';
import { openInvalidationChannel } from './invalidation-channel';
import { type PostgresStoreOptions, resolvePostgresStoreOptions } from './options';
import { createRunner } from './postgres/runner';
import { bind, seatStatements, seatlessStatements, sessionStatements } from './postgres/sql';
import { insertSeated, seatLockKey } from './seats';
import { decodeCursor, encodeCursor } from './scan-cursor';

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
  /**
   * Always present: `insert` under a per-subject seat limit, as one
   * transaction serialised per subject by an advisory lock, so it holds
   * across every pool and process sharing the table. Needs migration 3 (the
   * `seat` column); on an older table it throws `StoreUnavailable` naming
   * `migrate()`. See the README, "Per-subject limits".
   *
   * @example
   * ```ts
   * const { inserted, evicted } = await store.insertWithLimit(record, { max: 5, evict: 'oldest' });
   * ```
   */
  insertWithLimit(record: SessionRecord, limit: SubjectLimit): Promise<LimitedInsert>;
  /**
   * The invalidation channel for a near cache (SEC-32), over LISTEN/NOTIFY:
   * opens one dedicated connection per call (never a pooled one, even when
   * you passed a pool), resolves once live. Needs the triggers that
   * `migrate(pool, { invalidationTriggers: true })` installs; without them
   * it throws `StoreUnavailable`, and a channel whose triggers disappear
   * stops being live. See the README, "Near cache".
   *
   * @example
   * ```ts
   * const cloakroom = createCloakroom({ store, keys, issuer, audience, nearCache: true }); // calls watch()
   * ```
   */
  watch(listener: InvalidationListener): Promise<InvalidationChannel>;
}

const MAX_SCAN_PAGE = 1000;

/**
 * Creates a session store over a node-postgres pool. Run {@link migrate}
 * first (or apply {@link migrationSql}); the store does no DDL and works
 * under a role limited to SELECT, INSERT, UPDATE, DELETE on its tables.
 *
 * Edge behaviour: expiry is judged by `clock` (passed to SQL as a
 * parameter), so expired rows are never returned; `sweep` removes them in
 * batches. `rotate` is one statement (one transaction);
 * `insertWithLimit` one short transaction behind a per-subject advisory
 * lock (needs migration 3). Races come back as the
 * contract's answers (`false`, `StoreConflict`); connection failures and
 * timeouts as `StoreUnavailable` with the driver error as `cause`. A
 * malformed record, `expectedVersion`, scan `limit` or cursor throws
 * `InvalidArgument` (core's checks); an id or subject index that is not 43
 * characters of `[A-Za-z0-9_-]` reads as missing without a query. Payloads
 * are copied when a method is called. After `close()` every method but
 * `close()` throws `Closed`. Throws `ConfigInvalid` for unsafe schema/table
 * names or a missing pool.
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
  const { tables, source, timeoutMs, batchSize, clock, boundMs, listenConnection } =
    resolvePostgresStoreOptions(options);

  let pool: Pool;
  let ownsPool = false;
  if ('pool' in source) {
    pool = source.pool;
  } else {
    const config: PoolConfig = {
      connectionString: source.connectionString,
      connectionTimeoutMillis: timeoutMs,
    };
    if (source.ssl !== undefined) config.ssl = source.ssl;
    pool = new pg.Pool(config);
    // An idle connection dropping is reported here; the next call reconnects or throws StoreUnavailable.
    pool.on('error', () => {});
    ownsPool = true;
  }

  // The LISTEN connection's settings: given, or the pool's own. The pool's
  // options object is passed as is (not copied): pg keeps the password and
  // TLS key on it as non-enumerable properties, which a spread would drop.
  const listenConfig: ClientConfig =
    listenConnection ??
    ('pool' in source
      ? source.pool.options
      : { connectionString: source.connectionString, ssl: source.ssl });
  const channels = new Set<InvalidationChannel>();

  const runner = createRunner(pool, timeoutMs);
  const sql = sessionStatements(tables.sessionsSql);
  const seatless = seatlessStatements(tables.sessionsSql);
  /** SQLSTATE 42703: the table has no `seat` column yet (migration 3 not applied). */
  const unmigrated = (err: unknown) => sqlState(err) === '42703';
  const seatSql = seatStatements(tables.sessionsSql);
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
      assertSessionRecord(record);
      const params = recordParams(record, 'record');
      await runner.run(async (c) => {
        // The seated statements, or the seatless ones on a table migration 3 has not reached.
        let s: typeof seatless = sql;
        try {
          try {
            await c.query(bind(s.insert, params));
          } catch (err) {
            if (!unmigrated(err)) throw err;
            s = seatless;
            await c.query(bind(s.insert, params));
          }
        } catch (err) {
          if (sqlState(err) !== '23505') throw err;
          // The id is taken: by a dead row this insert may replace, or by a live one.
          const over = await c.query(bind(s.insertOverExpired, [...params, now()]));
          if (over.rowCount !== 1)
            throw new StoreConflict('a live record with this id already exists');
        }
      });
    },

    async insertWithLimit(record, limit) {
      open();
      assertSessionRecord(record);
      assertSubjectLimit(limit);
      const params = recordParams(record, 'record');
      const { max, evict } = limit;
      const key = seatLockKey(tables.sessionsSql, record.subject);
      return runner.run((c) => insertSeated(c, seatSql, key, params, { max, evict }, now()));
    },

    async get(id) {
      open();
      if (!isStoreKey(id)) return null;
      const result = await runner.run((c) => c.query(bind(sql.get, [id, now()])));
      const row = result.rows[0];
      return row ? rowToRecord(row) : null;
    },

    async replace(record, expectedVersion) {
      open();
      assertSessionRecord(record);
      assertRecordVersion(expectedVersion, 'expectedVersion');
      const params = recordParams(record, 'record');
      // No stored version exceeds the column's range.
      if (expectedVersion > MAX_INT4) return false;
      const result = await runner.run((c) =>
        c.query(bind(sql.replace, replaceValues(params, expectedVersion, now()))),
      );
      return result.rowCount === 1;
    },

    async rotate(old, next) {
      open();
      if (old === null || typeof old !== 'object') {
        throw new InvalidArgument('old must be { record, expectedVersion }');
      }
      assertSessionRecord(old.record, 'old.record');
      assertRecordVersion(old.expectedVersion, 'old.expectedVersion');
      assertSessionRecord(next, 'next');
      const oldParams = recordParams(old.record, 'old.record');
      const nextParams = recordParams(next, 'next');
      const expected = old.expectedVersion;
      if (expected > MAX_INT4) return false;
      if (nextParams[0] === oldParams[0]) {
        // Rotating a record onto its own id: the swap would succeed and the
        // insert then meet the live row it just wrote, so the answer is a
        // conflict when the swap could happen and `false` otherwise; nothing changes.
        const live = await runner.run((c) =>
          c.query(bind(sql.liveAt, [oldParams[0], expected, now()])),
        );
        if (live.rowCount === 1)
          throw new StoreConflict('a live record with the next id already exists');
        return false;
      }
      return runner.run(async (c) => {
        const values = [...replaceValues(oldParams, expected, now()), ...nextParams];
        try {
          let result: { rows: { rotated?: number }[] };
          try {
            result = await c.query(bind(sql.rotate, values));
          } catch (err) {
            if (!unmigrated(err)) throw err;
            // Not migrated yet: rotate as an older release does (next holds no seat).
            result = await c.query(bind(seatless.rotate, values));
          }
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
      if (!isStoreKey(id)) return false;
      const result = await runner.run((c) => c.query(bind(sql.delete, [id, now()])));
      return (result.rows[0]?.n ?? 0) > 0;
    },

    async deleteBySubject(subject) {
      open();
      if (!isStoreKey(subject)) return 0;
      const result = await runner.run((c) => c.query(bind(sql.deleteBySubject, [subject, now()])));
      return Number(result.rows[0]?.n ?? 0);
    },

    async listBySubject(subject) {
      open();
      if (!isStoreKey(subject)) return [];
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

    async watch(listener) {
      open();
      if (
        listener === null ||
        typeof listener !== 'object' ||
        typeof listener.invalidate !== 'function' ||
        typeof listener.reset !== 'function'
      ) {
        throw new InvalidArgument('watch needs a listener with invalidate(id) and reset()');
      }
      const channel = await openInvalidationChannel(
        {
          tables,
          connection: listenConfig,
          boundMs,
          timeoutMs,
          probeQuery: (text, values) => runner.run((c) => c.query({ text, values })),
        },
        listener,
      );
      if (closing) {
        await channel.close();
        throw new Closed('the postgres store is closed');
      }
      channels.add(channel);
      return {
        get live() {
          return channel.live;
        },
        boundMs: channel.boundMs,
        close() {
          channels.delete(channel);
          return channel.close();
        },
      };
    },

    close() {
      closing ??= Promise.all([...channels].map((c) => c.close())).then(() =>
        ownsPool ? pool.end() : undefined,
      );
      return closing;
    },
  };
}

/** Parameters of the replace statement (and the first seven of rotate's); see postgres/sql.ts. */
function replaceValues(params: RecordParams, expectedVersion: number, at: number): unknown[] {
  const [id, subject, expiresAt, version, payload] = params;
  return [id, expectedVersion, subject, expiresAt, version, payload, at];
}
