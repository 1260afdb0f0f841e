// trustedIssuer: happy paths per algorithm, claim checks (SEC-18) and
// configuration (https only). A real JWKS endpoint runs on loopback.
import { ConfigInvalid } from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrustedIssuerOptions, trustedIssuer } from '../../src/issuers/trusted-issuer';
import {
  type JwksServer,
  type ProviderKey,
  fakeClock,
  providerKey,
  signExternal,
  startJwksServer,
} from '../support/jwks-server';
import { reasonOf } from '../support/jwt';

const ISS = 'https://idp.test/';
const AUD = 'https://api.test';
const START = 1_800_000_000_000;

const rs = providerKey('RS256', 'rs-1');
const ps = providerKey('PS256', 'ps-1');
const es = providerKey('ES256', 'es-1');
const ed = providerKey('EdDSA', 'ed-1');
// Published without `alg`: usable for RS256 and PS256 alike.
const rsaNoAlg = providerKey('RS256', 'rsa-any', { jwkAlg: false });

let server: JwksServer;
beforeAll(async () => {
  server = await startJwksServer([rs.jwk, ps.jwk, es.jwk, ed.jwk, rsaNoAlg.jwk]);
});
afterAll(() => server.close());

function setup(extra: Partial<TrustedIssuerOptions> = {}) {
  const clock = fakeClock(START);
  const issuer = trustedIssuer({
    issuer: ISS,
    jwksUri: server.url,
    audience: AUD,
    allowInsecureLoopback: true,
    now: clock.now,
    ...extra,
  });
  const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: ISS,
    aud: AUD,
    sub: 'user-42',
    iat: clock.seconds(),
    exp: clock.seconds() + 300,
    ...over,
  });
  return { clock, issuer, claims };
}

describe('trustedIssuer happy path', () => {
  it.each<[string, ProviderKey]>([
    ['RS256', rs],
    ['PS256', ps],
    ['ES256', es],
    ['EdDSA', ed],
  ])('SEC-16 a %s token from the provider verifies against its JWKS', async (_alg, key) => {
    const { issuer, claims } = setup();
    const token = await signExternal(key, claims({ scope: 'read' }));
    const { payload, header } = await issuer.verify(token);
    expect(payload).toMatchObject({ iss: ISS, aud: AUD, sub: 'user-42', scope: 'read' });
    expect(header).toMatchObject({ alg: key.alg, kid: key.kid });
  });

  it('SEC-16 an RSA JWK without alg accepts both RS256 and PS256', async () => {
    const { issuer, claims } = setup();
    for (const alg of ['RS256', 'PS256'] as const) {
      const token = await signExternal({ ...rsaNoAlg, alg }, claims());
      await expect(issuer.verify(token)).resolves.toMatchObject({ header: { alg } });
    }
  });

  it('exposes the configured issuer and a name', () => {
    const { issuer } = setup();
    expect(issuer.issuer).toBe(ISS);
    expect(issuer.name).toBe('trusted-issuer');
  });

  it('SEC-18 any one of several configured audiences is enough; an aud list is matched', async () => {
    const { issuer, claims } = setup({ audience: ['other', AUD] });
    const token = await signExternal(es, claims({ aud: ['x', AUD] }));
    expect((await issuer.verify(token)).payload.aud).toEqual(['x', AUD]);
  });
});

