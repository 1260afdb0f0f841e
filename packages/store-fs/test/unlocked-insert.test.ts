// An insert of a fresh id takes no lock: it makes its index marker, then
// hard-links its record into place (`link` fails where any file has the id).
// These tests stop such an insert between the two steps and let another
// store on the same directory (another process, as far as the files can
// tell) act in that window: nothing may overwrite the record, and nothing may
// take its marker, or the record would escape its subject's "revoke all".
import * as fsp from 'node:fs/promises';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreConflict } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import type { Io } from '../src/fs/io';
import { createFsStore, createFsStoreWithIo } from '../src/session-store';
import { fakeClock, key, rec, tempDir } from './helpers';

/**
 * The real file system, except that the first step putting `id`'s record in
 * place (a link, or a rename where a link was due) waits until `release`.
 */
function pausedLink(id: string) {
  let reached!: () => void;
  const atLink = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let paused = false;
  const stop = async (to: string): Promise<void> => {
    if (paused || !to.endsWith(`${id}.rec`)) return;
    paused = true;
    reached();
    await gate;
  };
  const io = {
    ...fsp,
    link: async (from: string, to: string) => {
      await stop(to);
      return fsp.link(from, to);
    },
    rename: async (from: string, to: string) => {
      await stop(to);
      return fsp.rename(from, to);
    },
  } as Io;
  return { io, atLink, release };
}

const markerPath = (dir: string, subject: string, id: string): string =>
  join(dir, 'x', subject.slice(0, 2), subject, id);

describe('fs store: an insert without the lock, stopped between its marker and its record', () => {
  it('a deleteBySubject in the window keeps the marker: the record is listed, and the next revoke-all removes it', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const r = rec(clock);
    const { io, atLink, release } = pausedLink(r.id);
    const inserting = createFsStoreWithIo({ dir, clock }, io).insert(r);
    await atLink;
    const other = createFsStore({ dir, clock });
    // The record is missing, its marker young: an insert in flight, not a ghost.
    expect(await other.deleteBySubject(r.subject)).toBe(0);
    release();
    await inserting;
    expect(await other.listBySubject(r.subject)).toEqual([r]);
    expect(await other.deleteBySubject(r.subject)).toBe(1);
    expect(await other.get(r.id)).toBeNull();
  });

  it('a sweep in the window keeps the marker', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const r = rec(clock);
    const { io, atLink, release } = pausedLink(r.id);
    const inserting = createFsStoreWithIo({ dir, clock }, io).insert(r);
    await atLink;
    const other = createFsStore({ dir, clock });
    expect(await other.sweep(clock.now)).toBe(0);
    release();
    await inserting;
    expect(await other.listBySubject(r.subject)).toEqual([r]);
  });

  it('a marker without a record older than staleLockMs is a ghost: deleteBySubject and sweep remove it', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const store = createFsStore({ dir, clock, staleLockMs: 1_000 });
    const subject = key();
    const [a, b] = [key(), key()];
    await mkdir(join(dir, 'x', subject.slice(0, 2), subject), { recursive: true });
    for (const id of [a, b]) await writeFile(markerPath(dir, subject, id), '');
    const old = new Date(Date.now() - 5_000);
    await utimes(markerPath(dir, subject, a), old, old);
    expect(await store.deleteBySubject(subject)).toBe(0);
    // The old one is gone; the young one may still be an insert in flight.
    await expect(fsp.stat(markerPath(dir, subject, a))).rejects.toMatchObject({ code: 'ENOENT' });
    await fsp.stat(markerPath(dir, subject, b));
    await utimes(markerPath(dir, subject, b), old, old);
    await store.sweep(clock.now);
    await expect(fsp.stat(markerPath(dir, subject, b))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an insert under the lock that found no record never replaces one linked meanwhile: it conflicts', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const locked = rec(clock);
    // A marker already there (a ghost) sends this insert to the lock.
    await mkdir(join(dir, 'x', locked.subject.slice(0, 2), locked.subject), { recursive: true });
    await writeFile(markerPath(dir, locked.subject, locked.id), '');
    const { io, atLink, release } = pausedLink(locked.id);
    const inserting = createFsStoreWithIo({ dir, clock }, io).insert(locked);
    await atLink;
    // Meanwhile another process inserts the same id under another subject, without the lock.
    const other = createFsStore({ dir, clock });
    const theirs = { ...locked, subject: key(), payload: Uint8Array.of(7) };
    await other.insert(theirs);
    release();
    await expect(inserting).rejects.toBeInstanceOf(StoreConflict);
    expect(await other.get(locked.id)).toEqual(theirs);
    expect(await other.listBySubject(theirs.subject)).toEqual([theirs]);
    expect(await other.listBySubject(locked.subject)).toEqual([]);
  });

  it('a rotate that found next.id free never replaces a record linked meanwhile: it conflicts and changes nothing', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const head = rec(clock);
    const next = rec(clock, { subject: head.subject });
    const setup = createFsStore({ dir, clock });
    await setup.insert(head);
    const { io, atLink, release } = pausedLink(next.id);
    const rotating = createFsStoreWithIo({ dir, clock }, io).rotate(
      { record: { ...head, version: 2 }, expectedVersion: 1 },
      next,
    );
    await atLink;
    const theirs = { ...next, subject: key(), payload: Uint8Array.of(9) };
    await setup.insert(theirs);
    release();
    await expect(rotating).rejects.toBeInstanceOf(StoreConflict);
    expect(await setup.get(next.id)).toEqual(theirs);
    expect(await setup.get(head.id)).toEqual(head);
  });

  it('an insertWithLimit that found the id free never replaces a record linked meanwhile: it conflicts', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const limited = rec(clock);
    const { io, atLink, release } = pausedLink(limited.id);
    const inserting = createFsStoreWithIo({ dir, clock }, io).insertWithLimit(limited, {
      max: 3,
      evict: 'oldest',
    });
    await atLink;
    const other = createFsStore({ dir, clock });
    const theirs = { ...limited, subject: key(), payload: Uint8Array.of(5) };
    await other.insert(theirs);
    release();
    await expect(inserting).rejects.toBeInstanceOf(StoreConflict);
    expect(await other.get(limited.id)).toEqual(theirs);
  });
});
