import { createHash } from 'node:crypto';
import { bucketTags } from './key-layout';
import * as buckets from './lua-bucket-scripts';
import * as records from './lua-record-scripts';

/** A Lua script and its SHA-1, for EVALSHA. */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

/** Prepare a script for `Op.script`. */
export function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** Every script with its SHA-1, computed once per process. */
export const SCRIPTS = {
  insert: script(records.INSERT),
  replace: script(records.REPLACE),
  rotate: script(records.ROTATE),
  prepare: script(records.PREPARE),
  decide: script(records.DECIDE),
  promote: script(records.PROMOTE),
  abort: script(records.ABORT),
  delete: script(records.DELETE),
  listSubject: script(buckets.LIST_SUBJECT),
  deleteSubject: script(buckets.DELETE_SUBJECT),
  listSubjectAll: script(buckets.listSubjectAllScript(bucketTags())),
  deleteSubjectAll: script(buckets.deleteSubjectAllScript(bucketTags())),
  insertLimit: script(buckets.insertLimitScript(bucketTags())),
  scan: script(buckets.SCAN),
  keySetWrite: script(buckets.KEY_SET_WRITE),
  cursorKey: script(buckets.CURSOR_KEY),
};
