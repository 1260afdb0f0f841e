// Reading Set-Cookie headers the way the SEC-08 checks need them.
import { expect } from 'vitest';

export interface SetCookie {
  readonly name: string;
  readonly value: string;
  /** Attribute names lower-cased; flags map to ''. */
  readonly attributes: ReadonlyMap<string, string>;
}

export function parseSetCookie(header: string): SetCookie {
  const [pair = '', ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const at = part.indexOf('=');
    const key = (at === -1 ? part : part.slice(0, at)).trim().toLowerCase();
    expect(attributes.has(key), `attribute ${key} appears once`).toBe(false);
    attributes.set(key, at === -1 ? '' : part.slice(at + 1).trim());
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/** The one Set-Cookie of a response, parsed. */
export function setCookieOf(response: Response): SetCookie {
  const headers = response.headers.getSetCookie();
  expect(headers).toHaveLength(1);
  return parseSetCookie(headers[0]!);
}

/** The `name=value` pair a client sends back. */
export function cookieOf(response: Response): string {
  const { name, value } = setCookieOf(response);
  return `${name}=${value}`;
}

/** Every header except Set-Cookie, plus the body: where a ticket must never appear. */
export async function everythingButTheCookie(response: Response): Promise<string> {
  const headers = [...response.headers].filter(([name]) => name !== 'set-cookie');
  return JSON.stringify(headers) + (await response.text());
}

export function expectSecureAttributes(cookie: SetCookie): void {
  expect(cookie.name).toBe('__Host-cloakroom');
  expect(cookie.attributes.get('secure')).toBe('');
  expect(cookie.attributes.get('httponly')).toBe('');
  expect(cookie.attributes.get('samesite')).toBe('Lax');
  expect(cookie.attributes.get('path')).toBe('/');
  expect(cookie.attributes.has('domain')).toBe(false);
}
