import type { KeySetStore } from '@cloakroom/core';
import { asVerdict, type ConformanceCheck, ensure } from './harness';
import type { KeySetStoreFactory, KeySetStoreSuiteOptions } from './options';
import { sameBytes } from './records';

/**
 * A check of the key-set-store suite.
 * @example
 * ```ts
 * const cas: KeySetStoreCheck = keySetStoreChecks.find((c) => c.id === 'key-set-cas')!;
 * ```
 */
export type KeySetStoreCheck = ConformanceCheck<KeySetStoreFactory, KeySetStoreSuiteOptions>;

/** The store's `close()`, which the contract makes optional, or undefined. */
export function closeOf(store: KeySetStore): (() => Promise<void>) | undefined {
  const close = (store as { close?: () => Promise<void> }).close;
  return typeof close === 'function' ? () => close.call(store) : undefined;
}

/** Builds a key-set store, runs `fn`, then closes it (when it has `close`) and cleans up. */
export async function withKeySets<T>(
  factory: () => KeySetStore | Promise<KeySetStore>,
  options: KeySetStoreSuiteOptions,
  fn: (store: KeySetStore) => Promise<T>,
): Promise<T> {
  const store = await factory();
  const teardown = async () => {
    await closeOf(store)?.();
    if (options.cleanup) await options.cleanup(store);
  };
  let result: T;
  try {
    result = await fn(store);
  } catch (err) {
    await teardown().catch(() => undefined);
    throw asVerdict(err);
  }
  await teardown();
  return result;
}

/** Requires `read(name)` to give exactly this version and document. */
export async function expectEntry(
  store: KeySetStore,
  name: string,
  version: number,
  document: Uint8Array,
  when: string,
) {
  const entry = await store.read(name);
  ensure(entry !== null, `${when}: read(${JSON.stringify(name)}) returned null`);
  ensure(entry.version === version, `${when}: version ${String(entry.version)}, want ${version}`);
  ensure(entry.document instanceof Uint8Array, `${when}: document is not a Uint8Array`);
  ensure(
    sameBytes(entry.document, document),
    `${when}: document differs (${entry.document.byteLength} bytes, want ${document.byteLength})`,
  );
}
