import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isStoreKey } from '@cloakroom/core';
import { errnoOf, isMissing } from '../errors';
import { removeAbandonedLock } from './file-lock';
import type { Io } from './io';
import { BREAK_SUFFIX, type Layout, LOCK_SUFFIX, TEMP_SUFFIX } from './layout';
import type { RecordFiles, RecordState } from './record-files';
import { readdirOrEmpty, recordIds, shardNames } from './scan';

/**
 * Remove what is dead at `now`, `batch` files at a time with a yield to the
 * event loop between batches:
 * - records expired at `now` (counted), and orphaned halves of a `rotate`
 *   that never committed (not counted: they never existed);
 * - subject-index markers whose record is gone, expired or moved to another
 *   subject, and subject directories left empty;
 * - leftovers of killed writers, in the record shards, the subject shards
 *   (subject locks), the key-set directory and the root: abandoned locks and break locks (see `removeAbandonedLock`)
 *   and temp files older than `staleMs`.
 * Every record removal re-checks the file under its lock.
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
  await sweepLeftovers(io, layout.root, await readdirOrEmpty(io, layout.root), staleMs, batch);
  await sweepLeftovers(
    io,
    layout.keySets,
    await readdirOrEmpty(io, layout.keySets),
    staleMs,
    batch,
  );
  for (const shard of await shardNames(io, layout)) {
    const dir = join(layout.records, shard);
    const names = await readdirOrEmpty(io, dir);
    await sweepLeftovers(io, dir, names, staleMs, batch);
    const ids = recordIds(names);
    for (let i = 0; i < ids.length; i += batch) {
      const counts = await Promise.all(
        ids.slice(i, i + batch).map(async (id) => {
          if (!dead(await files.state(id, now))) return 0;
          return files.locks.withLocks([id], async () => {
            const state = await files.state(id, now);
            if (state.kind !== 'expired' && state.kind !== 'orphan') return 0;
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
  await sweepIndex(io, layout, files, now, batch, staleMs);
  return removed;
}

/**
 * Abandoned locks and old temp files among `names` (the entries of `dir`).
 * Break locks go first: a dead breaker's break lock would otherwise stop the
 * lock it was breaking from being broken in this pass.
 */
async function sweepLeftovers(
  io: Io,
  dir: string,
  names: readonly string[],
  staleMs: number,
  batch: number,
): Promise<void> {
  const breaks = names.filter((n) => n.endsWith(LOCK_SUFFIX + BREAK_SUFFIX));
  const locks = names.filter((n) => n.endsWith(LOCK_SUFFIX));
  const temps = names.filter((n) => n.startsWith('.') && n.endsWith(TEMP_SUFFIX));
  const lock = (name: string): Promise<unknown> =>
    removeAbandonedLock(io, join(dir, name), staleMs).catch((err: unknown) => {
      // Not a lock this store made (a directory planted under a lock's name):
      // left for the operator, like a corrupt record, rather than stopping the sweep.
      if (errnoOf(err) !== 'EISDIR') throw err;
    });
  const temp = (name: string): Promise<unknown> => removeOldTemp(io, join(dir, name), staleMs);
  for (const [list, step] of [
    [breaks, lock],
    [locks, lock],
    [temps, temp],
  ] as const) {
    for (let i = 0; i < list.length; i += batch) {
      await Promise.all(list.slice(i, i + batch).map(step));
      if (list.length > batch) await yieldToLoop();
    }
  }
}

/**
 * Remove a temp file untouched for longer than `staleMs`. Temp names are
 * unique to one write (or one lock removal) and never reused, so the only
 * one that could still want this file is its own writer, and a writer that
 * has not renamed its temp file within `staleMs` has died or overrun the
 * budget `staleLockMs` sets for every write (its lock is broken by then
 * too); its rename then fails and the write reports `StoreUnavailable`,
 * leaving the previous version. The newer of mtime and ctime counts, so a
 * file just renamed into its temp name (a lock being removed) is young.
 */
async function removeOldTemp(io: Io, path: string, staleMs: number): Promise<void> {
  try {
    const st = await io.lstat(path);
    if (!st.isFile() && !st.isSymbolicLink()) return;
    if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) > staleMs) await io.unlink(path);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/**
 * Remove a subject directory once it is empty and has been untouched for
 * `staleMs`. A writer makes the directory and then opens its marker in it;
 * a directory made or changed within `staleMs` is left for a later sweep,
 * so a sweep cannot take it from under that writer again and again (the
 * writer retries a lost directory a bounded number of times). Fails
 * harmlessly (ENOTEMPTY, ENOENT) when a marker remains or was just added,
 * or the directory is already gone.
 */
async function removeIdleSubjectDir(io: Io, dir: string, staleMs: number): Promise<void> {
  try {
    const st = await io.stat(dir);
    if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) <= staleMs) return;
    await io.rmdir(dir);
  } catch {
    // Not empty, or gone: nothing to do.
  }
}

async function sweepIndex(
  io: Io,
  layout: Layout,
  files: RecordFiles,
  now: number,
  batch: number,
  staleMs: number,
): Promise<void> {
  for (const shard of await io.readdir(layout.subjects)) {
    const dir = join(layout.subjects, shard);
    const names = await readdirOrEmpty(io, dir);
    // Subject locks (`insertWithLimit`) live next to their subject directories.
    await sweepLeftovers(io, dir, names, staleMs, batch);
    for (const subject of names) {
      if (!isStoreKey(subject)) continue;
      const ids = (await files.markers(subject)).filter(isStoreKey);
      for (let i = 0; i < ids.length; i += batch) {
        await Promise.all(
          ids.slice(i, i + batch).map(async (id) => {
            if (!isGhost(await files.state(id, now), subject)) return;
            await files.locks.withLocks([id], async () => {
              const state = await files.state(id, now);
              if (!isGhost(state, subject)) return;
              // A young marker without its record may be an insert in flight.
              if (state.kind === 'missing') await files.removeGhostMarker(subject, id);
              else await files.removeMarker(subject, id);
            });
          }),
        );
        await yieldToLoop();
      }
      await removeIdleSubjectDir(io, layout.subjectDir(subject), staleMs);
    }
  }
}

function isGhost(state: RecordState, subject: string): boolean {
  if (state.kind === 'invalid') return false;
  if (state.kind === 'missing' || state.kind === 'orphan') return true;
  return state.stored.record.subject !== subject;
}
