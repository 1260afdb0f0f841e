import type { ResolvedSession } from '@cloakroom/core';

/**
 * A resolved session whose claims have the shape `C`. The claims are what
 * the app itself sealed at `create` (or `refresh`), so the type is a
 * promise the app makes to itself, not a runtime check.
 *
 * @example
 * ```ts
 * import type { Session } from '@cloakroom/http';
 *
 * type AppSession = Session<{ role: 'admin' | 'user' }>;
 * ```
 */
export type Session<C extends Record<string, unknown> = Record<string, unknown>> = Omit<
  ResolvedSession,
  'claims'
> & { readonly claims: Readonly<C> };
