import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsStore } from '@cloakroom/store-fs';
import { decodeRecord } from '../src/codec';
import { walk } from './helpers';

/**
 * The subject's seated live records as the files on disk say, oldest seat
 * first: read straight from the record files (the seat is not part of the
 * public record), each confirmed live through `get` (which also rules out an
 * uncommitted rotate half).
 */
export async function seatsOf(store: FsStore, subject: string, now: number): Promise<string[]> {
  const seats: { id: string; seat: number }[] = [];
  for (const file of await walk(join(store.dir, 's'))) {
    if (!file.endsWith('.rec')) continue;
    const stored = decodeRecord(await readFile(file));
    if (stored === undefined || stored.seat === undefined) continue;
    const { record } = stored;
    if (record.subject !== subject || now >= record.expiresAt) continue;
    if ((await store.get(record.id)) === null) continue;
    seats.push({ id: record.id, seat: stored.seat });
  }
  return seats.sort((a, b) => a.seat - b.seat).map((s) => s.id);
}
