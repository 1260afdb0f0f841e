import { readTicketCookie } from '@cloakroom/core';

/** Where a request's ticket came from. */
export type TicketSource = 'cookie' | 'bearer';

/** The ticket a request presents, none, or both kinds at once (refused). */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'ticket'; readonly ticket: string; readonly via: TicketSource }
  | { readonly kind: 'ambiguous' };

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The ticket of a request: from the ticket cookie, or (when `bearer` is on)
 * from `Authorization: Bearer …`. A request with both is `ambiguous`: which
 * one would win is a guess an attacker could steer, so the caller refuses
 * it. With `bearer` off, the `Authorization` header is not looked at.
 * Tickets are returned as sent; `resolve` parses them strictly.
 *
 * @example
 * ```ts
 * import { readCredentials } from '@cloakroom/http';
 *
 * readCredentials({ cookie: '__Host-cloakroom=cr1_x', authorization: undefined }, {}, false);
 * // { kind: 'ticket', ticket: 'cr1_x', via: 'cookie' }
 * ```
 */
export function readCredentials(
  headers: { readonly cookie: string | undefined; readonly authorization: string | undefined },
  cookie: { readonly name?: string },
  bearer: boolean,
): Credentials {
  const fromCookie = readTicketCookie(headers.cookie, cookie);
  const fromHeader = bearer ? BEARER.exec(headers.authorization ?? '')?.[1] : undefined;
  if (fromCookie !== undefined && fromHeader !== undefined) return { kind: 'ambiguous' };
  if (fromHeader !== undefined) return { kind: 'ticket', ticket: fromHeader, via: 'bearer' };
  // An empty cookie value is what a cleared cookie leaves behind: nobody signed in.
  if (fromCookie !== undefined && fromCookie !== '') {
    return { kind: 'ticket', ticket: fromCookie, via: 'cookie' };
  }
  return { kind: 'none' };
}
