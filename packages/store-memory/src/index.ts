export { createMemoryStore, type MemoryStore } from './memory-store';
export { createMemoryKeySetStore } from './memory-key-set-store';
export type { MemoryStoreOptions } from './options';
