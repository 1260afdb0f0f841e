export { createRedisStore, type RedisStore } from './redis-store';
export { createRedisKeySetStore, type RedisKeySetStore } from './key-set-store';
export type { RedisStoreOptions } from './options';
