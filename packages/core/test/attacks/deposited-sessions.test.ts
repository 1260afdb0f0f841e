// SEC-31: a deposited session obeys the same checks as the app's own: the
// kill switch for the key that signed its token, and the token's own expiry.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  type CloakroomEvent,
  type TokenIssuer,
  TokenRejected,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  signToken,
  staticKeys,
  trustedIssuer,
  verifyToken,
} from '@cloakroom/core';
import { AUDIENCE, ISSUER, keysFrom, setup } from '../support/fixtures';
import { providerKey, signExternal, startJwksServer } from '../support/jwks-server';

const IDP = 'https://idp.test';

async function world() {
  const signing = await generateSigningKey('ES256');
  const idpKeys = staticKeys({
    signing: [{ alg: 'ES256', privateKey: signing.privateJwk }],
    storage: [{ key: generateSecret() }],
    index: generateSecret(),
  });
  const disabled = new Set<string>();
  let now = () => Date.now();
  const issuer: TokenIssuer = {
    issuer: IDP,
    verify: (t) =>
      verifyToken(t, {
        keys: idpKeys,
        issuer: IDP,
        audience: 'bff',
        typ: 'at+jwt',
        now: () => now(),
      }),
    keyUsable: (kid) => !disabled.has(kid),
  };
  const ctx = await setup({ trustedIssuers: [issuer] });
  now = ctx.clock.now;
  const token = async (lifetimeSec: number) => {
    const iat = Math.floor(ctx.clock.t / 1000);
    return signToken(
      await idpKeys.signingKey(),
      {
        iss: IDP,
        aud: 'bff',
        sub: 'u1',
        iat,
        exp: iat + lifetimeSec,
        jti: randomBytes(8).toString('hex'),
      },
      { typ: 'at+jwt' },
    );
  };
  const kid = (await idpKeys.signingKey()).kid;
  return { ...ctx, token, issuer, disabled, kid };
}

const rejections = (events: CloakroomEvent[]) =>
  events.flatMap((e) => (e.type === 'session.rejected' ? [e.reason] : []));

describe("SEC-31 deposited sessions: the provider token's expiry", () => {
  it('SEC-31 without a refresh token, resolve answers null once the provider token has expired (event: token-expired)', async () => {
    const { cloakroom, clock, token, events } = await world();
    const { ticket } = await cloakroom.deposit({ accessToken: await token(60) }, { issuer: IDP });
    clock.advance(59_000);
    expect((await cloakroom.resolve(ticket))?.tokenExpired).toBeUndefined();
    clock.advance(1_000 + 5_000); // past exp and the 5 s clock tolerance
    expect(await cloakroom.resolve(ticket)).toBeNull();
    expect(rejections(events)).toContain('token-expired');
  });

  it('SEC-31 with a refresh token, resolve flags tokenExpired until replaceTokens brings a fresh token', async () => {
    const { cloakroom, clock, token } = await world();
    const { ticket } = await cloakroom.deposit(
      { accessToken: await token(60), refreshToken: 'rt-opaque' },
      { issuer: IDP },
    );
    clock.advance(61_000);
    const stale = await cloakroom.resolve(ticket);
    expect(stale?.tokenExpired).toBe(true);
    expect(stale?.refreshToken).toBe('rt-opaque');
    expect(
      await cloakroom.replaceTokens(ticket, {
        accessToken: await token(300),
        refreshToken: 'rt-2',
      }),
    ).toBe(true);
    const fresh = await cloakroom.resolve(ticket);
    expect(fresh?.tokenExpired).toBeUndefined();
    expect(fresh?.tokenExpiresAt).toBeGreaterThan(clock.t);
  });
});

