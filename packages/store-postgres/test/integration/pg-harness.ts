import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '@cloakroom/core';
import { migrate, type PostgresTableOptions } from '@cloakroom/store-postgres';
import pg, { type PoolConfig } from 'pg';

/** The server every integration test uses; a test that cannot reach it fails. */
export const TEST_URL =
  process.env.CLOAKROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A lower-case name unique to this run, valid as a schema, table or role. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/** The test URL with another user, host or port, keeping the database. */
export function urlWith(parts: { user?: string; port?: number; applicationName?: string }): string {
  const url = new URL(TEST_URL);
  if (parts.user !== undefined) url.username = parts.user;
  if (parts.port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(parts.port);
  }
  if (parts.applicationName !== undefined) {
    url.searchParams.set('application_name', parts.applicationName);
  }
  return url.toString();
}

/**
 * One test file's world: a unique schema, migrated, plus the pools the file
 * opens; `teardown` drops the schema and ends every pool.
 */
export interface PgWorld {
  readonly schema: string;
  readonly tables: PostgresTableOptions & { schema: string };
  /** Superuser pool for setup and for reading rows behind the store's back. */
  readonly admin: pg.Pool;
  /** Opens a pool that teardown will end; pool errors are collected, never crash the run. */
  pool(config?: PoolConfig): pg.Pool;
  teardown(): Promise<void>;
}

export async function createWorld(prefix: string, migrateNow = true): Promise<PgWorld> {
  const pools: pg.Pool[] = [];
  const pool = (config: PoolConfig = {}) => {
    const p = new pg.Pool({ connectionString: TEST_URL, ...config });
    p.on('error', () => {});
    pools.push(p);
    return p;
  };
  const admin = pool({ max: 4 });
  // Fails the suite (never skips it) when the server is unreachable.
  await admin.query('SELECT 1');
  const schema = uniqueName(prefix);
  const tables = { schema };
  if (migrateNow) await migrate(admin, tables);
  return {
    schema,
    tables,
    admin,
    pool,
    async teardown() {
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await Promise.all(pools.map((p) => p.end().catch(() => {})));
      }
    },
  };
}

/** A base64url string shaped like a session id or subject index (43 chars). */
export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

/** A valid record with random id, subject and payload; fields may be overridden. */
export function makeRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomId(),
    subject: randomId(),
    expiresAt: 2_000_000_000_000,
    version: 1,
    payload: new Uint8Array(randomBytes(48)),
    ...overrides,
  };
}

/** A settable clock for the store; starts at a fixed instant. */
export function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    set(value: number) {
      now = value;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Awaits `fn` and returns what it threw (fails when it did not throw). */
export async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

/** A statement as the driver was asked to run it. */
export interface SentQuery {
  readonly name: string | undefined;
  readonly text: string;
}

/**
 * Records every query sent on connections the pool hands out (instrumenting
 * the real driver; nothing is faked), to check round trips and batching.
 */
export function recordQueries(pool: pg.Pool): SentQuery[] {
  const sent: SentQuery[] = [];
  const wrapped = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client: pg.PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
      const first = args[0] as string | { name?: string; text: string };
      sent.push(
        typeof first === 'string'
          ? { name: undefined, text: first }
          : { name: first.name, text: first.text },
      );
      return original(...args);
    };
  });
  return sent;
}
