import type { SessionStoreCheck } from './harness';
import { modelCheck } from './checks/model';

/**
 * Every check of the session-store suite, each callable on its own with
 * `run(factory, options)`. {@link describeSessionStore} wraps each in an `it`.
 *
 * @example
 * ```ts
 * const check = sessionStoreChecks.find((c) => c.name.startsWith('model'))!;
 * await check.run(() => createMyStore(), {});
 * ```
 */
export const sessionStoreChecks: readonly SessionStoreCheck[] = [modelCheck];
