// Freshness and strength of the authentication behind a session (step-up).
import type { AuthenticationInfo } from './id-token';

/** What an action requires of the authentication. */
export interface AuthRequirement {
  /** The user authenticated at most this many seconds ago (needs `auth_time`). */
  readonly maxAgeSec?: number;
  /** One of these `acr` values. */
  readonly acr?: readonly string[];
  /** Every one of these methods in `amr` (e.g. `['mfa']`). */
  readonly amr?: readonly string[];
}

/** The answer of {@link requireAuth}: fine, or what to ask the provider for. */
export type AuthDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Which requirements failed. */
      readonly failed: readonly ('maxAge' | 'acr' | 'amr')[];
      /** Pass to `vault.beginSignIn(...)` to step up. */
      readonly signIn: {
        readonly prompt: 'login';
        readonly maxAge?: number;
        readonly acrValues?: string;
      };
    };

/**
 * Whether a session's authentication is fresh and strong enough for an action,
 * and if not, how to sign in again. `now` in epoch ms.
 *
 * @example
 * ```ts
 * const decision = requireAuth(current.auth, { maxAgeSec: 300, amr: ['mfa'] });
 * if (!decision.ok) {
 *   const start = await vault.beginSignIn({ ...decision.signIn, returnTo: '/transfer' });
 *   res.setHeader('Set-Cookie', start.setCookie).redirect(start.url);
 * }
 * ```
 */
export function requireAuth(
  auth: AuthenticationInfo,
  need: AuthRequirement,
  now: number = Date.now(),
): AuthDecision {
  const failed: ('maxAge' | 'acr' | 'amr')[] = [];
  if (need.maxAgeSec !== undefined) {
    if (auth.authTime === undefined || now / 1000 - auth.authTime > need.maxAgeSec)
      failed.push('maxAge');
  }
  if (need.acr !== undefined && need.acr.length > 0) {
    if (auth.acr === undefined || !need.acr.includes(auth.acr)) failed.push('acr');
  }
  if (need.amr !== undefined && need.amr.length > 0) {
    const have = new Set(auth.amr ?? []);
    if (!need.amr.every((m) => have.has(m))) failed.push('amr');
  }
  if (failed.length === 0) return { ok: true };
  return {
    ok: false,
    failed,
    signIn: {
      prompt: 'login',
      ...(need.maxAgeSec === undefined ? {} : { maxAge: need.maxAgeSec }),
      ...(need.acr === undefined || need.acr.length === 0 ? {} : { acrValues: need.acr.join(' ') }),
    },
  };
}
