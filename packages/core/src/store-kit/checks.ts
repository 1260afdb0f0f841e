// Argument checks every store needs on the records and ids it is handed.
// Exported so adapters share one definition instead of each writing its own.
import { InvalidArgument } from '../errors';
import type { SessionRecord, SubjectLimit } from '../contracts/store';

/**
 * Longest id or subject index a store was once asked to accept.
 * @deprecated Every id and subject index is exactly 43 base64url characters
 *   (see {@link isStoreKey}); this constant is kept for compatibility only.
 */
export const MAX_STORE_KEY_LENGTH = 256;

// A session id is SHA-256 of the ticket and a subject index an HMAC-SHA-256,
// both base64url without padding: 43 characters of [A-Za-z0-9_-]. Nothing else
// is a key, so a store may build file names, Redis keys and SQL literals from
// one that passed this check ('../x', '*', NUL and spaces cannot).
const STORE_KEY = /^[A-Za-z0-9_-]{43}$/;

// Key-set names are chosen by the operator ('default', 'tenant-a.v2').
const KEY_SET_NAME = /^[A-Za-z0-9._-]{1,64}$/;

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
 * True when `value` has the shape of a session id or subject index: exactly
 * 43 characters of `[A-Za-z0-9_-]`. A store that answers a malformed id as
 * missing (rather than throwing) uses this.
 *
 * @example
 * ```ts
 * async get(id) { if (!isStoreKey(id)) return null; … }
 * ```
 */
export function isStoreKey(value: unknown): value is string {
  return typeof value === 'string' && STORE_KEY.test(value);
}

/**
 * Throws `InvalidArgument` unless `value` is a session id or subject index:
 * exactly 43 characters of `[A-Za-z0-9_-]` (see {@link isStoreKey}). The
 * message names `what`, never the value.
 *
 * @example
 * ```ts
 * assertStoreKey(id, 'id'); // in a store's get/delete
 * ```
 */
export function assertStoreKey(value: unknown, what: string): asserts value is string {
  if (!isStoreKey(value)) {
    throw new InvalidArgument(`${what} must be 43 characters of [A-Za-z0-9_-]`);
  }
}

/**
 * Throws `InvalidArgument` unless `value` is a key-set name,
 * `/^[A-Za-z0-9._-]{1,64}$/`. Every `KeySetStore` rejects a bad name this
 * way, so the error is the same on every backend.
 *
 * @example
 * ```ts
 * async read(name) { assertKeySetName(name); … }
 * ```
 */
export function assertKeySetName(value: unknown): asserts value is string {
  if (typeof value !== 'string' || !KEY_SET_NAME.test(value)) {
    throw new InvalidArgument('key set name must match /^[A-Za-z0-9._-]{1,64}$/');
  }
}

/**
 * Throws `InvalidArgument` unless the arguments of `KeySetStore.write` are
 * well-formed: `document` a `Uint8Array`, `expectedVersion` `null` or a
 * positive integer.
 *
 * @example
 * ```ts
 * async write(name, document, expectedVersion) {
 *   assertKeySetName(name);
 *   assertKeySetWrite(document, expectedVersion);
 *   …
 * }
 * ```
 */
export function assertKeySetWrite(
  document: unknown,
  expectedVersion: unknown,
): asserts document is Uint8Array {
  if (!isUint8Array(document)) {
    throw new InvalidArgument('key set document must be a Uint8Array');
  }
  if (expectedVersion !== null) assertRecordVersion(expectedVersion, 'expectedVersion');
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

/** Most seats a {@link SubjectLimit} may ask for: more is not a limit a store can hold in one atomic step. */
export const MAX_SUBJECT_LIMIT = 1000;

/**
 * Throws `InvalidArgument` unless `value` is a {@link SubjectLimit}: `max` an
 * integer from 1 to {@link MAX_SUBJECT_LIMIT}, `evict` `'oldest'` or `'refuse'`.
 *
 * @example
 * ```ts
 * async insertWithLimit(record, limit) { assertSessionRecord(record); assertSubjectLimit(limit); … }
 * ```
 */
export function assertSubjectLimit(value: unknown, what = 'limit'): asserts value is SubjectLimit {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgument(`${what} must be an object`);
  }
  const l = value as Record<string, unknown>;
  if (
    !Number.isSafeInteger(l.max) ||
    (l.max as number) < 1 ||
    (l.max as number) > MAX_SUBJECT_LIMIT
  ) {
    throw new InvalidArgument(`${what}.max must be an integer from 1 to ${MAX_SUBJECT_LIMIT}`);
  }
  if (l.evict !== 'oldest' && l.evict !== 'refuse') {
    throw new InvalidArgument(`${what}.evict must be 'oldest' or 'refuse'`);
  }
}
