import { ConfigInvalid } from '@cloakroom/core';
import {
  createCsrfTokens,
  csrfDecision,
  normalizeOrigin,
  readCredentials,
  resolveHttpOptions,
} from '@cloakroom/http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const policy = {
  ownOrigins: ['https://app.example.com'],
  allowedOrigins: ['https://admin.example.com'],
};
const unsafe = fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'post', 'PROPFIND');

describe('csrfDecision', () => {
  it('SEC-33 never allows an unsafe request whose Sec-Fetch-Site is cross-site or same-site from an origin not allowed', () => {
    fc.assert(
      fc.property(
        unsafe,
        fc.constantFrom('cross-site', 'same-site', 'CROSS-SITE', 'bogus'),
        fc.option(fc.webUrl(), { nil: undefined }),
        (method, site, origin) => {
          fc.pre(origin === undefined || !origin.startsWith('https://admin.example.com'));
          const verdict = csrfDecision({ method, secFetchSite: site, origin }, policy);
          expect(verdict.verdict).toBe('deny');
        },
      ),
    );
  });

  it('SEC-33 without Sec-Fetch-Site, an Origin passes only when it is the app or allowed; none at all needs the token', () => {
    fc.assert(
      fc.property(unsafe, fc.webUrl(), (method, origin) => {
        const verdict = csrfDecision({ method, secFetchSite: undefined, origin }, policy);
        const allowed = [...policy.ownOrigins, ...policy.allowedOrigins].includes(
          new URL(origin).origin,
        );
        expect(verdict.verdict).toBe(allowed ? 'allow' : 'deny');
      }),
    );
    for (const origin of [
      'https://app.example.com',
      'https://APP.example.com:443',
      'https://admin.example.com',
    ]) {
      expect(
        csrfDecision({ method: 'POST', secFetchSite: undefined, origin }, policy).verdict,
      ).toBe('allow');
    }
    for (const origin of [
      'null',
      'https://app.example.com.evil.example',
      'http://app.example.com',
      'garbage',
      '',
    ]) {
      expect(
        csrfDecision({ method: 'POST', secFetchSite: undefined, origin }, policy).verdict,
      ).toBe('deny');
    }
    expect(
      csrfDecision({ method: 'POST', secFetchSite: undefined, origin: undefined }, policy),
    ).toEqual({ verdict: 'token' });
  });

  it('safe methods always pass; same-origin and none pass', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'get']) {
      expect(
        csrfDecision({ method, secFetchSite: 'cross-site', origin: 'https://evil.example' }, policy)
          .verdict,
      ).toBe('allow');
    }
    for (const site of ['same-origin', 'none', ' Same-Origin ']) {
      expect(
        csrfDecision({ method: 'POST', secFetchSite: site, origin: undefined }, policy).verdict,
      ).toBe('allow');
    }
  });
});

describe('normalizeOrigin', () => {
  it('gives one spelling per origin and nothing for null or garbage', () => {
    expect(normalizeOrigin('HTTPS://App.Example.com:443')).toBe('https://app.example.com');
    expect(normalizeOrigin('http://127.0.0.1:3000/')).toBe('http://127.0.0.1:3000');
    for (const bad of [undefined, 'null', '', 'not a url', 'data:text/plain,x']) {
      expect(normalizeOrigin(bad)).toBeUndefined();
    }
  });
});

describe('CSRF tokens', () => {
  it('SEC-33 a token is bound to its session and its secret', () => {
    const secret = new Uint8Array(32).fill(7);
    const tokens = createCsrfTokens(secret);
    const a = 'a'.repeat(43);
    const b = 'b'.repeat(43);
    expect(tokens.verify(a, tokens.tokenFor(a))).toBe(true);
    expect(tokens.verify(b, tokens.tokenFor(a))).toBe(false);
    expect(createCsrfTokens(new Uint8Array(32).fill(8)).verify(a, tokens.tokenFor(a))).toBe(false);
    // A fleet sharing the secret agrees; the secret is copied, so wiping it later changes nothing.
    const again = createCsrfTokens(secret);
    secret.fill(0);
    expect(again.verify(a, tokens.tokenFor(a))).toBe(true);
    for (const bad of [undefined, '', 42, ['x'], 'x'.repeat(500)])
      expect(tokens.verify(a, bad)).toBe(false);
  });
});

describe('readCredentials', () => {
  const ticket = `cr1_${'A'.repeat(43)}`;
  it('reads the cookie, a bearer ticket only when enabled, and refuses both at once', () => {
    const cookie = `__Host-cloakroom=${ticket}`;
    const authorization = `Bearer ${ticket}`;
    expect(readCredentials({ cookie, authorization: undefined }, {}, false)).toEqual({
      kind: 'ticket',
      ticket,
      via: 'cookie',
    });
    expect(readCredentials({ cookie: undefined, authorization }, {}, false)).toEqual({
      kind: 'none',
    });
    expect(readCredentials({ cookie: undefined, authorization }, {}, true)).toEqual({
      kind: 'ticket',
      ticket,
      via: 'bearer',
    });
    expect(readCredentials({ cookie, authorization }, {}, true)).toEqual({ kind: 'ambiguous' });
    expect(readCredentials({ cookie, authorization }, {}, false).kind).toBe('ticket');
    expect(
      readCredentials({ cookie: '__Host-cloakroom=', authorization: undefined }, {}, false),
    ).toEqual({ kind: 'none' });
    expect(readCredentials({ cookie: undefined, authorization: 'Basic abc' }, {}, true)).toEqual({
      kind: 'none',
    });
  });
});

describe('resolveHttpOptions', () => {
  it('refuses origins that are not bare http(s) origins, short CSRF secrets and unsafe cookies with ConfigInvalid', () => {
    for (const origin of [
      'app.example.com',
      'https://app.example.com/path',
      'ftp://x.example',
      'https://u:p@x.example',
      'https://x.example?q',
    ]) {
      expect(() => resolveHttpOptions({ origin })).toThrow(ConfigInvalid);
      expect(() => resolveHttpOptions({ allowedOrigins: [origin] })).toThrow(ConfigInvalid);
    }
    expect(() => resolveHttpOptions({ origin: [] })).toThrow(ConfigInvalid);
    expect(() => resolveHttpOptions({ csrfSecret: new Uint8Array(16) })).toThrow(ConfigInvalid);
    expect(() => resolveHttpOptions({ cookie: { secure: false } })).toThrow(ConfigInvalid);
    expect(() => resolveHttpOptions({ retryAfterSeconds: -1 })).toThrow(ConfigInvalid);
    const resolved = resolveHttpOptions({
      origin: 'https://App.Example.com/',
      allowedOrigins: ['http://localhost:3000'],
    });
    expect(resolved.origins).toEqual(['https://app.example.com']);
    expect(resolved.allowedOrigins).toEqual(['http://localhost:3000']);
    expect(resolved.bearer).toBe(false);
    expect(resolved.retryAfterSeconds).toBe(5);
  });
});
