export { createSqliteStore, type SqliteStore } from './session-store';
export { createSqliteKeySetStore, type SqliteKeySetStore } from './key-set-store';
export type { SqliteKeySetStoreOptions, SqliteStoreOptions } from './options';
