// RFC 8725 attacks against trustedIssuer. Attack tokens are built by hand
// (base64url header.payload.signature with node:crypto) where jose refuses
// to produce them; each is otherwise valid, so only the defence named in the
// title stops it. The provider's JWKS runs on loopback and counts requests.
import { constants, createHmac, sign } from 'node:crypto';
import { TokenRejected } from '@cloakroom/core';
import fc from 'fast-check';
import { CompactEncrypt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrustedIssuer, trustedIssuer } from '../../src/issuers/trusted-issuer';
import {
  type JwksServer,
  fakeClock,
  providerKey,
  signExternal,
  startJwksServer,
} from '../support/jwks-server';
import { type Signer, b64, forge, reasonOf, rsSigner as rsaSigner } from '../support/jwt';

const ISS = 'https://idp.test/';
const AUD = 'api';
const clock = fakeClock(1_800_000_000_000);
const claims = {
  iss: ISS,
  aud: AUD,
  sub: 'user-42',
  iat: clock.seconds(),
  exp: clock.seconds() + 300,
};

const rsa = providerKey('RS256', 'rsa-1');
const ec = providerKey('ES256', 'ec-1');
const ed = providerKey('EdDSA', 'ed-1');
const attacker = providerKey('RS256', 'rsa-1'); // same kid, attacker's own key

const rsSigner: Signer = rsaSigner(rsa.privateKey);

let provider: JwksServer;
let decoy: JwksServer; // an attacker's JWKS, named by jku/x5u: must never be asked
let issuer: TrustedIssuer;

beforeAll(async () => {
  provider = await startJwksServer([rsa.jwk, ec.jwk, ed.jwk]);
  decoy = await startJwksServer([attacker.jwk]);
  issuer = trustedIssuer({
    issuer: ISS,
    jwksUri: provider.url,
    audience: AUD,
    allowInsecureLoopback: true,
    now: clock.now,
  });
  // Warm the cache so request counts below measure only the attacks.
  await issuer.verify(forge({ alg: 'RS256', kid: 'rsa-1' }, claims, rsSigner));
});
afterAll(async () => {
  await provider.close();
  await decoy.close();
});

const reason = (token: unknown, on: TrustedIssuer = issuer): Promise<string> =>
  reasonOf(on.verify(token));

