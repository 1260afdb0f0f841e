import { isStoreKey, type SessionRecord } from '@cloakroom/core';
import { isMissing } from '../errors';
import type { Io } from './io';
import { type Layout, RECORD_SUFFIX } from './layout';
import type { RecordFiles } from './record-files';

const SHARD = /^[A-Za-z0-9_-]{2}$/;

/** Entries of a directory; none when it does not exist (a shard or subject directory not made yet). */
export async function readdirOrEmpty(io: Io, dir: string): Promise<string[]> {
  try {
    return await io.readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

/** The record ids among a shard directory's entries, sorted. */
export function recordIds(names: readonly string[]): string[] {
  const ids: string[] = [];
  for (const name of names) {
    if (!name.endsWith(RECORD_SUFFIX)) continue;
    const id = name.slice(0, -RECORD_SUFFIX.length);
    if (isStoreKey(id)) ids.push(id);
  }
  return ids.sort();
}

/** Shard directory names, sorted (ids sort the same way, so the scan walks ids in order). */
export async function shardNames(io: Io, layout: Layout): Promise<string[]> {
  return (await io.readdir(layout.records)).filter((name) => SHARD.test(name)).sort();
}

/** One page of a scan: the live records among the ids examined, and the last id examined when more follow. */
export interface ScanWalk {
  readonly records: SessionRecord[];
  readonly last?: string;
}

/**
 * One page of a scan in id order, after the id `after` (exclusive). A record
 * that stays put is seen exactly once, whatever happens around it. Pages
 * examine at most `limit` files, so a page may hold fewer live records.
 */
export async function scanRecords(
  io: Io,
  layout: Layout,
  files: RecordFiles,
  limit: number,
  after: string | undefined,
  now: number,
): Promise<ScanWalk> {
  const examined: string[] = [];
  let more = false;
  for (const shard of await shardNames(io, layout)) {
    if (after !== undefined && shard < after.slice(0, 2)) continue;
    const names = await readdirOrEmpty(io, `${layout.records}/${shard}`);
    for (const id of recordIds(names)) {
      if (after !== undefined && id <= after) continue;
      if (examined.length === limit) {
        more = true;
        break;
      }
      examined.push(id);
    }
    if (more) break;
  }
  const records: SessionRecord[] = [];
  for (const id of examined) {
    const state = await files.state(id, now);
    // Corrupt files are skipped here (get/delete report them): one bad file must not stop a scan.
    if (state.kind === 'live') records.push(state.stored.record);
  }
  const last = examined.at(-1);
  return more && last !== undefined ? { records, last } : { records };
}
