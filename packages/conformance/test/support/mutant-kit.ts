import {
  assertSessionRecord,
  InvalidArgument,
  type ScanOptions,
  type SessionRecord,
  type SessionStore,
  StoreUnavailable,
} from '@cloakroom/core';
import { copy, type ReferenceStore, type ReferenceStoreOptions } from './reference-store';

/** A deliberately broken store: what it gets wrong, how to build it, and which checks must catch it. */
export interface Mutant {
  readonly flaw: string;
  readonly create: (options: ReferenceStoreOptions) => SessionStore;
  /** Ids of the checks that must fail against it (each with a ConformanceFailure). */
  readonly caughtBy: readonly string[];
  /**
   * Checks that catch the flaw too, but only when their random inputs reach it
   * (the model test); they may fail or pass. Every other check must pass, which
   * proves the mutant was built and ran.
   */
  readonly mayCatch?: readonly string[];
}

/** The reference store's argument checks for scan, for mutants that rewrite scan. */
export function scanStart(ref: ReferenceStore, { cursor, limit }: ScanOptions): string | undefined {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgument('bad limit');
  return cursor === undefined ? undefined : ref.idOfCursor(cursor);
}

/** Wraps every method so a StoreUnavailable it throws is replaced by `swap(error, args)`. */
export function onUnavailable(
  ref: ReferenceStore,
  swap: (error: StoreUnavailable, args: unknown[]) => unknown,
): SessionStore {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (error) {
        if (error instanceof StoreUnavailable) throw swap(error, args);
        throw error;
      }
    };
  return {
    ...ref,
    insert: wrap(ref.insert),
    get: wrap(ref.get),
    replace: wrap(ref.replace),
    rotate: wrap(ref.rotate),
    delete: wrap(ref.delete),
    deleteBySubject: wrap(ref.deleteBySubject),
    listBySubject: wrap(ref.listBySubject),
    scan: wrap(ref.scan),
    sweep: wrap(ref.sweep!),
  };
}

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/**
 * The reference store's checks and copy, taken when a method is called: a
 * mutant keeps them unless they are its flaw, so it fails only the checks
 * aimed at that flaw.
 */
export function early(record: SessionRecord, what?: string): SessionRecord {
  assertSessionRecord(record, what);
  return copy(record);
}