describe('SEC-16 algorithm pinning', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('SEC-16 alg %s is rejected', async (alg) => {
    expect(await reason(forge({ alg, kid: 'rsa-1' }, claims, ''))).toBe('malformed');
    expect(await reason(forge({ alg, kid: 'rsa-1' }, claims, 'AAAA'))).toBe('alg-not-allowed');
    expect(await reason(forge({ alg }, claims, 'AAAA'))).toBe('alg-not-allowed');
  });

  it.each([
    ['the PEM text', rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string],
    ['the DER bytes', rsa.publicKey.export({ format: 'der', type: 'spki' })],
    ['the JWK text', JSON.stringify(rsa.jwk)],
  ])('SEC-16 HS256 signed with the RSA public key (%s) is rejected', async (_name, secret) => {
    const hs: Signer = (input) => createHmac('sha256', secret).update(input).digest();
    for (const alg of ['HS256', 'hs256', 'HS384', 'HS512']) {
      expect(await reason(forge({ alg, kid: 'rsa-1' }, claims, hs))).toBe('alg-not-allowed');
    }
  });

  it('SEC-16 an algorithm outside the configured allowlist is rejected', async () => {
    const esOnly = trustedIssuer({
      issuer: ISS,
      jwksUri: provider.url,
      audience: AUD,
      allowInsecureLoopback: true,
      algorithms: ['ES256'],
      now: clock.now,
    });
    expect(await reason(forge({ alg: 'RS256', kid: 'rsa-1' }, claims, rsSigner), esOnly)).toBe(
      'alg-not-allowed',
    );
    await expect(esOnly.verify(await signExternal(ec, claims))).resolves.toMatchObject({
      payload: { sub: 'user-42' },
    });
  });

  it("SEC-16 alg must match the JWK's own alg: PS256 with an RS256-only key is rejected", async () => {
    const ps: Signer = (input) =>
      sign('sha256', input, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    expect(await reason(forge({ alg: 'PS256', kid: 'rsa-1' }, claims, ps))).toBe('alg-not-allowed');
  });

  it("SEC-16 alg must fit the JWK's kty/crv: ES256 or EdDSA naming an RSA kid is rejected", async () => {
    const esSig: Signer = (input) =>
      sign('sha256', input, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(await reason(forge({ alg: 'ES256', kid: 'rsa-1' }, claims, esSig))).toBe(
      'alg-not-allowed',
    );
    const edSig: Signer = (input) => sign(null, input, ed.privateKey);
    expect(await reason(forge({ alg: 'EdDSA', kid: 'ec-1' }, claims, edSig))).toBe(
      'alg-not-allowed',
    );
  });

  it('SEC-21 an ES256 signature with r = s = 0 is rejected', async () => {
    const zero = Buffer.alloc(64).toString('base64url');
    expect(await reason(forge({ alg: 'ES256', kid: 'ec-1' }, claims, zero))).toBe('signature');
  });

  it('a token signed by a key that is not the published one is rejected (signature)', async () => {
    expect(await reason(await signExternal(attacker, claims))).toBe('signature');
  });
});

describe('SEC-17 keys come only from the configured jwksUri', () => {
  it.each(['jku', 'x5u'])(
    'SEC-17 a %s header pointing at another loopback server gets zero requests',
    async (name) => {
      const before = provider.requests();
      const header = { [name]: decoy.url, kid: 'rsa-1' };
      expect(await reason(await signExternal(attacker, claims, header))).toBe('signature');
      const other = { [name]: decoy.url, kid: 'attacker-only' };
      expect(await reason(await signExternal(attacker, claims, other))).toBe('unknown-kid');
      // The genuine key still verifies a token carrying the header: it is ignored, not trusted.
      await expect(issuer.verify(await signExternal(rsa, claims, header))).resolves.toMatchObject({
        payload: { sub: 'user-42' },
      });
      expect(decoy.requests()).toBe(0);
      expect(provider.requests() - before).toBeLessThanOrEqual(1);
    },
  );

  it('SEC-17 an embedded jwk or x5c header is never used as the key', async () => {
    const jwk = { kty: attacker.jwk.kty, n: attacker.jwk.n, e: attacker.jwk.e };
    expect(await reason(await signExternal(attacker, claims, { jwk }))).toBe('signature');
    const x5c = [attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')];
    expect(await reason(await signExternal(attacker, claims, { x5c }))).toBe('signature');
    expect(decoy.requests()).toBe(0);
  });

  it.each([
    ['path traversal', '../../x'],
    ['SQL', "' OR 1=1--"],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['toString', 'toString'],
  ])('SEC-17 a kid like %s is harmless', async (_name, kid) => {
    expect(await reason(await signExternal(attacker, claims, { kid }))).toBe('unknown-kid');
    expect(decoy.requests()).toBe(0);
  });

  it('SEC-17 a 10 KB kid is rejected before any request', async () => {
    const before = provider.requests();
    const kid = 'k'.repeat(10_000);
    expect(await reason(await signExternal(attacker, claims, { kid }))).toBe('malformed');
    expect(await reason(forge({ alg: 'RS256', kid: 'k'.repeat(300) }, claims, rsSigner))).toBe(
      'unknown-kid',
    );
    expect(await reason(forge({ alg: 'RS256', kid: 7 }, claims, rsSigner))).toBe('unknown-kid');
    expect(provider.requests()).toBe(before);
  });
});

describe('SEC-22/23/24 header extensions, JWE, size and shape', () => {
  it.each<[string, object]>([
    ['crit', { crit: ['exp'], exp: 1 }],
    ['an empty crit', { crit: [] }],
    ['b64: false', { b64: false, crit: ['b64'] }],
    ['b64 alone', { b64: false }],
    ['enc (a JWE header on a JWS)', { enc: 'A256GCM' }],
    ['zip', { zip: 'DEF' }],
  ])('SEC-22 a header with %s is rejected', async (_name, extra) => {
    const token = forge({ alg: 'RS256', kid: 'rsa-1', ...extra }, claims, rsSigner);
    expect(await reason(token)).toBe('unsupported-header');
  });

  it('SEC-23 a compact JWE is rejected before any key lookup', async () => {
    const before = provider.requests();
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'rsa-1' })
      .encrypt(new Uint8Array(32));
    expect(await reason(jwe)).toBe('malformed');
    expect(provider.requests()).toBe(before);
  });

  it('SEC-24 an oversize token is rejected as too-long before parsing or fetching', async () => {
    const before = provider.requests();
    const huge = `${'A'.repeat(1_000_000)}.${'A'.repeat(10)}.${'A'.repeat(10)}`;
    const started = performance.now();
    expect(await reason(huge)).toBe('too-long');
    expect(performance.now() - started).toBeLessThan(50);
    expect(provider.requests()).toBe(before);
  });

  it.each<[string, unknown]>([
    ['a number', 42],
    ['an object', { token: 'x' }],
    ['an empty string', ''],
    ['two segments', 'abc.def'],
    ['four segments', 'a.b.c.d'],
    ['standard base64 characters', 'ab+c.de/f.ghi='],
    ['whitespace', 'abc.def.ghi '],
    ['a JSON serialization', '{"payload":"x","signatures":[]}'],
  ])('SEC-24 %s is rejected as malformed', async (_name, token) => {
    expect(await reason(token)).toBe('malformed');
  });

  it('SEC-24 a non-canonical base64url signature (malleable spelling) is rejected', async () => {
    const good = forge({ alg: 'ES256', kid: 'ec-1' }, claims, (input) =>
      sign('sha256', input, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    await expect(issuer.verify(good)).resolves.toMatchObject({ payload: { sub: 'user-42' } });
    // 64 bytes → 86 chars, 2 spare bits in the last char: set one.
    const last = good.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = `${good.slice(0, -1)}${alphabet[alphabet.indexOf(last) | 1]}`;
    expect(twin).not.toBe(good);
    expect(await reason(twin)).toBe('malformed');
  });

  it('SEC-24 a header that is not a JSON object is rejected', async () => {
    for (const header of ['[]', '"x"', 'null', '{bad json']) {
      expect(await reason(`${b64(header)}.${b64(claims)}.AAAA`)).toBe('malformed');
    }
  });
});

describe('properties', () => {
  it('SEC-24 arbitrary input is always a TokenRejected, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.anything()),
        async (t) => {
          const err = await issuer.verify(t).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(TokenRejected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('SEC-16 changing any one character of a valid token makes it fail', async () => {
    const token = await signExternal(ed, claims);
    await expect(issuer.verify(token)).resolves.toMatchObject({ payload: { sub: 'user-42' } });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...alphabet),
        async (i, ch) => {
          fc.pre(token[i] !== ch);
          const mutated = token.slice(0, i) + ch + token.slice(i + 1);
          const err = await issuer.verify(mutated).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(TokenRejected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('SEC-17 random kids never cause more than one request per cooldown', async () => {
    const before = provider.requests();
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 64 }), async (kid) => {
        fc.pre(!['rsa-1', 'ec-1', 'ed-1'].includes(kid));
        const token = forge({ alg: 'RS256', kid }, claims, rsSigner);
        expect(await reason(token)).toBe('unknown-kid');
      }),
      { numRuns: 200 },
    );
    expect(provider.requests() - before).toBeLessThanOrEqual(1);
    expect(decoy.requests()).toBe(0);
  });
});
