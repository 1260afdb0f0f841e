import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest form body accepted: every form here is a few fields. */
const MAX_BODY = 8 * 1024;

/** A request body that was too large or not a form: answered 413 / 415. */
export class BadBody extends Error {
  constructor(readonly status: 413 | 415) {
    super(status === 413 ? 'request body too large' : 'expected an urlencoded form');
  }
}

/**
 * Reads an `application/x-www-form-urlencoded` body (at most 8 KiB).
 * @throws BadBody for another content type or a larger body.
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new BadBody(415);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BadBody(413);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** A fresh nonce for this response's inline script (Content-Security-Policy). */
export function scriptNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * Headers every response carries: no caching (pages show sessions), no
 * sniffing, no referrer, no framing, and a CSP that runs only the inline
 * script carrying this response's nonce.
 */
export function securityHeaders(res: ServerResponse, nonce: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
}

/** Sends an HTML page. */
export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(html);
}

/** Sends JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(value));
}

/** 303 See Other: after a POST the browser GETs `location` (no resubmission on reload). */
export function redirect(res: ServerResponse, location: string, cookie?: string): void {
  if (cookie !== undefined) res.appendHeader('Set-Cookie', cookie);
  res.statusCode = 303;
  res.setHeader('Location', location);
  res.end();
}

/**
 * Whether a request comes from our own pages: a cross-site `Origin` or
 * `Sec-Fetch-Site: cross-site` is refused. Requests without either (old
 * browsers, scripts) pass here and still need the CSRF token where one exists.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
