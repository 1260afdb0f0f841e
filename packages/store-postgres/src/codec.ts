// A session record or key-set entry <-> the columns and statement parameters
// of the PostgreSQL tables. The stores check their arguments with core's
// helpers first; this file only knows how the backend holds them.
import {
  InvalidArgument,
  isUint8Array,
  type KeySetEntry,
  type SessionRecord,
  StoreDataInvalid,
} from '@cloakroom/core';

/** Largest value the `version` columns (`integer`, int4) hold. */
export const MAX_INT4 = 2_147_483_647;

/** A record as the parameters `id, subject, expires_at, version, payload`. */
export type RecordParams = [string, string, number, number, Buffer];

/**
 * True when PostgreSQL can store this text unchanged: `text` refuses NUL
 * and a lone surrogate would be rewritten on the way to UTF-8, so two
 * different ids could meet in one row.
 *
 * @example
 * ```ts
 * isStorableText('abc'); // true
 * isStorableText('a\0b'); // false
 * ```
 */
export function isStorableText(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    !value.includes('\0') &&
    (value as string & { isWellFormed(): boolean }).isWellFormed()
  );
}

/**
 * The parameters for a record that passed `assertSessionRecord`. Called
 * synchronously when the store method is called, so the payload is copied
 * before the first await: a caller that reuses its buffer afterwards cannot
 * change what is written (the statement runs only once a pooled connection
 * is free).
 *
 * @throws InvalidArgument when `version` does not fit the int4 column.
 * @example
 * ```ts
 * const params = recordParams(record, 'record');
 * await runner.run((c) => c.query(bind(sql.insert, [...params, now()])));
 * ```
 */
export function recordParams(record: SessionRecord, what: string): RecordParams {
  if (record.version > MAX_INT4) {
    throw new InvalidArgument(`${what}.version must be at most ${MAX_INT4} (an integer column)`);
  }
  return [record.id, record.subject, record.expiresAt, record.version, copyBytes(record.payload)];
}

/**
 * A copy of `bytes` as a Buffer, the type the driver sends as `bytea`.
 *
 * @example
 * ```ts
 * const param = copyBytes(document); // later changes to `document` do not reach the query
 * ```
 */
export function copyBytes(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes);
}

/**
 * A plain Uint8Array (not a Buffer) view of the driver's bytes, no copy: the
 * driver parses every bytea value into a fresh buffer of its own, held only
 * by the row this call is turning into a record. (A fresh `new Uint8Array(n)`
 * would cost an off-heap allocation per read.)
 *
 * @throws StoreDataInvalid when the column held no bytes.
 * @example
 * ```ts
 * const payload = fromBytea(row.payload);
 * ```
 */
export function fromBytea(value: unknown): Uint8Array {
  if (!isUint8Array(value)) throw new StoreDataInvalid('a bytea column held no bytes');
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Reads a bigint column whatever type parser the application installed for int8.
 *
 * @throws StoreDataInvalid when the value is not a safe integer.
 * @example
 * ```ts
 * const expiresAt = fromInt8(row.expires_at); // '1700000000000' or 1700000000000n or a number
 * ```
 */
export function fromInt8(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value as string | bigint);
  if (!Number.isSafeInteger(n)) throw new StoreDataInvalid('an int8 column is out of range');
  return n;
}

/**
 * Builds a returned record from a row of `id, subject, expires_at, version, payload`.
 *
 * @throws StoreDataInvalid when a column has the wrong type.
 * @example
 * ```ts
 * const records = result.rows.map(rowToRecord);
 * ```
 */
export function rowToRecord(row: Record<string, unknown>): SessionRecord {
  const { id, subject, version } = row;
  if (typeof id !== 'string' || typeof subject !== 'string' || typeof version !== 'number') {
    throw new StoreDataInvalid('a session row has columns of the wrong type');
  }
  return {
    id,
    subject,
    expiresAt: fromInt8(row.expires_at),
    version,
    payload: fromBytea(row.payload),
  };
}

/**
 * Builds a key-set entry from a row of `version, document`.
 *
 * @throws StoreDataInvalid when a column has the wrong type.
 * @example
 * ```ts
 * const row = result.rows[0];
 * return row ? rowToKeySetEntry(row) : null;
 * ```
 */
export function rowToKeySetEntry(row: Record<string, unknown>): KeySetEntry {
  const version = Number(row.version);
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new StoreDataInvalid('a key-set row has an invalid version');
  }
  return { version, document: fromBytea(row.document) };
}
