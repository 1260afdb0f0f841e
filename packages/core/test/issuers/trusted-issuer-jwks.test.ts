// trustedIssuer's remote JWKS against a real loopback provider: caching,
// rotation, the unknown-kid cooldown, and a provider that is down, slow,
// broken or too chatty. Time that matters to the cache is a fake clock;
// only network deadlines use real time, with bounded waits.
import { sign as cryptoSign } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type TrustedIssuerOptions, trustedIssuer } from '../../src/issuers/trusted-issuer';
import {
  type JwksServer,
  type ProviderKey,
  fakeClock,
  providerKey,
  signExternal,
  startJwksServer,
} from '../support/jwks-server';
import { rejectionOf } from '../support/jwt';

const ISS = 'https://idp.test/';
const AUD = 'api';
const MIN = 60_000;

const k1 = providerKey('ES256', 'key-1');
const k2 = providerKey('EdDSA', 'key-2');
const stranger = providerKey('ES256', 'never-published');

const servers: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(keys: readonly unknown[], extra: Partial<TrustedIssuerOptions> = {}) {
  const server = await startJwksServer(keys);
  servers.push(server);
  const clock = fakeClock(1_800_000_000_000);
  const issuer = trustedIssuer({
    issuer: ISS,
    jwksUri: server.url,
    audience: AUD,
    allowInsecureLoopback: true,
    cacheMaxAgeMs: 10 * MIN,
    cooldownMs: 30_000,
    timeoutMs: 500,
    now: clock.now,
    ...extra,
  });
  // Tokens live a day so only the cache clock matters in these tests.
  const sign = (key: ProviderKey, header: Record<string, unknown> = {}) =>
    signExternal(
      key,
      { iss: ISS, aud: AUD, sub: 'u1', iat: clock.seconds(), exp: clock.seconds() + 86_400 },
      header,
    );
  return { server, clock, issuer, sign };
}

const rejection = rejectionOf;
// What a successful verification must show: the token's subject, under the key that signed it.
const byKey = (key: ProviderKey) => ({
  payload: { sub: 'u1' },
  header: { kid: key.kid, alg: key.alg },
});

describe('cache and rotation', () => {
  it('fetches the JWKS once and serves later verifications from the cache', async () => {
    const { server, issuer, sign } = await setup([k1.jwk]);
    expect(server.requests()).toBe(0); // lazy
    const token = await sign(k1);
    await Promise.all([issuer.verify(token), issuer.verify(token), issuer.verify(token)]);
    await issuer.verify(token);
    expect(server.requests()).toBe(1);
  });

  it('refetches when the cache lifetime passes', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk]);
    const token = await sign(k1);
    await issuer.verify(token);
    clock.advance(10 * MIN - 1);
    await issuer.verify(token);
    expect(server.requests()).toBe(1);
    clock.advance(1);
    await issuer.verify(token);
    expect(server.requests()).toBe(2);
  });

  it('SEC-19 rotation at the provider: a new kid costs one refetch, then verifies', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk]);
    await issuer.verify(await sign(k1));
    server.setKeys([k1.jwk, k2.jwk]);
    clock.advance(30_000); // the cooldown counts from the last request, the initial fetch
    const fresh = await sign(k2);
    await expect(issuer.verify(fresh)).resolves.toMatchObject({ header: { kid: 'key-2' } });
    expect(server.requests()).toBe(2);
    await issuer.verify(fresh);
    await issuer.verify(await sign(k1));
    expect(server.requests()).toBe(2);
  });

  it('SEC-19 a kid removed at the provider verifies until the cache expires, then is rejected', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk, k2.jwk]);
    const old = await sign(k1);
    await issuer.verify(old);
    server.setKeys([k2.jwk]);
    clock.advance(5 * MIN);
    await expect(issuer.verify(old)).resolves.toMatchObject(byKey(k1));
    expect(server.requests()).toBe(1);
    clock.advance(5 * MIN);
    expect((await rejection(issuer.verify(old))).reason).toBe('unknown-kid');
    // The expiry refetch was the one request; no extra refetch for the now-unknown kid.
    expect(server.requests()).toBe(2);
    await expect(issuer.verify(await sign(k2))).resolves.toMatchObject(byKey(k2));
  });

  it('SEC-17 unknown kids refetch at most once per cooldown', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk]);
    await issuer.verify(await sign(k1));
    // Within the cooldown of the initial fetch, an unknown kid is not worth a request.
    expect((await rejection(issuer.verify(await sign(stranger)))).reason).toBe('unknown-kid');
    expect(server.requests()).toBe(1);
    clock.advance(30_000);
    for (let i = 0; i < 20; i += 1) {
      const forged = await sign(stranger, { kid: `random-${i}` });
      expect((await rejection(issuer.verify(forged))).reason).toBe('unknown-kid');
    }
    expect(server.requests()).toBe(2); // initial fetch + one refetch
    clock.advance(29_999);
    await rejection(issuer.verify(await sign(stranger)));
    expect(server.requests()).toBe(2);
    clock.advance(1);
    await rejection(issuer.verify(await sign(stranger)));
    expect(server.requests()).toBe(3);
    // Known keys keep verifying without requests.
    await issuer.verify(await sign(k1));
    expect(server.requests()).toBe(3);
  });

  it('concurrent unknown kids share one refetch', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk]);
    await issuer.verify(await sign(k1));
    server.setKeys([k1.jwk, k2.jwk]);
    clock.advance(30_000);
    const fresh = await sign(k2);
    await Promise.all(Array.from({ length: 10 }, () => issuer.verify(fresh)));
    expect(server.requests()).toBe(2);
  });
});

