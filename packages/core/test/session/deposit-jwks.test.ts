import { afterEach, describe, expect, it } from 'vitest';
import { TokenRejected, trustedIssuer } from '@cloakroom/core';
import {
  type JwksServer,
  providerKey,
  signExternal,
  startJwksServer,
} from '../support/jwks-server';
import { setup } from '../support/fixtures';

const ISS = 'https://idp.example';
let server: JwksServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('deposit through trustedIssuer against a live JWKS endpoint (BFF)', () => {
  it('SEC-17 verifies against the provider JWKS, follows a provider key rotation, and refuses foreign keys', async () => {
    const k1 = providerKey('RS256', 'k1');
    server = await startJwksServer([k1.jwk]);
    let now = () => Date.now();
    const issuer = trustedIssuer({
      issuer: ISS,
      jwksUri: server.url,
      audience: 'bff',
      allowInsecureLoopback: true,
      cooldownMs: 1000,
      now: () => now(),
    });
    const { cloakroom, clock } = await setup({ trustedIssuers: [issuer] });
    now = clock.now;
    const sec = () => Math.floor(clock.t / 1000);
    const claims = () => ({ iss: ISS, aud: 'bff', sub: 'idp-user', iat: sec(), exp: sec() + 300 });

    const first = await cloakroom.deposit(
      { accessToken: await signExternal(k1, claims()) },
      { issuer: ISS },
    );
    expect((await cloakroom.resolve(first.ticket))?.subject).toBe('idp-user');

    // The provider rotates: a new kid appears; after the cooldown, one refetch picks it up.
    const k2 = providerKey('ES256', 'k2');
    server.setKeys([k1.jwk, k2.jwk]);
    clock.advance(2000);
    const second = await cloakroom.deposit(
      { accessToken: await signExternal(k2, claims()) },
      { issuer: ISS },
    );
    expect((await cloakroom.resolve(second.ticket))?.sessionId).toBe(second.sessionId);

    // A token signed by a key the provider never published is refused.
    const rogue = providerKey('ES256', 'k2');
    await expect(
      cloakroom.deposit({ accessToken: await signExternal(rogue, claims()) }, { issuer: ISS }),
    ).rejects.toBeInstanceOf(TokenRejected);
    expect(server.requests()).toBeLessThanOrEqual(3);
  });

  it('a provider that is down gives a clear TokenRejected within the timeout, not a hang', async () => {
    const k1 = providerKey('EdDSA', 'k1');
    server = await startJwksServer([k1.jwk]);
    server.setMode({ kind: 'hang' });
    const issuer = trustedIssuer({
      issuer: ISS,
      jwksUri: server.url,
      audience: 'bff',
      allowInsecureLoopback: true,
      timeoutMs: 300,
    });
    const { cloakroom } = await setup({ trustedIssuers: [issuer] });
    const sec = Math.floor(Date.now() / 1000);
    const started = Date.now();
    const err = await cloakroom
      .deposit(
        {
          accessToken: await signExternal(k1, {
            iss: ISS,
            aud: 'bff',
            sub: 'u',
            iat: sec,
            exp: sec + 60,
          }),
        },
        { issuer: ISS },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRejected);
    expect((err as TokenRejected).reason).toBe('jwks-unavailable');
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
