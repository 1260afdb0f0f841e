import { createHmac, hkdfSync } from 'node:crypto';
import { timingSafeEqual } from '@cloakroom/core';

/** Issues and checks per-session CSRF tokens. */
export interface CsrfGuard {
  /** The token for a session: put it in every form that changes state. */
  tokenFor(sessionId: string): string;
  /** Whether `presented` is the token of `sessionId` (constant-time). */
  check(sessionId: string, presented: unknown): boolean;
}

/**
 * CSRF tokens derived from the session id: HMAC-SHA-256 under a key of its
 * own, so nothing is stored and every instance that shares the master key
 * agrees. The session id is the SHA-256 of the ticket, which a cross-site
 * attacker cannot learn, and it changes on every refresh, so a token dies
 * with its ticket. The key is derived from the master key with HKDF under a
 * distinct label (one key per purpose), never the master key itself.
 *
 * @example
 * ```ts
 * const csrf = createCsrfGuard(masterKeyBytes);
 * csrf.check(session.sessionId, form.get('csrf')); // true for the token rendered into the page
 * ```
 */
export function createCsrfGuard(masterKey: Uint8Array): CsrfGuard {
  const key = Buffer.from(
    hkdfSync('sha256', masterKey, 'cloakroom-example-app', 'csrf-token/v1', 32),
  );
  const tokenFor = (sessionId: string) =>
    createHmac('sha256', key).update(`csrf\0${sessionId}`, 'utf8').digest('base64url');
  return {
    tokenFor,
    check(sessionId, presented) {
      if (typeof presented !== 'string' || presented.length === 0) return false;
      return timingSafeEqual(tokenFor(sessionId), presented);
    },
  };
}
