import { randomBytes } from 'node:crypto';
import { describeKeySetStore, describeSessionStore } from '@cloakroom/conformance';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import { createPostgresKeySetStore, createPostgresStore, migrate } from '@cloakroom/store-postgres';
import pg from 'pg';
import { afterAll } from 'vitest';

const url = process.env.CLOAKROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `crpg_conf_${process.pid}_${randomBytes(4).toString('hex')}`;
const pool = new pg.Pool({ connectionString: url, max: 8 }).on('error', () => {});
// Another instance of the fleet: its own pool on the same table (atomicity and SEC-32 watch checks).
const siblingPool = new pg.Pool({ connectionString: url, max: 4 }).on('error', () => {});
const tables = new WeakMap<SessionStore | KeySetStore, string>();
let t = 1_700_000_000_000;
let n = 0;
afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  await siblingPool.end();
});

describeSessionStore(
  'postgres',
  async () => {
    // A fresh, empty table for every check and model run, as the suite requires.
    n += 1;
    const table = `s${n}`;
    // With the invalidation triggers, so the SEC-32 watch checks run (and every other check runs with them in place).
    await migrate(pool, { schema, table, invalidationTriggers: true });
    const store = createPostgresStore({ pool, schema, table, clock: () => t });
    tables.set(store, table);
    return store;
  },
  {
    now: () => t,
    sibling: (store) =>
      createPostgresStore({
        pool: siblingPool,
        schema,
        table: tables.get(store) as string,
        clock: () => t,
      }),
    advanceTime: (ms) => {
      t += ms;
    },
    cleanup: async (store) => {
      await pool.query(`DROP TABLE IF EXISTS "${schema}"."${tables.get(store)}"`);
    },
    // SEC-02 at rest: every cell of every row in the schema, read directly with SELECT *.
    inspect: async () => {
      const names = await pool.query(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      );
      const cells: (string | Uint8Array)[] = [];
      for (const { table_name } of names.rows) {
        const rows = await pool.query(`SELECT * FROM "${schema}"."${table_name}"`);
        for (const row of rows.rows) {
          for (const v of Object.values(row))
            cells.push(v instanceof Uint8Array ? new Uint8Array(v) : String(v));
        }
      }
      return cells;
    },
    unreachable: () =>
      createPostgresStore({
        connectionString: 'postgres://postgres@127.0.0.1:1/test',
        statementTimeoutMs: 1000,
      }),
    // The store is handed a pool the test owns: closing the store must leave it usable.
    callerClient: async () => {
      const own = new pg.Pool({ connectionString: url, max: 2 }).on('error', () => {});
      n += 1;
      const table = `cc${n}`;
      await migrate(own, { schema, table });
      const store = createPostgresStore({ pool: own, schema, table, clock: () => t });
      tables.set(store, table);
      return {
        store,
        clientUsable: async () => (await own.query('SELECT 1 AS ok')).rows[0]?.ok === 1,
        release: () => own.end(),
      };
    },
  },
);

describeKeySetStore(
  'postgres',
  async () => {
    n += 1;
    const keySetTable = `k${n}`;
    await migrate(pool, { schema, table: 'ks_sessions', keySetTable });
    const keySets = createPostgresKeySetStore({ pool, schema, keySetTable });
    tables.set(keySets, keySetTable);
    return keySets;
  },
  {
    cleanup: async (keySets) => {
      await pool.query(`DROP TABLE IF EXISTS "${schema}"."${tables.get(keySets)}"`);
    },
    // Key-set stores always take the caller's pool: one aimed at a closed port.
    unreachable: () =>
      createPostgresKeySetStore({
        pool: new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }).on(
          'error',
          () => {},
        ),
        statementTimeoutMs: 1000,
      }),
    callerClient: async () => {
      const own = new pg.Pool({ connectionString: url, max: 2 }).on('error', () => {});
      n += 1;
      const keySetTable = `kc${n}`;
      await migrate(own, { schema, table: 'ks_sessions', keySetTable });
      const keySets = createPostgresKeySetStore({ pool: own, schema, keySetTable });
      tables.set(keySets, keySetTable);
      return {
        store: keySets,
        clientUsable: async () => (await own.query('SELECT 1 AS ok')).rows[0]?.ok === 1,
        release: () => own.end(),
      };
    },
  },
);
