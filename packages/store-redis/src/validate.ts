// The record and id checks are shared by every store: they live in core.
export {
  MAX_STORE_KEY_LENGTH as MAX_KEY_LENGTH,
  assertStoreKey as assertKey,
  assertRecordVersion as assertVersion,
  assertSessionRecord as assertRecord,
  isUint8Array,
} from '@cloakroom/core';
