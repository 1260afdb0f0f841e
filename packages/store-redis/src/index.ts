export { createRedisStore, type RedisStore } from './session-store';
export { createRedisKeySetStore, type RedisKeySetStore } from './key-set-store';
export type { RedisStoreOptions, ReplicationOptions } from './options';
export { RedisGaveUp } from './errors';
// Kept for compatibility: these are core's store checks, under the names
// this package once exported. Import them from @cloakroom/core instead.
export {
  MAX_STORE_KEY_LENGTH as MAX_KEY_LENGTH,
  assertStoreKey as assertKey,
  assertRecordVersion as assertVersion,
  assertSessionRecord as assertRecord,
  isUint8Array,
} from '@cloakroom/core';
