import { createHash, randomBytes } from 'node:crypto';
import { isCloakroomError, type SessionRecord } from '@cloakroom/core';
import { ConformanceFailure } from './harness';

const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A real-shaped id: base64url (no padding) of 32 random bytes, 43 characters. */
export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

/** A real-shaped id derived from a label, so generated command sequences replay. */
export function labelledId(label: string): string {
  return createHash('sha256').update(`cloakroom-conformance:${label}`).digest('base64url');
}

/** Random bytes as a plain `Uint8Array` (not a Buffer). */
export function randomPayload(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/** A record with sensible defaults for the fields not given. */
export function makeRecord(fields: Partial<SessionRecord> & { expiresAt: number }): SessionRecord {
  return {
    id: fields.id ?? randomId(),
    subject: fields.subject ?? randomId(),
    expiresAt: fields.expiresAt,
    version: fields.version ?? 1,
    payload: fields.payload ?? randomPayload(24),
  };
}

/** A copy of `record` with some fields changed. */
export function withFields(record: SessionRecord, fields: Partial<SessionRecord>): SessionRecord {
  return { ...record, ...fields };
}

/** Short printable form of an id: enough to tell records apart in a failure message. */
export function short(id: string): string {
  return ID_SHAPE.test(id) ? `${id.slice(0, 6)}…` : JSON.stringify(id.slice(0, 50));
}

/** Printable summary of a record, with the payload's size only. */
export function summary(record: SessionRecord | null | undefined): string {
  if (record === null || record === undefined) return String(record);
  const size =
    record.payload instanceof Uint8Array
      ? `${record.payload.byteLength} bytes`
      : typeof record.payload;
  return `{id ${short(String(record.id))}, subject ${short(String(record.subject))}, expiresAt ${String(record.expiresAt)}, version ${String(record.version)}, payload ${size}}`;
}

/** Byte-wise equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Why `actual` is not a faithful copy of `expected`, or `undefined` when it is. */
export function recordMismatch(actual: unknown, expected: SessionRecord): string | undefined {
  if (typeof actual !== 'object' || actual === null)
    return `expected a record, got ${String(actual)}`;
  const r = actual as Record<string, unknown>;
  if (r.id !== expected.id) return `id ${short(String(r.id))} instead of ${short(expected.id)}`;
  if (r.subject !== expected.subject)
    return `subject ${short(String(r.subject))} instead of ${short(expected.subject)}`;
  if (typeof r.expiresAt !== 'number') return `expiresAt is a ${typeof r.expiresAt}, not a number`;
  if (r.expiresAt !== expected.expiresAt)
    return `expiresAt ${r.expiresAt} instead of ${expected.expiresAt}`;
  if (typeof r.version !== 'number') return `version is a ${typeof r.version}, not a number`;
  if (r.version !== expected.version) return `version ${r.version} instead of ${expected.version}`;
  if (!(r.payload instanceof Uint8Array)) return 'payload is not a Uint8Array';
  if (!sameBytes(r.payload, expected.payload)) {
    return `payload differs (${r.payload.byteLength} bytes, expected ${expected.payload.byteLength})`;
  }
  return undefined;
}

/** Throws unless `actual` equals `expected` field by field. */
export function expectRecord(actual: unknown, expected: SessionRecord, context: string): void {
  const why = recordMismatch(actual, expected);
  if (why) throw new ConformanceFailure(`${context}: record ${short(expected.id)}: ${why}`);
}

/** Throws unless `records` holds exactly `expected` (any order, no duplicates). */
export function expectRecordSet(
  records: readonly SessionRecord[],
  expected: readonly SessionRecord[],
  context: string,
): void {
  if (!Array.isArray(records)) throw new ConformanceFailure(`${context}: expected an array`);
  const want = new Map(expected.map((r) => [r.id, r]));
  const seen = new Set<string>();
  for (const record of records) {
    const id = String((record as { id?: unknown } | null)?.id);
    if (seen.has(id))
      throw new ConformanceFailure(`${context}: record ${short(id)} returned twice`);
    seen.add(id);
    const target = want.get(id);
    if (!target) throw new ConformanceFailure(`${context}: unexpected record ${summary(record)}`);
    expectRecord(record, target, context);
  }
  const missing = expected.filter((r) => !seen.has(r.id));
  if (missing.length > 0) {
    throw new ConformanceFailure(
      `${context}: missing ${missing.length} record(s): ${missing.map((r) => short(r.id)).join(', ')}`,
    );
  }
}

/** The outcome of a call: its value, or the error it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs `fn` and captures its outcome instead of throwing. */
export async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** True when `error` is a Cloakroom error with this code (works across package copies). */
export function hasCode(error: unknown, code: string): boolean {
  return isCloakroomError(error) && error.code === code;
}

/** Printable description of a thrown value, without its message body for foreign errors. */
export function describeError(error: unknown): string {
  if (isCloakroomError(error)) return `${error.name} (${error.code})`;
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 200)}`;
  return `non-error ${typeof error}`;
}

/** Awaits `fn` and requires it to throw a Cloakroom error with `code`. */
export async function expectCode(
  fn: () => Promise<unknown>,
  code: string,
  context: string,
): Promise<void> {
  const result = await outcome(fn);
  if (result.ok) {
    throw new ConformanceFailure(
      `${context}: expected ${code}, but the call returned ${String(result.value)}`,
    );
  }
  if (!hasCode(result.error, code)) {
    throw new ConformanceFailure(
      `${context}: expected ${code}, got ${describeError(result.error)}`,
      {
        cause: result.error,
      },
    );
  }
}

/**
 * Calls `fn` and requires a promise that rejects with a Cloakroom error of
 * `code` (a synchronous throw is a failure too: callers chain `.catch`).
 * Returns the error, for checks that look inside it.
 */
export async function expectRejection(
  fn: () => Promise<unknown>,
  code: string,
  context: string,
): Promise<unknown> {
  let pending: Promise<unknown>;
  try {
    pending = fn();
  } catch (error) {
    throw new ConformanceFailure(
      `${context}: threw ${describeError(error)} synchronously; a store method must return a rejected promise`,
      { cause: error },
    );
  }
  const result = await outcome(() => pending);
  if (result.ok) {
    const v = result.value;
    const shown = Array.isArray(v)
      ? `${v.length} records`
      : typeof v === 'object'
        ? 'an object'
        : String(v);
    throw new ConformanceFailure(`${context}: expected ${code}, but the call returned ${shown}`);
  }
  if (!hasCode(result.error, code)) {
    throw new ConformanceFailure(
      `${context}: expected ${code}, got ${describeError(result.error)}`,
      {
        cause: result.error,
      },
    );
  }
  return result.error;
}
