// SEC-31: a deposited session obeys the same checks as the app's own: the
// kill switch for the key that signed its token, and the token's own expiry.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CloakroomEvent,
  type TokenIssuer,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  signToken,
  staticKeys,
  verifyToken,
} from '@cloakroom/core';
import { AUDIENCE, ISSUER, keysFrom, setup } from '../support/fixtures';

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
