import type { SessionRecord } from '@cloakroom/core';
import { InvalidArgument } from '@cloakroom/core';
import { isKey } from './layout';

/**
 * Check a record before anything touches the disk (SEC-03: the id and
 * subject become file names). Messages name the field, never its value.
 */
export function checkRecord(record: SessionRecord, maxPayloadBytes: number, what = 'record'): void {
  if (typeof record !== 'object' || record === null) {
    throw new InvalidArgument(`fs store: ${what} must be an object`);
  }
  if (!isKey(record.id)) {
    throw new InvalidArgument(`fs store: ${what}.id must be 43 characters from [A-Za-z0-9_-]`);
  }
  if (!isKey(record.subject)) {
    throw new InvalidArgument(`fs store: ${what}.subject must be 43 characters from [A-Za-z0-9_-]`);
  }
  if (!Number.isSafeInteger(record.expiresAt)) {
    throw new InvalidArgument(`fs store: ${what}.expiresAt must be an integer (epoch ms)`);
  }
  checkVersion(record.version, `${what}.version`);
  if (!(record.payload instanceof Uint8Array)) {
    throw new InvalidArgument(`fs store: ${what}.payload must be a Uint8Array`);
  }
  if (record.payload.byteLength > maxPayloadBytes) {
    throw new InvalidArgument(
      `fs store: ${what}.payload is ${record.payload.byteLength} bytes, over maxPayloadBytes (${maxPayloadBytes})`,
    );
  }
}

/** A version is a positive safe integer. */
export function checkVersion(version: unknown, what: string): asserts version is number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidArgument(`fs store: ${what} must be a positive integer`);
  }
}
