import type { Claims, DefaultDepositedClaims, ResolvedSession } from '@cloakroom/core';

/**
 * The session an adapter hands a handler: core's `ResolvedSession` with the
 * manager's claims types, `C` for the app's own sessions and `D` for
 * deposited ones. Adapters take them from the `Cloakroom<C, D>` they are
 * given, so `createCloakroom<{ role: string }>(…)` types `session.claims.role`
 * in every handler.
 *
 * @example
 * ```ts
 * import type { Session } from '@cloakroom/http';
 *
 * type AppSession = Session<{ role: 'admin' | 'user' }>;
 * declare const session: AppSession;
 * session.claims.role; // 'admin' | 'user'
 * ```
 */
export type Session<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> = ResolvedSession<C, D>;
