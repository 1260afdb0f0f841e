import { script } from './connection';
import * as buckets from './lua-bucket-scripts';
import * as lua from './lua-scripts';

/** Every script with its SHA-1, computed once per process. */
export const SCRIPTS = {
  insert: script(lua.INSERT),
  replace: script(lua.REPLACE),
  rotate: script(lua.ROTATE),
  prepare: script(lua.PREPARE),
  decide: script(lua.DECIDE),
  promote: script(lua.PROMOTE),
  abort: script(lua.ABORT),
  delete: script(lua.DELETE),
  listSubject: script(buckets.LIST_SUBJECT),
  deleteSubject: script(buckets.DELETE_SUBJECT),
  scan: script(buckets.SCAN),
  keySetWrite: script(buckets.KEY_SET_WRITE),
};
