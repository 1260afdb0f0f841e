export {
  createPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
} from './postgres-store';
export { createPostgresKeySetStore, type PostgresKeySetStoreOptions } from './key-set-store';
export { migrate, migrationSql, grantSql, type MigrateResult } from './migrations';
export { IDENTIFIER_PATTERN, type PostgresTableOptions } from './identifiers';
