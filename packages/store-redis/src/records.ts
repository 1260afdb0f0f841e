import { StoreDataInvalid, type SessionRecord } from '@cloakroom/core';
import type { Connection } from './connection';
import { bucketOf, type KeyLayout } from './key-layout';
import { decodeRecord, type StoredRecord } from './record-codec';
import { SCRIPTS } from './scripts';

/** What the store's operations share. */
export interface StoreContext {
  readonly conn: Connection;
  readonly keys: KeyLayout;
}

/** Decode a value read under the prefix, or throw `StoreDataInvalid` (never its bytes). */
export function decodeOrThrow(buf: Buffer): StoredRecord {
  const stored = decodeRecord(buf);
  if (stored === undefined) {
    throw new StoreDataInvalid('redis store: a record value under the prefix is malformed');
  }
  return stored;
}

/** The returned record, or `null` when dead at `now`. */
export function liveRecord(id: string, stored: StoredRecord, now: number): SessionRecord | null {
  if (stored.pending !== undefined || stored.expiresAt <= now) return null;
  return {
    id,
    subject: stored.subject,
    expiresAt: stored.expiresAt,
    version: stored.version,
    payload: stored.payload,
  };
}

/**
 * A pending successor (a cross-slot rotate that has not finished its last
 * step): live if and only if its rotate recorded a decision. A reader that
 * finds the decision finishes the rotate, so a crash between the commit
 * point and the last step loses nothing.
 */
export async function settlePending(
  ctx: StoreContext,
  id: string,
  pending: { readonly tx: string; readonly oldId: string },
): Promise<SessionRecord | null> {
  const { conn, keys } = ctx;
  const decision = await conn.client.get(
    `${keys.bucketBase(bucketOf(pending.oldId))}tx:${pending.tx}`,
  );
  if (decision === null) return null;
  const base = keys.bucketBase(bucketOf(id));
  const live = await conn.script(
    SCRIPTS.promote,
    [keys.recordKey(id)],
    [String(conn.now()), pending.tx, id, base],
  );
  // PROMOTE also answers a value that is already live (promoted since we read it).
  if (!Buffer.isBuffer(live)) return null;
  return liveRecord(id, decodeOrThrow(live), conn.now());
}

/** The record `get` returns for the value read at its key. */
export function readRecord(
  ctx: StoreContext,
  id: string,
  value: Buffer | null,
): SessionRecord | null | Promise<SessionRecord | null> {
  if (value === null) return null;
  const stored = decodeOrThrow(value);
  if (stored.pending !== undefined) return settlePending(ctx, id, stored.pending);
  return liveRecord(id, stored, ctx.conn.now());
}

/** Decode `[id, value, id, value, ...]` pairs returned by a script into live records. */
export function pairsToRecords(
  items: readonly unknown[],
  from: number,
  now: number,
): SessionRecord[] {
  const out: SessionRecord[] = [];
  for (let i = from; i + 1 < items.length; i += 2) {
    const id = items[i];
    const value = items[i + 1];
    if (!Buffer.isBuffer(id) || !Buffer.isBuffer(value)) {
      throw new StoreDataInvalid('redis store: unexpected script reply');
    }
    const record = liveRecord(id.toString('utf8'), decodeOrThrow(value), now);
    if (record !== null) out.push(record);
  }
  return out;
}
