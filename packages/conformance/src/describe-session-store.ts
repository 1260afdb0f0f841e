import { describe, it } from 'vitest';
import type { SessionStoreFactory, SessionStoreSuiteOptions } from './options';
import { sessionStoreChecks } from './session-store-checks';

/**
 * Registers the session-store conformance suite as vitest `describe`/`it`
 * blocks: model-based sequences, concurrency, expiry, subject index, scan
 * paging and scan arguments, payloads, copies (taken when a method is
 * called), malformed ids and records, SEC-27 payload-free error messages,
 * `Closed` after `close()`, and, when the options enable them, the SEC-02
 * at-rest check (`inspect`), the unreachable-backend check (`unreachable`)
 * and the caller's-client check (`callerClient`). Call it at the top level
 * of a test file.
 *
 * `factory` must return a fresh, empty store on every call: the suite calls
 * it once per check and once per model run, then closes the store and runs
 * `options.cleanup`.
 *
 * @example
 * ```ts
 * import { describeSessionStore } from '@cloakroom/conformance';
 * import { createMyStore } from 'my-cloakroom-store';
 *
 * describeSessionStore('my-store', () => createMyStore({ table: `t_${Date.now()}` }), {
 *   cleanup: (store) => dropTable(store),
 * });
 * ```
 */
export function describeSessionStore(
  name: string,
  factory: SessionStoreFactory,
  options: SessionStoreSuiteOptions = {},
): void {
  describe(`${name}: SessionStore conformance`, () => {
    for (const check of sessionStoreChecks) {
      if (check.appliesTo && !check.appliesTo(options)) continue;
      it(check.name, () => check.run(factory, options), check.timeoutMs?.(options) ?? 30_000);
    }
  });
}