describe('provider down, slow or misbehaving', () => {
  it('provider down: cached keys keep working; an unknown kid is rejected fast with jwks-unavailable', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk], { timeoutMs: 2_000 });
    const token = await sign(k1);
    await issuer.verify(token);
    await server.close();
    clock.advance(30_000);
    await expect(issuer.verify(token)).resolves.toMatchObject(byKey(k1));
    const started = performance.now();
    const err = await rejection(issuer.verify(await sign(k2)));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(err.reason).toBe('jwks-unavailable');
    expect(err.cause).toBeInstanceOf(Error);
    expect(String((err.cause as Error).message)).toMatch(/JWKS request failed/);
    // Inside the cooldown no new attempt is made, but the answer stays honest.
    const again = await rejection(issuer.verify(await sign(k2)));
    expect(again.reason).toBe('jwks-unavailable');
    expect(again.cause).toBe(err.cause);
    clock.advance(10 * MIN - 30_001);
    await expect(issuer.verify(token)).resolves.toMatchObject(byKey(k1));
  });

  it('provider down past the cache lifetime: even the cached key is rejected (jwks-unavailable)', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk]);
    const token = await sign(k1);
    await issuer.verify(token);
    await server.close();
    clock.advance(10 * MIN);
    expect((await rejection(issuer.verify(token))).reason).toBe('jwks-unavailable');
  });

  it('after a failure the provider is not asked again until the cooldown passes, then recovers', async () => {
    const { server, clock, issuer, sign } = await setup([k1.jwk]);
    server.setMode({ kind: 'status', status: 503 });
    const token = await sign(k1);
    const err = await rejection(issuer.verify(token));
    expect(err.reason).toBe('jwks-unavailable');
    expect((err.cause as Error).message).toMatch(/HTTP 503/);
    server.setMode({ kind: 'ok' });
    for (let i = 0; i < 5; i += 1) {
      expect((await rejection(issuer.verify(token))).reason).toBe('jwks-unavailable');
    }
    expect(server.requests()).toBe(1);
    clock.advance(30_000);
    await expect(issuer.verify(token)).resolves.toMatchObject(byKey(k1));
    expect(server.requests()).toBe(2);
  });

  it('provider slow (never answers): rejected within timeoutMs, socket released', async () => {
    const { server, issuer, sign } = await setup([k1.jwk], { timeoutMs: 300 });
    server.setMode({ kind: 'hang' });
    const started = performance.now();
    const err = await rejection(issuer.verify(await sign(k1)));
    const elapsed = performance.now() - started;
    expect(err.reason).toBe('jwks-unavailable');
    expect((err.cause as Error).message).toMatch(/timed out after 300 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_500);
    // The client hung up: no socket is left waiting on the provider.
    await expect.poll(() => server.openConnections(), { timeout: 1_000 }).toBe(0);
  });

  it('slow provider with several waiting verifications: all rejected within the one deadline', async () => {
    const { server, issuer, sign } = await setup([k1.jwk], { timeoutMs: 300 });
    server.setMode({ kind: 'hang' });
    const token = await sign(k1);
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => issuer.verify(token)));
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(server.requests()).toBe(1);
  });

  it('an oversize JWKS (declared length) is rejected', async () => {
    const { server, issuer, sign } = await setup([k1.jwk], { maxResponseBytes: 1024 });
    server.setMode({
      kind: 'raw',
      body: JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(2000) }),
    });
    const err = await rejection(issuer.verify(await sign(k1)));
    expect(err.reason).toBe('jwks-unavailable');
    expect((err.cause as Error).message).toMatch(/exceeds 1024 bytes/);
  });

  it('an oversize JWKS (chunked, no length) is cut off while streaming', async () => {
    const { server, issuer, sign } = await setup([k1.jwk], { maxResponseBytes: 1024 });
    const body = JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(1_000_000) });
    server.setMode({ kind: 'raw', body, chunked: true });
    const err = await rejection(issuer.verify(await sign(k1)));
    expect((err.cause as Error).message).toMatch(/exceeds 1024 bytes/);
  });

  it('a JWKS within the default 256 KiB cap is accepted', async () => {
    const { server, issuer, sign } = await setup([k1.jwk]);
    server.setMode({
      kind: 'raw',
      body: JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(200_000) }),
    });
    await expect(issuer.verify(await sign(k1))).resolves.toMatchObject(byKey(k1));
  });

  it('a redirect is not followed: jwks-unavailable, and the target gets zero requests', async () => {
    const elsewhere = await startJwksServer([k1.jwk]);
    servers.push(elsewhere);
    const { server, issuer, sign } = await setup([k1.jwk]);
    server.setMode({ kind: 'status', status: 302, location: elsewhere.url });
    const err = await rejection(issuer.verify(await sign(k1)));
    expect((err.cause as Error).message).toMatch(/HTTP 302/);
    expect(elsewhere.requests()).toBe(0);
  });

  it.each([
    ['not JSON', '<html>oops</html>'],
    ['a JSON array', '[]'],
    ['an object without keys', '{"jwks":[]}'],
    ['keys not an array', '{"keys":{}}'],
    ['invalid UTF-8', '\uFFFD'],
  ])('a JWKS response that is %s is rejected', async (_name, body) => {
    const { server, issuer, sign } = await setup([k1.jwk]);
    server.setMode({ kind: 'raw', body });
    expect((await rejection(issuer.verify(await sign(k1)))).reason).toBe('jwks-unavailable');
  });
});

