import { createHmac, randomBytes } from 'node:crypto';
import { timingSafeEqual } from '@cloakroom/core';

/** The CSRF token fallback for browsers that send neither `Sec-Fetch-Site` nor `Origin`. */
export interface CsrfTokens {
  /** The token for a session: render it into forms (`_csrf`) or send it as `X-CSRF-Token`. */
  tokenFor(sessionId: string): string;
  /** Whether `presented` is the token of `sessionId` (constant-time). */
  verify(sessionId: string, presented: unknown): boolean;
}

const LABEL = 'cloakroom/csrf-token/v1\0';

/**
 * Session-bound CSRF tokens: HMAC-SHA-256 of the session id under `secret`.
 * Nothing is stored; the session id is the SHA-256 of the ticket (which a
 * cross-site page cannot read) and changes with every refresh, so a token
 * dies with its ticket. The secret keeps a logged session id from being
 * enough to forge a token.
 *
 * @param secret - at least 32 bytes, shared by the fleet. @default 32 random bytes (this process only)
 * @example
 * ```ts
 * import { createCsrfTokens } from '@cloakroom/http';
 *
 * const tokens = createCsrfTokens();
 * const token = tokens.tokenFor('A'.repeat(43));
 * tokens.verify('A'.repeat(43), token); // true
 * ```
 */
export function createCsrfTokens(secret: Uint8Array = randomBytes(32)): CsrfTokens {
  const key = Buffer.from(secret); // our own copy: a caller wiping theirs later changes nothing
  const tokenFor = (sessionId: string) =>
    createHmac('sha256', key)
      .update(LABEL + sessionId, 'utf8')
      .digest('base64url');
  return {
    tokenFor,
    verify(sessionId, presented) {
      if (typeof presented !== 'string' || presented.length === 0 || presented.length > 128) {
        return false;
      }
      return timingSafeEqual(tokenFor(sessionId), presented);
    },
  };
}
