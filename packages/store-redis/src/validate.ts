import { InvalidArgument, type SessionRecord } from '@cloakroom/core';

/** Longest id or subject index accepted (real ones are 43 characters). */
export const MAX_KEY_LENGTH = 256;

// Key names and values carry ids and subjects as UTF-8; a lone surrogate
// would not survive the round trip, so two different ids could share a key.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)?.get as ((this: unknown) => string | undefined) | undefined;

/** True for a genuine `Uint8Array` (or `Buffer`), from any realm. */
export function isUint8Array(value: unknown): value is Uint8Array {
  if (!ArrayBuffer.isView(value)) return false;
  return typedArrayTag === undefined
    ? value instanceof Uint8Array
    : typedArrayTag.call(value) === 'Uint8Array';
}

/** Throws `InvalidArgument` unless `value` is well-formed text of 1..256 characters. */
export function assertKey(value: unknown, what: string): asserts value is string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_KEY_LENGTH ||
    LONE_SURROGATE.test(value)
  ) {
    throw new InvalidArgument(
      `${what} must be well-formed text of 1 to ${MAX_KEY_LENGTH} characters`,
    );
  }
}

/** Throws `InvalidArgument` unless `value` is a positive safe integer. */
export function assertVersion(value: unknown, what: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidArgument(`${what} must be a positive integer`);
  }
}

/** Throws `InvalidArgument` unless `value` has the shape of a record. Messages never hold content. */
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