describe('SEC-16 JWKS key hygiene', () => {
  it('malformed and unusable keys are skipped; the good key still verifies', async () => {
    const encKey = providerKey('ES256', 'enc-key', { extra: { use: 'enc' } });
    const noVerifyOps = providerKey('ES256', 'ops-key', { extra: { key_ops: ['encrypt'] } });
    const weakRsa = providerKey('RS256', 'weak-rsa', { rsaBits: 1024 });
    const privateJwk = providerKey('EdDSA', 'private-key');
    const garbage = [
      null,
      'string',
      42,
      [],
      { kty: 'RSA', kid: 'broken-rsa', n: '!!', e: 'AQAB' },
      { kty: 'EC', kid: 'p384', crv: 'P-384', x: 'AA', y: 'AA' },
      { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0' },
      { ...k2.jwk, kid: 'mismatched-alg', alg: 'RS256' },
      { ...privateJwk.jwk, d: privateJwk.privateKey.export({ format: 'jwk' }).d },
      { ...k2.jwk, kid: 'x'.repeat(300) },
    ];
    const { issuer, sign } = await setup([
      ...garbage,
      encKey.jwk,
      noVerifyOps.jwk,
      weakRsa.jwk,
      k1.jwk,
    ]);
    await expect(issuer.verify(await sign(k1))).resolves.toMatchObject(byKey(k1));
    for (const key of [encKey, noVerifyOps, privateJwk]) {
      expect((await rejection(issuer.verify(await sign(key)))).reason).toBe('unknown-kid');
    }
    // jose will not sign with RSA-1024, so this token is signed by hand.
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'RS256', kid: 'weak-rsa' })}.${b64({ iss: ISS, aud: AUD, sub: 'u1', exp: 1_900_000_000 })}`;
    const weakToken = `${input}.${cryptoSign('sha256', Buffer.from(input), weakRsa.privateKey).toString('base64url')}`;
    expect((await rejection(issuer.verify(weakToken))).reason).toBe('unknown-kid');
    const mismatched = await sign(k2, { kid: 'mismatched-alg' });
    expect((await rejection(issuer.verify(mismatched))).reason).toBe('unknown-kid');
  });

  it('a token without kid verifies only when exactly one key fits its alg', async () => {
    const other = providerKey('ES256', 'key-3');
    const single = await setup([k1.jwk, k2.jwk]);
    const kidless = await single.issuer.verify(await single.sign(k1, { kid: undefined }));
    expect(kidless.payload.sub).toBe('u1');
    expect(kidless.header).toStrictEqual({ alg: k1.alg, typ: 'JWT' });
    const twoEc = await setup([k1.jwk, other.jwk]);
    const err = await rejection(twoEc.issuer.verify(await twoEc.sign(k1, { kid: undefined })));
    expect(err.reason).toBe('unknown-kid');
  });
});
