import { describe, expect, it } from 'vitest';
import { InvalidArgument, TokenRejected } from '@cloakroom/core';
import { setup } from '../support/fixtures';
import { identityProvider } from '../support/identity-provider';

const hostile = [
  JSON.parse('{"__proto__": {"role": "admin"}}'),
  { profile: JSON.parse('{"__proto__": {"role": "admin"}}') },
  { list: [{ deep: JSON.parse('{"__proto__": {"x": 1}}') }] },
  { constructor: { prototype: { role: 'admin' } } },
  { nested: { prototype: 1 } },
] as Record<string, unknown>[];

describe('prototype-altering claim names are refused at every entry point (#14.6)', () => {
  it('create refuses __proto__, constructor and prototype at any depth; nothing is stored', async () => {
    const { cloakroom, spy } = await setup();
    for (const claims of hostile) {
      await expect(cloakroom.create('u1', claims)).rejects.toThrow(InvalidArgument);
    }
    expect(spy.calls.insert ?? 0).toBe(0);
    // The same shape under harmless names is fine, and comes back as data.
    const { ticket } = await cloakroom.create('u1', { proto: { role: 'admin' } });
    const session = await cloakroom.resolve(ticket);
    expect(Object.getPrototypeOf(Object.assign({}, session?.claims))).toBe(Object.prototype);
    expect((Object.assign({}, session?.claims) as { role?: unknown }).role).toBeUndefined();
  });

  it('refresh with new claims refuses them too, and the old ticket still works', async () => {
    const { cloakroom } = await setup();
    const { ticket } = await cloakroom.create('u1', { role: 'viewer' });
    for (const claims of hostile) {
      await expect(cloakroom.refresh(ticket, { claims })).rejects.toThrow(InvalidArgument);
    }
    expect((await cloakroom.resolve(ticket))?.claims).toEqual({ role: 'viewer' });
  });

  it('deposit and replaceTokens refuse a provider token carrying such a claim (TokenRejected)', async () => {
    const idp = await identityProvider('https://idp.test');
    const issuer = idp.issuer;
    const token = (extra: Record<string, unknown>) => {
      const iat = Math.floor(Date.now() / 1000);
      return idp.issue({ sub: 'u1', iat, exp: iat + 600, ...extra });
    };
    const { cloakroom } = await setup({ trustedIssuers: [issuer], clock: Date.now });
    await expect(
      cloakroom.deposit(
        { accessToken: await token(hostile[0] as Record<string, unknown>) },
        { issuer: issuer.issuer },
      ),
    ).rejects.toThrow(TokenRejected);
    const { ticket } = await cloakroom.deposit(
      { accessToken: await token({}) },
      { issuer: issuer.issuer },
    );
    await expect(
      cloakroom.replaceTokens(ticket, { accessToken: await token({ org: hostile[1] }) }),
    ).rejects.toThrow(TokenRejected);
    expect((await cloakroom.resolve(ticket))?.subject).toBe('u1');
  });
});
