// Operator operations over the whole store: rewrap and sweep. Internal module;
// exposed through the manager.
import { InvalidArgument, isCloakroomError } from '../errors';
import type { KeySetStatus, KeyStatus } from '../keys/rotating/status';
import type { Actor } from '../contracts/policy';
import type { SessionContext } from './context';
import { recordAad } from '../crypto/format';
import { recordMaskKeysOf } from '../crypto/aes-gcm-cipher';
import { isBoundRecord } from '../crypto/bound-layout';
import { rewrapBoundRecord } from '../crypto/bound-record';
import type { SessionRecord } from '../contracts/store';

/** Options of `rewrap`. */
export interface RewrapOptions {
  /** Records per store page. @default 500 */
  readonly batchSize?: number;
  /** Resume from a cursor reported by an earlier, interrupted run. */
  readonly cursor?: string;
  /** Stops between batches; the report then carries the cursor to resume from. */
  readonly signal?: AbortSignal;
  /** Called after every batch with the running totals (persist `cursor` to resume after a crash). */
  readonly onProgress?: (progress: RewrapProgress) => void;
}

/** Running totals of a rewrap. */
export interface RewrapProgress {
  /** Records read so far. */
  readonly scanned: number;
  /** Records re-sealed under the primary storage key. */
  readonly rewrapped: number;
  /** Records that were already under the primary key. */
  readonly current: number;
  /** Records that could not be opened (unknown or disabled key, tampered): left untouched. */
  readonly unreadable: number;
  /** Records that lost the compare-and-swap to concurrent writers every time: run rewrap again. */
  readonly contended: number;
  /** Where to resume; `undefined` once the scan is complete. */
  readonly cursor?: string;
}

/** The outcome of a rewrap. */
export interface RewrapReport extends RewrapProgress {
  /** Whether the whole store was scanned (false when stopped by `signal`). */
  readonly complete: boolean;
  /** The primary storage key id every readable record is now under. */
  readonly primaryKeyId: string;
  /**
   * Records per storage key id as left by this run: once only the primary
   * remains (and `unreadable` is 0), older storage keys can be disabled.
   */
  readonly byKeyId: Readonly<Record<string, number>>;
}

const MAX_CAS_ATTEMPTS = 5;
const REWRAP_CONCURRENCY = 32;

/**
 * Re-seals every record not under the primary storage key. Resumable
 * (`cursor`), idempotent (records under the primary are skipped), and
 * compare-and-swap per record, so a concurrent write (a touch, a refresh) is
 * never overwritten: the record is read again and re-sealed from its new
 * content. Only sealed bytes are ever written (SEC-14). Memory stays flat:
 * one page at a time.
 */
export async function rewrap(
  ctx: SessionContext,
  options: RewrapOptions = {},
  actor?: Actor,
): Promise<RewrapReport> {
  ctx.ensureOpen();
  await ctx.authorize('store.rewrap', actor);
  const batchSize = options.batchSize ?? 500;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new InvalidArgument('batchSize must be an integer from 1 to 100000');
  }
  const primaryKeyId = (await ctx.keys.storageKeys()).primary.id;
  const byKeyId: Record<string, number> = Object.create(null);
  const count = (id: string) => {
    byKeyId[id] = (byKeyId[id] ?? 0) + 1;
  };
  let scanned = 0;
  let rewrapped = 0;
  let current = 0;
  let unreadable = 0;
  let contended = 0;
  let cursor = options.cursor;
  let complete = false;
  const progress = (): RewrapProgress => ({
    scanned,
    rewrapped,
    current,
    unreadable,
    contended,
    ...(cursor === undefined ? {} : { cursor }),
  });

  while (!options.signal?.aborted) {
    const page = await ctx.store.scan(
      cursor === undefined ? { limit: batchSize } : { cursor, limit: batchSize },
    );
    // Records of one page are re-sealed REWRAP_CONCURRENCY at a time: a
    // networked store then pays round trips in parallel (the bench measured
    // 1.5x on Redis), while memory stays one page.
    for (let i = 0; i < page.records.length; i += REWRAP_CONCURRENCY) {
      const batch = page.records.slice(i, i + REWRAP_CONCURRENCY);
      const outcomes = await Promise.all(batch.map((r) => rewrapOne(ctx, r, primaryKeyId)));
      for (const outcome of outcomes) {
        scanned++;
        if (outcome.kind === 'rewrapped') rewrapped++;
        else if (outcome.kind === 'current') current++;
        else if (outcome.kind === 'unreadable') unreadable++;
        else if (outcome.kind === 'contended') contended++;
        if (outcome.keyId !== undefined) count(outcome.keyId);
      }
    }
    cursor = page.cursor;
    options.onProgress?.(progress());
    if (cursor === undefined) {
      complete = true;
      break;
    }
  }
  const report = { ...progress(), complete, primaryKeyId, byKeyId: { ...byKeyId } };
  ctx.emit({
    type: 'store.rewrapped',
    scanned,
    rewrapped,
    unreadable,
    contended,
    complete,
    primaryKeyId,
  });
  return report;
}

