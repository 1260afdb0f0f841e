import { describe, it } from 'vitest';
import { keySetStoreChecks } from './key-set-checks';
import type { KeySetStoreFactory, KeySetStoreSuiteOptions } from './options';

/**
 * Registers the `KeySetStore` conformance suite as vitest `describe`/`it`
 * blocks: compare-and-swap semantics of `write` (`null` = create only,
 * versions counting up from 1), exactly one winner among concurrent writers,
 * binary round trip, copies, name isolation and validation
 * (`InvalidArgument`), `Closed` after `close()`, payload-free error messages,
 * a model-based sequence test and, when the options enable them, the
 * unreachable-backend and caller's-client checks. `factory` returns a store with no documents;
 * the suite calls `close()` when the store has one, then `options.cleanup`.
 *
 * @example
 * ```ts
 * import { describeKeySetStore } from '@cloakroom/conformance';
 * describeKeySetStore('my-key-sets', () => createMyKeySetStore({ prefix: `t${Date.now()}` }));
 * ```
 */
export function describeKeySetStore(
  name: string,
  factory: KeySetStoreFactory,
  options: KeySetStoreSuiteOptions = {},
): void {
  describe(`${name}: KeySetStore conformance`, () => {
    for (const check of keySetStoreChecks) {
      if (check.appliesTo && !check.appliesTo(options)) continue;
      it(check.name, () => check.run(factory, options), check.timeoutMs?.(options) ?? 30_000);
    }
  });
}