describe('SEC-18 claims', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['wrong iss', { iss: 'https://evil.test/' }, 'claims'],
    ['iss differing by a trailing slash', { iss: 'https://idp.test' }, 'claims'],
    ['wrong aud', { aud: 'https://other.test' }, 'claims'],
    ['missing iss', { iss: undefined }, 'claims'],
    ['missing aud', { aud: undefined }, 'claims'],
    ['missing exp', { exp: undefined }, 'claims'],
    ['missing sub', { sub: undefined }, 'claims'],
    ['empty sub', { sub: '' }, 'claims'],
    ['numeric sub', { sub: 42 }, 'claims'],
    ['string exp', { exp: '9999999999' }, 'claims'],
    ['nbf in the future beyond tolerance', { nbf: 1_800_000_060 }, 'claims'],
    ['iat in the future beyond tolerance', { iat: 1_800_000_060 }, 'claims'],
    ['expired beyond tolerance', { exp: 1_800_000_000 - 6 }, 'expired'],
  ])('SEC-18 %s is rejected', async (_name, over, reason) => {
    const { issuer, claims } = setup();
    const token = await signExternal(es, claims(over));
    expect(await reasonOf(issuer.verify(token))).toBe(reason);
  });

  it('SEC-18 expiry is judged by the injected clock with the tolerance', async () => {
    const { issuer, claims, clock } = setup({ clockToleranceSec: 5 });
    const exp = clock.seconds() + 10;
    const token = await signExternal(ed, claims({ exp }));
    expect((await issuer.verify(token)).payload.exp).toBe(exp);
    clock.advance(14_000); // 4 s past exp: inside tolerance
    expect((await issuer.verify(token)).payload.exp).toBe(exp);
    clock.advance(2_000); // 6 s past exp
    expect(await reasonOf(issuer.verify(token))).toBe('expired');
  });

  it('SEC-18 a configured typ is required (compared as a media type)', async () => {
    const { issuer, claims } = setup({ typ: 'at+jwt' });
    const ok = await signExternal(es, claims(), { typ: 'application/at+jwt' });
    expect((await issuer.verify(ok)).header.typ).toBe('application/at+jwt');
    const idToken = await signExternal(es, claims(), { typ: 'JWT' });
    expect(await reasonOf(issuer.verify(idToken))).toBe('claims');
    const none = await signExternal(es, claims(), { typ: undefined });
    expect(await reasonOf(issuer.verify(none))).toBe('claims');
  });

  it('SEC-27 a rejection carries no claims and no token text', async () => {
    const { issuer, claims } = setup();
    const token = await signExternal(es, claims({ aud: 'wrong', secret: 'top-secret-claim' }));
    const err = await issuer.verify(token).catch((e: unknown) => e);
    const dump = JSON.stringify(err, Object.getOwnPropertyNames(err as object));
    const causeDump = JSON.stringify((err as { cause?: object }).cause ?? {});
    for (const text of [dump, causeDump, String(err)]) {
      expect(text).not.toContain('top-secret-claim');
      expect(text).not.toContain('user-42');
      expect(text).not.toContain(token.split('.')[1]!);
    }
  });
});

describe('configuration', () => {
  const base = { issuer: ISS, audience: AUD };

  it.each([
    ['http to a public host', 'http://idp.example/jwks', true],
    ['http to loopback without allowInsecureLoopback', 'http://127.0.0.1:1/jwks', false],
    ['http to a non-loopback private address', 'http://10.0.0.1/jwks', true],
    ['ftp', 'ftp://idp.example/jwks', true],
    ['file', 'file:///etc/passwd', true],
    ['credentials in the URL', 'https://user:pw@idp.example/jwks', false],
    ['not a URL', 'idp.example/jwks', false],
    ['empty', '', false],
  ])('a jwksUri using %s is refused at configuration', (_name, jwksUri, allow) => {
    expect(() => trustedIssuer({ ...base, jwksUri, allowInsecureLoopback: allow })).toThrow(
      ConfigInvalid,
    );
  });

  it.each(['http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:9/jwks'])(
    'http loopback %s is allowed only with allowInsecureLoopback',
    (jwksUri) => {
      expect(() => trustedIssuer({ ...base, jwksUri })).toThrow(ConfigInvalid);
      expect(trustedIssuer({ ...base, jwksUri, allowInsecureLoopback: true }).issuer).toBe(ISS);
    },
  );

  it('https is accepted without any flag and fetches nothing at construction', () => {
    expect(trustedIssuer({ ...base, jwksUri: 'https://idp.example/jwks' }).issuer).toBe(ISS);
  });

  it.each<[string, Record<string, unknown>]>([
    ['HS256 in algorithms', { algorithms: ['HS256'] }],
    ['none in algorithms', { algorithms: ['none'] }],
    ['RS384 in algorithms', { algorithms: ['RS256', 'RS384'] }],
    ['an empty algorithm list', { algorithms: [] }],
    ['an empty issuer', { issuer: '' }],
    ['an empty audience', { audience: '' }],
    ['an empty audience list', { audience: [] }],
    ['an empty typ', { typ: '' }],
    ['a negative tolerance', { clockToleranceSec: -1 }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a fractional cache age', { cacheMaxAgeMs: 1.5 }],
    ['a negative cooldown', { cooldownMs: -1 }],
    ['a zero response cap', { maxResponseBytes: 0 }],
    ['a non-boolean allowInsecureLoopback', { allowInsecureLoopback: 'yes' }],
    ['a non-function clock', { now: 5 }],
  ])('SEC-16 %s is refused at configuration', (_name, over) => {
    expect(() =>
      trustedIssuer({ ...base, jwksUri: 'https://idp.example/jwks', ...over } as never),
    ).toThrow(ConfigInvalid);
  });
});
