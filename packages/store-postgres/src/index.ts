export { createPostgresStore, type PostgresStore } from './session-store';
export { createPostgresKeySetStore } from './key-set-store';
export type {
  PostgresInvalidationOptions,
  PostgresKeySetStoreOptions,
  PostgresStoreOptions,
  PostgresTableOptions,
} from './options';
export {
  migrate,
  migrationSql,
  grantSql,
  type MigrateOptions,
  type MigrateResult,
} from './postgres/migrations';
export { IDENTIFIER_PATTERN } from './postgres/identifiers';
