import { ConfigInvalid, InvalidArgument } from '../errors';
import { parseTicket } from './ticket-shape';

/**
 * Attributes of the ticket cookie (SEC-08). The defaults are the strictest
 * that work for a same-site app: a `__Host-` name (the browser then insists
 * on Secure, Path=/ and no Domain, so a sibling subdomain cannot plant or
 * overwrite it), Secure, HttpOnly and SameSite=Lax.
 *
 * The ticket belongs in this cookie (or an Authorization header), never in
 * a URL: URLs end up in logs, history and Referer headers.
 *
 * @example
 * ```ts
 * const options: TicketCookieOptions = { sameSite: 'Strict' };
 * ```
 */
export interface TicketCookieOptions {
  /**
   * Cookie name; must be an RFC 6265 token. A `__Host-` name requires
   * Secure, Path=/ and no Domain; a `__Secure-` name requires Secure.
   * @default '__Host-cloakroom'
   */
  readonly name?: string;
  /** `None` requires Secure. @default 'Lax' */
  readonly sameSite?: 'Lax' | 'Strict' | 'None';
  /**
   * `false` is accepted only with a name without `__Host-`/`__Secure-`
   * prefix, and is meant for local development over plain http only.
   * @default true
   */
  readonly secure?: boolean;
  /** Keeps the ticket away from page scripts. @default true */
  readonly httpOnly?: boolean;
  /** Must start with `/`. @default '/' */
  readonly path?: string;
  /** Not allowed with a `__Host-` name. @default undefined (host-only cookie) */
  readonly domain?: string;
  /** CHIPS partitioned cookie; requires Secure. @default false */
  readonly partitioned?: boolean;
}

const DEFAULT_NAME = '__Host-cloakroom';
// RFC 6265 cookie-name = token (RFC 2616): visible ASCII except separators.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII except ';': no control characters, whitespace or attribute injection.
const ATTRIBUTE_VALUE = /^[\x21-\x3a\x3c-\x7e]+$/;
const MAX_COOKIE_HEADER = 16 * 1024;
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';

interface Attributes {
  readonly name: string;
  /** `; Path=…[; Domain=…]`, written before Max-Age. */
  readonly scope: string;
  /** `[; Secure][; HttpOnly]; SameSite=…[; Partitioned]`. */
  readonly flags: string;
}

function attributes(options: TicketCookieOptions | undefined): Attributes {
  const name = options?.name ?? DEFAULT_NAME;
  const sameSite = options?.sameSite ?? 'Lax';
  const secure = options?.secure ?? true;
  const httpOnly = options?.httpOnly ?? true;
  const path = options?.path ?? '/';
  const domain = options?.domain;
  const partitioned = options?.partitioned ?? false;

  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new ConfigInvalid('cookie name must be an RFC 6265 token');
  }
  if (sameSite !== 'Lax' && sameSite !== 'Strict' && sameSite !== 'None') {
    throw new ConfigInvalid("cookie sameSite must be 'Lax', 'Strict' or 'None'");
  }
  if (typeof path !== 'string' || !ATTRIBUTE_VALUE.test(path) || !path.startsWith('/')) {
    throw new ConfigInvalid(
      "cookie path must start with '/' and contain no ';', whitespace or control characters",
    );
  }
  if (domain !== undefined && (typeof domain !== 'string' || !ATTRIBUTE_VALUE.test(domain))) {
    throw new ConfigInvalid(
      "cookie domain must be non-empty and contain no ';', whitespace or control characters",
    );
  }
  // Browsers match the prefixes case-insensitively, so the rules do too.
  const lower = name.toLowerCase();
  if (lower.startsWith('__host-')) {
    if (secure !== true || path !== '/' || domain !== undefined) {
      throw new ConfigInvalid('a __Host- cookie needs Secure, Path=/ and no Domain');
    }
  } else if (lower.startsWith('__secure-') && secure !== true) {
    throw new ConfigInvalid('a __Secure- cookie needs Secure');
  }
  if (sameSite === 'None' && secure !== true) {
    throw new ConfigInvalid('SameSite=None needs Secure');
  }
  if (partitioned && secure !== true) throw new ConfigInvalid('a Partitioned cookie needs Secure');

  return {
    name,
    scope: `; Path=${path}${domain === undefined ? '' : `; Domain=${domain}`}`,
    flags:
      (secure ? '; Secure' : '') +
      (httpOnly ? '; HttpOnly' : '') +
      `; SameSite=${sameSite}` +
      (partitioned ? '; Partitioned' : ''),
  };
}

