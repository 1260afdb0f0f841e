export { createRedisStore, type RedisStore } from './session-store';
export { createRedisKeySetStore, type RedisKeySetStore } from './key-set-store';
export type { InvalidationOptions, RedisStoreOptions, ReplicationOptions } from './options';
export { RedisGaveUp } from './errors';
export type { NodeRedisClient } from './redis/node-redis';
