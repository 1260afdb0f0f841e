import { InvalidArgument, type SessionRecord, StoreDataInvalid } from '@cloakroom/core';

const MAX_INT4 = 2_147_483_647;

/**
 * True when PostgreSQL can store this text unchanged: `text` refuses NUL
 * and a lone surrogate would be rewritten on the way to UTF-8, so two
 * different ids could meet in one row.
 */
export function isStorableText(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    !value.includes('\0') &&
    (value as string & { isWellFormed(): boolean }).isWellFormed()
  );
}

/** Throws `InvalidArgument` (naming the field, never its value) unless the record can be written. */
export function checkRecord(record: SessionRecord, what: string): void {
  if (record === null || typeof record !== 'object') {
    throw new InvalidArgument(`${what} must be a session record`);
  }
  if (!isStorableText(record.id) || record.id.length === 0) {
    throw new InvalidArgument(`${what}.id must be non-empty text without NUL`);
  }
  if (!isStorableText(record.subject)) {
    throw new InvalidArgument(`${what}.subject must be text without NUL`);
  }
  if (!Number.isSafeInteger(record.expiresAt)) {
    throw new InvalidArgument(`${what}.expiresAt must be an integer (epoch ms)`);
  }
  if (!Number.isInteger(record.version) || record.version < 1 || record.version > MAX_INT4) {
    throw new InvalidArgument(`${what}.version must be an integer from 1 to ${MAX_INT4}`);
  }
  if (!(record.payload instanceof Uint8Array)) {
    throw new InvalidArgument(`${what}.payload must be a Uint8Array`);
  }
}

/** Throws `InvalidArgument` unless `version` is an integer; says whether it can match a stored one. */
export function checkExpectedVersion(version: number): boolean {
  if (!Number.isInteger(version)) {
    throw new InvalidArgument('expectedVersion must be an integer');
  }
  return version >= 1 && version <= MAX_INT4;
}

/** The bytes as a Buffer view (no copy) for the driver. */
export function toBytea(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A plain Uint8Array (not a Buffer) view of the driver's bytes, no copy: the
 * driver parses every bytea value into a fresh buffer of its own, held only
 * by the row this call is turning into a record. (A fresh `new Uint8Array(n)`
 * would cost an off-heap allocation per read.)
 */
export function fromBytea(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new StoreDataInvalid('a bytea column held no bytes');
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Reads a bigint column whatever type parser the application installed for int8. */
export function fromInt8(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value as string | bigint);
  if (!Number.isSafeInteger(n)) throw new StoreDataInvalid('an int8 column is out of range');
  return n;
}

/** Builds a returned record from a row of `id, subject, expires_at, version, payload`. */
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
