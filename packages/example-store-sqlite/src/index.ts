export { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store';
export {
  createSqliteKeySetStore,
  type SqliteKeySetStore,
  type SqliteKeySetStoreOptions,
} from './sqlite-key-set-store';
