import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Io } from '../src/fs/io';
import { createFsStoreWithIo } from '../src/session-store';
import { fakeClock, rec, tempDir } from './helpers';

/**
 * The order in which a write's effects reach the disk, recorded from the real
 * file system: a power loss can only keep what was fsynced, so these orders
 * are the crash guarantees (a SIGKILL test cannot see them; the page cache
 * survives a killed process). The fsyncs a write overlaps must still all be
 * done before the step that depends on them.
 */
function tracingIo(failSync?: (path: string) => boolean, slowSync?: (path: string) => number) {
  const events: string[] = [];
  const wrap = (handle: FileHandle, path: string): FileHandle =>
    new Proxy(handle, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'sync') {
          return async () => {
            if (failSync?.(path)) {
              throw Object.assign(new Error(`EIO: injected fsync ${path}`), { code: 'EIO' });
            }
            await target.sync();
            // A slow fsync shows whether anything that must wait for it does.
            await delay(slowSync?.(path) ?? 0);
            events.push(`synced ${path}`);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const io = {
    ...fsp,
    open: async (path: string, flags?: string, mode?: number) =>
      wrap(await fsp.open(path, flags, mode), path),
    rename: async (from: string, to: string) => {
      events.push(`rename ${from} -> ${to}`);
      return fsp.rename(from, to);
    },
    link: async (from: string, to: string) => {
      events.push(`link ${from} -> ${to}`);
      return fsp.link(from, to);
    },
  } as Io;
  return { io, events };
}

/** The step that makes a record visible: a rename, or for a new id a hard link (exclusive). */
const placed = (e: string): boolean =>
  (e.startsWith('rename ') || e.startsWith('link ')) && e.endsWith('.rec');

/** Index of the first event, failing the test if it is missing. */
function at(events: readonly string[], match: (e: string) => boolean, what: string): number {
  const i = events.findIndex(match);
  expect(i, `${what} in\n${events.join('\n')}`).toBeGreaterThanOrEqual(0);
  return i;
}

describe('fs store: durability order of overlapped fsyncs', () => {
  it('insert into a new shard and a new subject: marker, its new directories and the temp file are durable before the rename; the shard and its parent before the insert returns', async () => {
    const dir = await tempDir();
    // The fsyncs of the new directories' parents are the ones a write overlaps: make them
    // slow, the shard's parent slowest (it starts first, when the temp file makes the shard).
    const { io, events } = tracingIo(undefined, (path) =>
      path.endsWith('/s') ? 300 : /\/x(\/[^/]{2})?$/.test(path) ? 30 : 0,
    );
    const clock = fakeClock();
    const store = createFsStoreWithIo({ dir, clock }, io);
    const record = rec(clock);
    await store.insert(record);
    events.push('acknowledged');

    const root = store.dir;
    const shard = join(root, 's', record.id.slice(0, 2));
    const subjectDir = join(root, 'x', record.subject.slice(0, 2), record.subject);
    const rename = at(events, placed, 'the record put in place');
    const ack = events.indexOf('acknowledged');
    const synced = (path: string) => at(events, (e) => e === `synced ${path}`, `fsync ${path}`);
    const temp = at(
      events,
      (e) => e.startsWith(`synced ${shard}/.`) && e.endsWith('.tmp'),
      'the temp file fsync',
    );
    // Index before record: a power loss never keeps a record its subject index misses.
    expect(synced(subjectDir)).toBeLessThan(rename);
    expect(synced(dirname(subjectDir))).toBeLessThan(rename);
    expect(synced(join(root, 'x'))).toBeLessThan(rename);
    // Never a torn or empty record after power loss.
    expect(temp).toBeLessThan(rename);
    // Acknowledged means durable: the rename's directory and the new shard's entry in its parent.
    expect(synced(shard)).toBeGreaterThan(rename);
    expect(synced(shard)).toBeLessThan(ack);
    expect(synced(join(root, 's'))).toBeLessThan(ack);
    expect(await store.get(record.id)).not.toBeNull();
  });

  it('a subject directory removed by another process is made again, and its entry fsynced again, before an insert into it is acknowledged', async () => {
    const dir = await tempDir();
    const { io, events } = tracingIo();
    const clock = fakeClock();
    const store = createFsStoreWithIo({ dir, clock }, io);
    const first = rec(clock);
    await store.insert(first);
    expect(await store.delete(first.id)).toBe(true);
    // What a sweep in another process does to an empty subject directory.
    const subjectDir = join(store.dir, 'x', first.subject.slice(0, 2), first.subject);
    await fsp.rm(subjectDir, { recursive: true });
    events.length = 0;
    const second = rec(clock, { subject: first.subject });
    await store.insert(second);
    events.push('acknowledged');
    const rename = at(events, placed, 'the record put in place');
    const synced = (path: string) => at(events, (e) => e === `synced ${path}`, `fsync ${path}`);
    expect(synced(subjectDir)).toBeLessThan(rename);
    expect(synced(dirname(subjectDir))).toBeLessThan(rename);
    expect(await store.listBySubject(first.subject)).toEqual([second]);
  });

  it('a failed fsync of a new shard’s parent fails that insert, and the next write into the shard fsyncs the parent again', async () => {
    const dir = await tempDir();
    let failing = true;
    const { io, events } = tracingIo((path) => failing && path.endsWith('/s'));
    const clock = fakeClock();
    const store = createFsStoreWithIo({ dir, clock }, io);
    const first = rec(clock);
    await expect(store.insert(first)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    failing = false;
    const parent = `synced ${join(store.dir, 's')}`;
    expect(events).not.toContain(parent);
    // Same shard (first two characters of the id), so no directory is created this time.
    const second = rec(clock, { id: first.id.slice(0, 2) + rec(clock).id.slice(2) });
    await store.insert(second);
    expect(events).toContain(parent);
    expect(await store.get(second.id)).not.toBeNull();
  });
});
