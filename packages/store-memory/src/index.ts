export { createMemoryStore, type MemoryStore } from './session-store';
export { createMemoryKeySetStore } from './key-set-store';
export type { MemoryStoreOptions } from './options';
