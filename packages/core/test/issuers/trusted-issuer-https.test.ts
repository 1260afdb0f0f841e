// trustedIssuer over real TLS on loopback: a provider behind a private CA
// works once that CA is configured, and an untrusted certificate is a
// jwks-unavailable rejection, never a silently accepted key set.
import { ConfigInvalid, TokenRejected } from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustedIssuer } from '../../src/issuers/trusted-issuer';
import {
  type JwksServer,
  fakeClock,
  providerKey,
  selfSignedCertificate,
  signExternal,
  startJwksServer,
} from '../support/jwks-server';

const ISS = 'https://idp.test/';
const AUD = 'api';
const clock = fakeClock(1_800_000_000_000);
const key = providerKey('ES256', 'tls-key');
const tls = selfSignedCertificate();

let server: JwksServer;
beforeAll(async () => {
  server = await startJwksServer([key.jwk], tls);
});
afterAll(() => server.close());

const token = () =>
  signExternal(key, {
    iss: ISS,
    aud: AUD,
    sub: 'u1',
    iat: clock.seconds(),
    exp: clock.seconds() + 300,
  });

describe('https JWKS', () => {
  it('SEC-17 fetches over https when the provider certificate chains to a configured CA', async () => {
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
    const issuer = trustedIssuer({
      issuer: ISS,
      jwksUri: server.url,
      audience: AUD,
      caCertificates: [tls.cert],
      now: clock.now,
    });
    await expect(issuer.verify(await token())).resolves.toMatchObject({ payload: { sub: 'u1' } });
  });

  it('SEC-17 an untrusted certificate is refused: jwks-unavailable, no HTTP request served', async () => {
    const before = server.requests();
    const issuer = trustedIssuer({
      issuer: ISS,
      jwksUri: server.url,
      audience: AUD,
      timeoutMs: 2_000,
      now: clock.now,
    });
    const err = await issuer.verify(await token()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRejected);
    expect((err as { reason: string }).reason).toBe('jwks-unavailable');
    const cause = (err as { cause: Error }).cause;
    expect(String((cause.cause as Error | undefined)?.message)).toMatch(/certificate/i);
    expect(server.requests()).toBe(before);
  });

  it('caCertificates must be PEM certificates', () => {
    for (const caCertificates of [[''], ['not a cert'], 'pem', [tls.key]]) {
      expect(() =>
        trustedIssuer({
          issuer: ISS,
          jwksUri: server.url,
          audience: AUD,
          caCertificates: caCertificates as never,
        }),
      ).toThrow(ConfigInvalid);
    }
  });
});
