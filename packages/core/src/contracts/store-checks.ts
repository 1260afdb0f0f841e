// Argument checks every store needs on the records and ids it is handed.
// Exported so adapters share one definition instead of each writing its own.
import { InvalidArgument } from '../errors';
import type { SessionRecord } from './store';

/** Longest id or subject index a store need accept (real ones are 43 characters). */
export const MAX_STORE_KEY_LENGTH = 256;

// Ids and subjects travel as UTF-8 in keys, file names and columns; a lone
// surrogate would not survive the round trip, so two ids could collide.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// The %TypedArray%.prototype[Symbol.toStringTag] getter reads the internal
// slot, so unlike `instanceof` it works across realms and cannot be spoofed.
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)?.get as ((this: unknown) => string | undefined) | undefined;

/**
 * True for a genuine `Uint8Array` (or a subclass such as `Buffer`), from any realm.
 *
 * @example
 * ```ts
 * isUint8Array(new Uint8Array(1)); // true
 * isUint8Array({ length: 1 });     // false
 * ```
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  if (!ArrayBuffer.isView(value)) return false;
  return typedArrayTag === undefined
    ? value instanceof Uint8Array
    : typedArrayTag.call(value) === 'Uint8Array';
}

/**
 * Throws `InvalidArgument` unless `value` is well-formed text of 1 to
 * {@link MAX_STORE_KEY_LENGTH} characters. The message names `what`, never the value.
 *
 * @example
 * ```ts
 * assertStoreKey(id, 'id'); // in a store's get/delete
 * ```
 */
export function assertStoreKey(value: unknown, what: string): asserts value is string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_STORE_KEY_LENGTH ||
    LONE_SURROGATE.test(value)
  ) {
    throw new InvalidArgument(
      `${what} must be well-formed text of 1 to ${MAX_STORE_KEY_LENGTH} characters`,
    );
  }
}

/**
 * Throws `InvalidArgument` unless `value` is a positive safe integer.
 *
 * @example
 * ```ts
 * assertRecordVersion(expectedVersion, 'expectedVersion');
 * ```
 */
export function assertRecordVersion(value: unknown, what: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidArgument(`${what} must be a positive integer`);
  }
}

/**
 * Throws `InvalidArgument` unless `value` has the shape of a
 * {@link SessionRecord}. Messages name the field, never its content.
 *
 * @example
 * ```ts
 * async insert(record) { assertSessionRecord(record); … }
 * ```
 */
export function assertSessionRecord(
  value: unknown,
  what = 'record',
): asserts value is SessionRecord {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgument(`${what} must be an object`);
  }
  const r = value as Record<string, unknown>;
  assertStoreKey(r.id, `${what}.id`);
  assertStoreKey(r.subject, `${what}.subject`);
  if (!Number.isSafeInteger(r.expiresAt)) {
    throw new InvalidArgument(`${what}.expiresAt must be an integer (epoch milliseconds)`);
  }
  assertRecordVersion(r.version, `${what}.version`);
  if (!isUint8Array(r.payload)) {
    throw new InvalidArgument(`${what}.payload must be a Uint8Array`);
  }
}
