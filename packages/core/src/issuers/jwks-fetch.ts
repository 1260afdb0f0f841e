// A deliberately small HTTP GET for an identity provider's JWKS: one URL
// fixed at configuration, no redirects, a hard deadline covering connect,
// headers and body, and a byte cap enforced while reading. Internal: not
// re-exported. `fetch` offers neither the byte cap nor a way to refuse
// redirects to another scheme cleanly, hence node:http(s).

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { fromUtf8 } from '../lib/encoding';
import { ConfigInvalid } from '../errors';

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Parse and vet a JWKS URL at configuration time: `https:` only, or
 * `http:` to a loopback host when `allowInsecureLoopback` is set (tests,
 * local development). Credentials in the URL are refused (they would end
 * up in logs); a fragment is dropped.
 */
export function checkJwksUri(value: unknown, allowInsecureLoopback: boolean): URL {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigInvalid('trustedIssuer: jwksUri must be a non-empty URL string');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ConfigInvalid('trustedIssuer: jwksUri is not a valid URL', { cause });
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigInvalid('trustedIssuer: jwksUri must not carry credentials');
  }
  if (url.protocol === 'http:') {
    if (!allowInsecureLoopback || !LOOPBACK_HOSTS.has(url.hostname)) {
      throw new ConfigInvalid(
        'trustedIssuer: jwksUri must use https: (http: only to 127.0.0.1, localhost or [::1] with allowInsecureLoopback)',
      );
    }
  } else if (url.protocol !== 'https:') {
    throw new ConfigInvalid('trustedIssuer: jwksUri must use https:');
  }
  url.hash = '';
  return url;
}

/** Limits of {@link fetchJson}. */
export interface FetchLimits {
  /** Deadline for the whole exchange (connect, headers, body), in ms. */
  readonly timeoutMs: number;
  /** Largest body accepted, in bytes. */
  readonly maxResponseBytes: number;
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  readonly caCertificates?: readonly string[];
}

/** Why a JWKS fetch failed; the message names the failure, never the body. */
export class JwksFetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwksFetchError';
  }
}

/**
 * GET `url` and parse the body as JSON. Rejects with {@link JwksFetchError}
 * on a non-200 status (redirects included), a body over the byte cap
 * (checked against `Content-Length` first, then while streaming), invalid
 * UTF-8 or JSON, a network error, or the deadline passing; the socket is
 * destroyed in every failure case so nothing lingers.
 */
export function fetchJson(url: URL, limits: FetchLimits): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'GET',
      // No pooled keep-alive socket outlives the exchange.
      agent: false,
      ...(limits.caCertificates === undefined
        ? {}
        : { ca: [...rootCertificates, ...limits.caCertificates] }),
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    const fail = (error: JwksFetchError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new JwksFetchError(`JWKS request timed out after ${limits.timeoutMs} ms`)),
      limits.timeoutMs,
    );
    req.on('error', (cause) => fail(new JwksFetchError('JWKS request failed', { cause })));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        fail(new JwksFetchError(`JWKS endpoint answered HTTP ${res.statusCode ?? 0}`));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxResponseBytes) {
        fail(new JwksFetchError(`JWKS response exceeds ${limits.maxResponseBytes} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > limits.maxResponseBytes) {
          fail(new JwksFetchError(`JWKS response exceeds ${limits.maxResponseBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (cause) => fail(new JwksFetchError('JWKS response failed', { cause })));
      res.on('end', () => {
        if (settled) return;
        let body: unknown;
        try {
          body = JSON.parse(fromUtf8(Buffer.concat(chunks)));
        } catch (cause) {
          fail(new JwksFetchError('JWKS response is not valid UTF-8 JSON', { cause }));
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(body);
      });
    });
    req.end();
  });
}
