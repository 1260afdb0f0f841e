import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Io } from './io';
import { isKey, type Layout, TEMP_SUFFIX } from './layout';
import type { RecordFiles, RecordState } from './record-files';
import { shardIds, shardNames } from './scan';

/**
 * Remove what is dead at `now`, `batch` files at a time with a yield to the
 * event loop between batches:
 * - records expired at `now` (counted), and orphaned halves of a `rotate`
 *   that never committed (not counted: they never existed);
 * - subject-index markers whose record is gone, expired or moved to another
 *   subject, and subject directories left empty;
 * - temp files older than `staleMs` (left by a crash mid-write).
 * Every removal re-checks the file under its lock.
 * @returns the number of expired records removed.
 */
export async function sweepRecords(
  io: Io,
  layout: Layout,
  files: RecordFiles,
  now: number,
  batch: number,
  staleMs: number,
): Promise<number> {
  let removed = 0;
  const dead = (state: RecordState): boolean => state.kind === 'expired' || state.kind === 'orphan';
  for (const shard of await shardNames(io, layout)) {
    const dir = join(layout.records, shard);
    await removeOldTemps(io, dir, staleMs);
    const ids = await shardIds(io, layout, shard);
    for (let i = 0; i < ids.length; i += batch) {
      const counts = await Promise.all(
        ids.slice(i, i + batch).map(async (id) => {
          if (!dead(await files.state(id, now))) return 0;
          return files.withLocks([id], async () => {
            const state = await files.state(id, now);
            if (!dead(state) || (state.kind !== 'expired' && state.kind !== 'orphan')) return 0;
            await files.settleSuccessor(state.stored, [id]);
            await files.remove(id);
            await files.removeMarker(state.stored.record.subject, id);
            return state.kind === 'expired' ? 1 : 0;
          });
        }),
      );
      for (const n of counts) removed += n;
      await yieldToLoop();
    }
  }
  await sweepIndex(io, layout, files, now, batch);
  return removed;
}

async function sweepIndex(
  io: Io,
  layout: Layout,
  files: RecordFiles,
  now: number,
  batch: number,
): Promise<void> {
  for (const shard of await io.readdir(layout.subjects)) {
    for (const subject of await readdirOrEmpty(io, join(layout.subjects, shard))) {
      if (!isKey(subject)) continue;
      const ids = (await files.markers(subject)).filter(isKey);
      for (let i = 0; i < ids.length; i += batch) {
        await Promise.all(
          ids.slice(i, i + batch).map(async (id) => {
            if (!isGhost(await files.state(id, now), subject)) return;
            await files.withLocks([id], async () => {
              if (isGhost(await files.state(id, now), subject))
                await files.removeMarker(subject, id);
            });
          }),
        );
        await yieldToLoop();
      }
      // Fails harmlessly (ENOTEMPTY) when markers remain or one was just added.
      await io.rmdir(layout.subjectDir(subject)).catch(() => undefined);
    }
  }
}

function isGhost(state: RecordState, subject: string): boolean {
  if (state.kind === 'invalid') return false;
  if (state.kind === 'missing' || state.kind === 'orphan') return true;
  return state.stored.record.subject !== subject;
}

async function removeOldTemps(io: Io, dir: string, staleMs: number): Promise<void> {
  for (const name of await readdirOrEmpty(io, dir)) {
    if (!name.endsWith(TEMP_SUFFIX)) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - (await io.stat(path)).mtimeMs > staleMs) await io.unlink(path);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
    }
  }
}

async function readdirOrEmpty(io: Io, dir: string): Promise<string[]> {
  try {
    return await io.readdir(dir);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
}
