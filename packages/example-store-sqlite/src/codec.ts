// Role: a record (and a key-set entry) <-> the backend's representation,
// here the columns of a row. Encoding takes what the store was given after
// core's checks passed; decoding checks what the backend gave back, since a
// file can be damaged or written by something else.
import {
  isStoreKey,
  isUint8Array,
  type KeySetEntry,
  type SessionRecord,
  StoreDataInvalid,
} from '@cloakroom/core';

/** A row of the sessions table, as better-sqlite3 returns it. */
export interface SessionRow {
  readonly id: unknown;
  readonly subject: unknown;
  readonly expires_at: unknown;
  readonly version: unknown;
  readonly payload: unknown;
}

/** The named parameters of a record in the session statements. */
export interface RecordParams {
  readonly id: string;
  readonly subject: string;
  readonly expires_at: number;
  readonly version: number;
  readonly payload: Uint8Array;
}

/**
 * The statement parameters for a record that passed `assertSessionRecord`.
 * better-sqlite3 runs statements synchronously, so the payload is read when
 * the store method is called, never later; no copy is needed.
 *
 * @example
 * ```ts
 * statements.insert.run({ ...recordParams(record), now });
 * ```
 */
export function recordParams(record: SessionRecord): RecordParams {
  return {
    id: record.id,
    subject: record.subject,
    expires_at: record.expiresAt,
    version: record.version,
    payload: record.payload,
  };
}

/**
 * The record a row holds, with a fresh `Uint8Array` payload (callers get a
 * copy, and the public type is not `Buffer`).
 *
 * @throws StoreDataInvalid when a column does not hold what this store writes.
 * @example
 * ```ts
 * const row = statements.get.get(id, now) as SessionRow | undefined;
 * return row === undefined ? null : rowToRecord(row);
 * ```
 */
export function rowToRecord(row: SessionRow): SessionRecord {
  const { id, subject, expires_at, version, payload } = row;
  if (
    !isStoreKey(id) ||
    !isStoreKey(subject) ||
    !Number.isSafeInteger(expires_at) ||
    !Number.isSafeInteger(version) ||
    (version as number) < 1 ||
    !isUint8Array(payload)
  ) {
    // Names no value: the row may hold anything.
    throw new StoreDataInvalid('a sessions row does not hold a valid record');
  }
  return {
    id,
    subject,
    expiresAt: expires_at as number,
    version: version as number,
    payload: new Uint8Array(payload),
  };
}

/**
 * The key-set entry a row of `version, document` holds, document copied.
 *
 * @throws StoreDataInvalid when a column does not hold what this store writes.
 * @example
 * ```ts
 * const row = statements.read.get(name) as { version: unknown; document: unknown } | undefined;
 * return row === undefined ? null : rowToKeySetEntry(row);
 * ```
 */
export function rowToKeySetEntry(row: {
  readonly version: unknown;
  readonly document: unknown;
}): KeySetEntry {
  const { version, document } = row;
  if (!Number.isSafeInteger(version) || (version as number) < 1 || !isUint8Array(document)) {
    throw new StoreDataInvalid('a key-set row does not hold a valid entry');
  }
  return { version: version as number, document: new Uint8Array(document) };
}
