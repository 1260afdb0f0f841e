import type { SessionRecord } from '@cloakroom/core';
import { StoreConflict } from '@cloakroom/core';
import { corruptRecord, isMissing } from '../errors';
import { seatStamp } from '../seat';
import { NotCreated, type RecordFiles, type RecordState } from './record-files';
import { settled } from './settled';

/** What an insert needs from its store. */
export interface InsertDeps {
  readonly files: RecordFiles;
  readonly clock: () => number;
}

/**
 * `insert` up to its rename (or link): without the id's lock where it can
 * ({@link insertFresh}), else under it ({@link insertLocked}). The caller
 * awaits `durable` before acknowledging; the lock is released already.
 */
export async function insertRecord(
  deps: InsertDeps,
  record: SessionRecord,
): Promise<{ durable: Promise<void> }> {
  const fresh = deps.files.exclusiveCreate ? await insertFresh(deps, record) : null;
  if (fresh !== null && 'durable' in fresh) return fresh;
  return deps.files.locks.withLocks([record.id], () =>
    insertLocked(deps, record, fresh?.markerMade ?? false),
  );
}

/**
 * `insert` without the id's lock, for an id that has no file (every
 * fresh id: ids are random). The temp file (written and fsynced), the
 * index marker (durable: index before record) and the shard's handle are
 * made together; then the temp file is hard-linked to the record's name,
 * which creates the record only where no file has the id (`EEXIST`
 * otherwise), as atomically as the lock's check-then-rename did.
 *
 * Why no other writer can be hurt by it: it never replaces a file, and
 * every writer that creates a record under the lock where it found none
 * creates it the same exclusive way (`publish`'s `exclusive`), so of two
 * creates of one id exactly one wins. Its marker is its own: it goes on
 * only when this call made the marker, and a marker without its record
 * is removed only once older than `staleLockMs` (`removeGhostMarker`), so
 * no writer removes it between its creation and the link. Whatever else
 * (the id has a file, the marker was there, no hard links here): the
 * insert runs under the lock, which decides what becomes of the marker.
 * @returns the published record, or what the insert under the lock must
 * know: whether this call made the marker.
 */
async function insertFresh(
  { files, clock }: InsertDeps,
  record: SessionRecord,
): Promise<{ durable: Promise<void> } | { markerMade: boolean }> {
  const temp = files.prepare({ record, seat: seatStamp() });
  const marker = files.addMarker(record.subject, record.id);
  // A new shard is made by the temp file's write: open it after that.
  const shard = files.openShard(record.id).catch(async (err: unknown) => {
    if (!isMissing(err)) throw err;
    await temp;
    return files.openShard(record.id);
  });
  let made: boolean;
  try {
    await settled([marker, temp, shard]);
    made = await marker;
  } catch (err) {
    const [madeNow, , opened] = await Promise.allSettled([marker, temp, shard]);
    await Promise.allSettled([
      files.discard([temp]),
      opened.status === 'fulfilled' ? opened.value?.close() : undefined,
      madeNow.status === 'fulfilled' && madeNow.value
        ? dropOwnMarker({ files, clock }, record)
        : undefined,
    ]);
    throw err;
  }
  if (!made) {
    await Promise.allSettled([files.discard([temp]), (await shard)?.close()]);
    return { markerMade: false };
  }
  try {
    return await files.publish(await temp, await shard, 'unlocked');
  } catch (err) {
    if (err instanceof NotCreated) return { markerMade: true };
    await dropOwnMarker({ files, clock }, record).catch(() => undefined);
    throw err;
  }
}

/**
 * After a failed {@link insertFresh}, remove the marker it made, under the
 * id's lock: once made, an insert under the lock may have found it there
 * and written a record of that subject, which keeps it. If the lock cannot
 * be had (the disk that failed the insert), the marker stays, a ghost.
 */
async function dropOwnMarker({ files, clock }: InsertDeps, record: SessionRecord): Promise<void> {
  await files.locks.withLocks([record.id], async () => {
    const state = await files.state(record.id, clock(), true);
    const holder =
      state.kind === 'missing' || state.kind === 'invalid'
        ? undefined
        : state.stored.record.subject;
    if (holder !== record.subject) await files.removeMarker(record.subject, record.id);
  });
}

/**
 * `insert` under the record's lock, up to its rename: where the id has a
 * file already (an expired record or an orphan, to be replaced), or
 * {@link insertFresh} could not run (`markerMade`: it made the marker).
 * Everything before the rename overlaps: the check that no live record has
 * this id, the temp file, the index marker and the opening of the shard.
 * A conflict (rare: ids are random) undoes the temp file, and the marker
 * if this call made it, unless the record in the way is in the same
 * subject and needs it.
 */
async function insertLocked(
  { files, clock }: InsertDeps,
  record: SessionRecord,
  markerMade: boolean,
): Promise<{ durable: Promise<void> }> {
  const temp = files.prepare({ record, seat: seatStamp() });
  const marker = files.addMarker(record.subject, record.id);
  const shard = files.openShard(record.id);
  /** Clean up after a failure; `holder`: the subject of the live record in the way, if any. */
  const undo = async (holder?: string): Promise<void> => {
    const [made, , opened] = await Promise.allSettled([marker, temp, shard]);
    const ours = markerMade || (made.status === 'fulfilled' && made.value);
    // The first failure is the one to report: what is left if the clean-up
    // fails too is a temp file and a ghost marker, both swept.
    await Promise.allSettled([
      files.discard([temp]),
      opened.status === 'fulfilled' ? opened.value?.close() : undefined,
      // A marker this call made was not there before: only a record of its subject needs it.
      ours && holder !== record.subject ? files.removeMarker(record.subject, record.id) : undefined,
    ]);
  };
  let state: RecordState | undefined;
  try {
    state = await files.state(record.id, clock(), true);
    if (state.kind === 'invalid') throw corruptRecord(record.id);
    if (state.kind === 'live')
      throw new StoreConflict('fs store: a live record with this id exists');
    await settled([
      marker,
      temp,
      shard,
      state.kind === 'missing' ? undefined : files.settleSuccessor(state.stored, [record.id]),
    ]);
  } catch (err) {
    await undo(state?.kind === 'live' ? state.stored.record.subject : undefined);
    throw err;
  }
  let published: { durable: Promise<void> };
  try {
    // Where no file was, an insert without the lock may create one meanwhile.
    published = await files.publish(
      await temp,
      await shard,
      state.kind === 'missing' ? 'locked' : false,
    );
  } catch (err) {
    if (!(err instanceof NotCreated)) throw err;
    const now = await files.state(record.id, clock(), true);
    await undo(
      now.kind === 'missing' || now.kind === 'invalid' ? undefined : now.stored.record.subject,
    );
    throw new StoreConflict('fs store: a live record with this id exists');
  }
  if (state.kind !== 'missing' && state.stored.record.subject !== record.subject) {
    await files.removeMarker(state.stored.record.subject, record.id);
  }
  return published;
}