/**
 * Build the `Set-Cookie` header value that hands `ticket` to the client,
 * e.g. `__Host-cloakroom=cr1_…; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax`.
 *
 * With `expiresAt` (ms since the epoch) the cookie gets
 * `Max-Age = floor((expiresAt - now) / 1000)`, at least 0, so it never
 * outlives the session; without it the cookie lasts for the browser
 * session. Put the ticket only in this cookie, never in a URL.
 *
 * @param options.now - the current time in ms. @default Date.now()
 * @throws TicketMalformed when `ticket` is not a ticket (nothing else is
 * ever written into the cookie).
 * @throws ConfigInvalid for an unsafe combination of attributes (see
 * {@link TicketCookieOptions}).
 * @throws InvalidArgument when `expiresAt` or `now` is not a finite number.
 * @example
 * ```ts
 * const { ticket, expiresAt } = await cloakroom.create('user-42', {});
 * response.setHeader('Set-Cookie', serializeTicketCookie(ticket, { expiresAt }));
 * ```
 */
export function serializeTicketCookie(
  ticket: string,
  options?: TicketCookieOptions & { readonly expiresAt?: number; readonly now?: number },
): string {
  const value = parseTicket(ticket);
  const { name, scope, flags } = attributes(options);
  let maxAge = '';
  if (options?.expiresAt !== undefined) {
    const now = options.now ?? Date.now();
    if (!Number.isFinite(options.expiresAt) || !Number.isFinite(now)) {
      throw new InvalidArgument('expiresAt and now must be finite numbers (ms since the epoch)');
    }
    maxAge = `; Max-Age=${Math.max(0, Math.floor((options.expiresAt - now) / 1000))}`;
  }
  return `${name}=${value}${scope}${maxAge}${flags}`;
}

/**
 * Build the `Set-Cookie` header value that deletes the ticket cookie: an
 * empty value with `Max-Age=0` and an `Expires` date in 1970. Pass the same
 * options used to set it, or the browser keeps the original cookie.
 *
 * @throws ConfigInvalid for an unsafe combination of attributes.
 * @example
 * ```ts
 * await cloakroom.revoke(ticket);
 * response.setHeader('Set-Cookie', clearTicketCookie());
 * ```
 */
export function clearTicketCookie(options?: TicketCookieOptions): string {
  const { name, scope, flags } = attributes(options);
  return `${name}=${scope}; Max-Age=0; Expires=${EPOCH}${flags}`;
}

/**
 * Read the ticket cookie from a request's `Cookie` header: the value of the
 * first cookie named `name`, or `undefined` when there is none. The value is
 * returned as sent, not validated: pass it to the manager, which parses it
 * strictly. Headers over 16 KiB (beyond any browser's limit) are ignored
 * and give `undefined`, so a hostile header costs bounded work.
 *
 * @param options.name - @default '__Host-cloakroom'
 * @throws ConfigInvalid when `name` is not an RFC 6265 token.
 * @example
 * ```ts
 * const session = await cloakroom.resolve(readTicketCookie(request.headers.cookie) ?? '');
 * ```
 */
export function readTicketCookie(
  cookieHeader: string | undefined | null,
  options?: { readonly name?: string },
): string | undefined {
  const name = options?.name ?? DEFAULT_NAME;
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new ConfigInvalid('cookie name must be an RFC 6265 token');
  }
  if (typeof cookieHeader !== 'string' || cookieHeader.length > MAX_COOKIE_HEADER) {
    return undefined;
  }
  // One forward pass: the next '=' is searched again only once passed, so
  // a header of many '='-less pairs stays linear.
  let start = 0;
  let eq = -1;
  while (start < cookieHeader.length) {
    if (eq < start) {
      eq = cookieHeader.indexOf('=', start);
      if (eq === -1) return undefined;
    }
    let end = cookieHeader.indexOf(';', start);
    if (end === -1) end = cookieHeader.length;
    // A pair without '=' has no name (RFC 6265bis); it cannot be ours.
    if (eq < end && cookieHeader.slice(start, eq).trim() === name) {
      return cookieHeader.slice(eq + 1, end).trim();
    }
    start = end + 1;
  }
  return undefined;
}