describe('SEC-31 deposited sessions: the kill switch', () => {
  it('SEC-31 a provider key the issuer marks unusable kills its sessions on resolve and refresh at once', async () => {
    const { cloakroom, token, disabled, kid, events } = await world();
    const a = await cloakroom.deposit({ accessToken: await token(600) }, { issuer: IDP });
    const b = await cloakroom.deposit({ accessToken: await token(600) }, { issuer: IDP });
    expect(await cloakroom.resolve(a.ticket)).not.toBeNull();
    disabled.add(kid);
    expect(await cloakroom.resolve(a.ticket)).toBeNull();
    expect(await cloakroom.refresh(b.ticket)).toBeNull();
    expect(rejections(events).filter((r) => r === 'key-disabled')).toHaveLength(2);
  });

  it("SEC-31 removing an issuer from trustedIssuers ends its sessions; the app's own sessions are untouched", async () => {
    const { cloakroom, token, memory, material, clock } = await world();
    const deposited = await cloakroom.deposit({ accessToken: await token(600) }, { issuer: IDP });
    const own = await cloakroom.create('u1');
    const without = createCloakroom({
      store: memory,
      keys: keysFrom(material),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
    });
    expect(await without.resolve(deposited.ticket)).toBeNull();
    expect((await without.resolve(own.ticket))?.subject).toBe('u1');
  });
});

describe('SEC-31 trustedIssuer implements the kill switch from its cached JWKS', () => {
  const ISS = 'https://idp.jwks.test';
  async function jwksWorld(disabledKeys: readonly string[] = []) {
    const k1 = providerKey('ES256', 'k1');
    const server = await startJwksServer([k1.jwk]);
    let now = () => 0;
    const issuer = trustedIssuer({
      issuer: ISS,
      jwksUri: server.url,
      audience: 'bff',
      allowInsecureLoopback: true,
      cacheMaxAgeMs: 60_000,
      cooldownMs: 0,
      now: () => now(),
      disabledKeys,
    });
    const ctx = await setup({ trustedIssuers: [issuer] });
    now = ctx.clock.now;
    const deposit = async () => {
      const iat = Math.floor(ctx.clock.t / 1000);
      const accessToken = await signExternal(k1, {
        iss: ISS,
        aud: 'bff',
        sub: 'u1',
        iat,
        exp: iat + 86_400,
      });
      return ctx.cloakroom.deposit({ accessToken }, { issuer: ISS });
    };
    return { ...ctx, server, k1, deposit };
  }

  it('SEC-31 a key the provider withdrew from its JWKS ends its deposited sessions once the cache is refetched', async () => {
    const { cloakroom, server, clock, deposit, events } = await jwksWorld();
    try {
      const { ticket } = await deposit();
      expect((await cloakroom.resolve(ticket))?.issuer).toBe(ISS);
      server.setKeys([providerKey('ES256', 'k2').jwk]); // k1 withdrawn
      clock.advance(61_000); // the cached JWKS is stale
      const before = server.requests();
      await cloakroom.resolve(ticket); // answered from memory; starts the refetch
      await vi.waitFor(() => expect(server.requests()).toBe(before + 1));
      await vi.waitFor(async () => expect(await cloakroom.resolve(ticket)).toBeNull());
      expect(rejections(events)).toContain('key-disabled');
    } finally {
      await server.close();
    }
  });

  it('SEC-31 disabledKeys ends deposited sessions of that key at once, and refuses new tokens signed by it', async () => {
    const live = await jwksWorld();
    const { ticket } = await live.deposit();
    await live.server.close();
    // The operator restarts with the key disabled; the store and keys are the same.
    const off = await jwksWorld([live.k1.kid]);
    try {
      const sameStore = createCloakroom({
        store: live.memory,
        keys: keysFrom(live.material),
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: live.clock.now,
        trustedIssuers: [
          trustedIssuer({
            issuer: ISS,
            jwksUri: off.server.url,
            audience: 'bff',
            allowInsecureLoopback: true,
            disabledKeys: [live.k1.kid],
            now: live.clock.now,
          }),
        ],
      });
      expect(await sameStore.resolve(ticket)).toBeNull();
      await expect(off.deposit()).rejects.toThrow(TokenRejected);
    } finally {
      await off.server.close();
    }
  });
});
