import { InvalidArgument, type SessionRecord } from '@cloakroom/core';

/** Longest id or subject index the store accepts (real ones are 43 characters). */
export const MAX_KEY_LENGTH = 256;

// The %TypedArray%.prototype[Symbol.toStringTag] getter reads the internal
// slot, so unlike `instanceof` it works across realms and cannot be spoofed
// by a plain object that sets its own Symbol.toStringTag.
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)?.get as ((this: unknown) => string | undefined) | undefined;

/** True for a genuine `Uint8Array` (or a subclass such as `Buffer`), from any realm. */
export function isUint8Array(value: unknown): value is Uint8Array {
  if (!ArrayBuffer.isView(value)) return false;
  return typedArrayTag === undefined
    ? value instanceof Uint8Array
    : typedArrayTag.call(value) === 'Uint8Array';
}

/** Throws `InvalidArgument` unless `value` is a string of 1..256 characters. */
export function assertKey(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new InvalidArgument(`${what} must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
  }
}

/** Throws `InvalidArgument` unless `value` is a positive safe integer. */
export function assertVersion(value: unknown, what: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidArgument(`${what} must be a positive integer`);
  }
}

/**
 * Throws `InvalidArgument` unless `value` has the shape of a
 * {@link SessionRecord}. Messages name the field, never its content.
 */
export function assertRecord(value: unknown, what = 'record'): asserts value is SessionRecord {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgument(`${what} must be an object`);
  }
  const r = value as Record<string, unknown>;
  assertKey(r.id, `${what}.id`);
  assertKey(r.subject, `${what}.subject`);
  if (!Number.isSafeInteger(r.expiresAt)) {
    throw new InvalidArgument(`${what}.expiresAt must be an integer (epoch milliseconds)`);
  }
  assertVersion(r.version, `${what}.version`);
  if (!isUint8Array(r.payload)) {
    throw new InvalidArgument(`${what}.payload must be a Uint8Array`);
  }
}