type Outcome =
  | { readonly kind: 'rewrapped' | 'current' | 'unreadable'; readonly keyId?: string }
  | { readonly kind: 'gone' | 'contended'; readonly keyId?: undefined };

async function rewrapOne(
  ctx: SessionContext,
  first: SessionRecord,
  primaryKeyId: string,
): Promise<Outcome> {
  // A ticket-bound record (default cipher) moves by re-masking its data key:
  // no ticket, and its body is copied as is (crypto/bound-record.ts).
  const masks = recordMaskKeysOf(ctx.cipher);
  let record: SessionRecord | null = first;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS && record !== null; attempt++) {
    const bound = masks !== undefined && isBoundRecord(record.payload);
    let keyId: string;
    try {
      keyId = ctx.cipher.keyIdOf(record.payload);
    } catch {
      return { kind: 'unreadable' };
    }
    if (keyId === primaryKeyId) return { kind: 'current', keyId };
    let payload: Uint8Array;
    try {
      payload =
        masks !== undefined && bound
          ? await rewrapBoundRecord(ctx.cipher, masks, record.payload, record.id, record.subject)
          : await resealTwoLayer(ctx, record);
    } catch (error) {
      if (
        isCloakroomError(error) &&
        (error.code === 'ERR_DECRYPTION_FAILED' || error.code === 'ERR_KEY_NOT_FOUND')
      ) {
        return { kind: 'unreadable', keyId };
      }
      throw error;
    }
    const next: SessionRecord = { ...record, version: record.version + 1, payload };
    if (await ctx.store.replace(next, record.version)) {
      // The content is unchanged, but a cached entry must not outlive the
      // bytes it was read from (SEC-32); the next resolve reads afresh.
      ctx.nearCache?.invalidate(record.id);
      return { kind: 'rewrapped', keyId: ctx.cipher.keyIdOf(payload) };
    }
    // A concurrent write won: read the record again and re-seal what it holds now.
    record = await ctx.store.get(record.id);
  }
  return { kind: record === null ? 'gone' : 'contended' };
}

/** A two-layer record (or one not ticket-bound): the storage layer opened and sealed again. */
async function resealTwoLayer(ctx: SessionContext, record: SessionRecord): Promise<Uint8Array> {
  const aad = recordAad(record.id, record.subject);
  const plain = await ctx.cipher.open(record.payload, aad);
  try {
    return await ctx.cipher.seal(plain, aad);
  } finally {
    plain.fill(0);
  }
}

/**
 * Deletes expired records, for stores without native expiry (filesystem,
 * PostgreSQL, SQLite). A store with native expiry and no `sweep` returns 0.
 */
export async function sweep(ctx: SessionContext, actor?: Actor): Promise<number> {
  ctx.ensureOpen();
  await ctx.authorize('store.sweep', actor);
  if (ctx.store.sweep === undefined) return 0;
  const count = await ctx.store.sweep(ctx.now());
  ctx.emit({ type: 'store.swept', count });
  return count;
}

/** What a key provider that rotates offers; `rotatingKeys(...)` does. */
interface RotatingOperations {
  rotate(kind: 'signing' | 'storage'): Promise<KeyStatus>;
  compromise(id: string): Promise<KeySetStatus>;
}

function rotating(ctx: SessionContext): RotatingOperations {
  const k = ctx.keys as Partial<RotatingOperations>;
  if (typeof k.rotate !== 'function' || typeof k.compromise !== 'function') {
    throw new InvalidArgument('the configured key provider does not rotate (use rotatingKeys)');
  }
  return k as RotatingOperations;
}

/** Rotate signing or storage keys through the provider, as the operator action `keys.rotate`. */
export async function rotateKeys(
  ctx: SessionContext,
  kind: 'signing' | 'storage',
  actor?: Actor,
): Promise<KeyStatus> {
  ctx.ensureOpen();
  if (kind !== 'signing' && kind !== 'storage')
    throw new InvalidArgument('kind must be "signing" or "storage"');
  await ctx.authorize('keys.rotate', actor);
  let status: KeyStatus;
  try {
    status = await rotating(ctx).rotate(kind);
  } finally {
    // Cached sessions were vetted under the old key set: drop them all (cheap).
    ctx.nearCache?.reset();
  }
  ctx.emit({ type: 'keys.rotated', kind, keyId: status.id });
  return status;
}

/** Mark a key compromised (disabled at once), as the operator action `keys.rotate`. */
export async function compromiseKey(
  ctx: SessionContext,
  id: string,
  actor?: Actor,
): Promise<KeySetStatus> {
  ctx.ensureOpen();
  if (typeof id !== 'string' || id.length === 0 || id.length > 256)
    throw new InvalidArgument('key id must be a non-empty string');
  await ctx.authorize('keys.rotate', actor);
  let status: KeySetStatus;
  try {
    status = await rotating(ctx).compromise(id);
  } finally {
    // Sessions under a compromised key must stop at once on this instance
    // (SEC-19, SEC-32), not when each cached entry ages out.
    ctx.nearCache?.reset();
  }
  ctx.emit({ type: 'keys.compromised', keyId: id });
  return status;
}
