export { createFsKeySetStore } from './key-set-store';
export type {
  FsCommonOptions,
  FsDurability,
  FsKeySetStoreOptions,
  FsStoreOptions,
} from './options';
export { createFsStore, type FsStore } from './session-store';
