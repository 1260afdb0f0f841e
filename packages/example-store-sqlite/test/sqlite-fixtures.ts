import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeySetStore, SessionStore } from '@cloakroom/core';
import {
  createSqliteKeySetStore,
  createSqliteStore,
  type SqliteStoreOptions,
} from '@cloakroom/example-store-sqlite';
import Database from 'better-sqlite3';

// Each store gets its own temporary directory: its database file plus the -wal and -shm files.
const dirs = new WeakMap<object, string>();
const settings = new WeakMap<object, Omit<SqliteStoreOptions, 'filename' | 'database'>>();

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-'));
}

/** A session store on a fresh file. */
export function openStore(
  options: Omit<SqliteStoreOptions, 'filename' | 'database'> = {},
): SessionStore {
  const dir = tempDir();
  const store = createSqliteStore({ ...options, filename: join(dir, 'sessions.db') });
  dirs.set(store, dir);
  settings.set(store, options);
  return store;
}

/** A second store on the same file and clock: another connection, as a second process would have. */
export function openSibling(store: SessionStore): SessionStore {
  const dir = dirs.get(store);
  if (!dir) throw new Error('unknown store');
  return createSqliteStore({ ...settings.get(store), filename: join(dir, 'sessions.db') });
}

/** A key-set store on a fresh file. */
export function openKeySets(): KeySetStore {
  const dir = tempDir();
  const store = createSqliteKeySetStore({ filename: join(dir, 'sessions.db') });
  dirs.set(store, dir);
  return store;
}

/** Removes a store's directory (the suite has closed the store already). */
export async function removeFiles(store: object): Promise<void> {
  const dir = dirs.get(store);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * Everything on disk, read around the store: every row through a separate
 * read-only connection, and the raw bytes of every file (database, WAL,
 * shared memory), so free pages and unflushed WAL frames are searched too.
 */
export async function dumpFiles(store: SessionStore): Promise<(string | Uint8Array)[]> {
  const dir = dirs.get(store);
  if (!dir) throw new Error('unknown store');
  const out: (string | Uint8Array)[] = [];
  const reader = new Database(join(dir, 'sessions.db'), { readonly: true });
  try {
    const rows = reader
      .prepare('SELECT id, subject, expires_at, version, payload FROM cloakroom_sessions')
      .all() as {
      id: string;
      subject: string;
      expires_at: number;
      version: number;
      payload: Uint8Array;
    }[];
    for (const r of rows)
      out.push(`${r.id} ${r.subject} ${r.expires_at} ${r.version}`, new Uint8Array(r.payload));
  } finally {
    reader.close();
  }
  for (const file of readdirSync(dir)) out.push(new Uint8Array(readFileSync(join(dir, file))));
  return out;
}

/**
 * SQLite's "unreachable": another process holds the database file under an
 * exclusive lock, so every call waits out the busy timeout and must then
 * throw `StoreUnavailable`, never answer as if the session were missing.
 */
export function lockedStore(): SessionStore {
  const dir = tempDir();
  const filename = join(dir, 'sessions.db');
  const locker = new Database(filename);
  locker.pragma('locking_mode = EXCLUSIVE');
  locker.exec('BEGIN EXCLUSIVE; CREATE TABLE held (x)');
  const store = createSqliteStore({ filename, busyTimeoutMs: 200 });
  return {
    ...store,
    async close() {
      await store.close();
      locker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
