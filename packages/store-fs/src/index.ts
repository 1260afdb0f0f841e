export { createFsStore, type FsStore, type FsStoreOptions } from './fs-store';
export { createFsKeySetStore, type FsKeySetStoreOptions } from './fs-key-set-store';
export type { FsCommonOptions, FsDurability } from './options';
