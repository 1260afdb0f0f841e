import type { ScanPage, SessionRecord } from '@cloakroom/core';
import type { Io } from './io';
import { isKey, RECORD_SUFFIX, type Layout } from './layout';
import type { RecordFiles } from './record-files';

const SHARD = /^[A-Za-z0-9_-]{2}$/;

/** Record ids in a shard directory, sorted. */
export async function shardIds(io: Io, layout: Layout, shard: string): Promise<string[]> {
  let names: string[];
  try {
    names = await io.readdir(`${layout.records}/${shard}`);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
  const ids: string[] = [];
  for (const name of names) {
    if (!name.endsWith(RECORD_SUFFIX)) continue;
    const id = name.slice(0, -RECORD_SUFFIX.length);
    if (isKey(id)) ids.push(id);
  }
  return ids.sort();
}

/** Shard directory names, sorted (ids sort the same way, so the scan walks ids in order). */
export async function shardNames(io: Io, layout: Layout): Promise<string[]> {
  return (await io.readdir(layout.records)).filter((name) => SHARD.test(name)).sort();
}

/**
 * One page of a scan in id order. The cursor is the last id examined: a
 * record that stays put is seen exactly once, whatever happens around it.
 * Pages examine at most `limit` files, so a page may hold fewer live records.
 */
export async function scanRecords(
  io: Io,
  layout: Layout,
  files: RecordFiles,
  limit: number,
  cursor: string | undefined,
  now: number,
): Promise<ScanPage> {
  const examined: string[] = [];
  let more = false;
  for (const shard of await shardNames(io, layout)) {
    if (cursor !== undefined && shard < cursor.slice(0, 2)) continue;
    for (const id of await shardIds(io, layout, shard)) {
      if (cursor !== undefined && id <= cursor) continue;
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
  return more && last !== undefined ? { records, cursor: last } : { records };
}
