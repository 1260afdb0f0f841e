import { describe, expect, it } from 'vitest';
import { InvalidArgument, TokenRejected } from '@cloakroom/core';
import { dump, setup } from '../support/fixtures';
import { identityProvider } from '../support/identity-provider';

const IDP = 'https://idp.test';

// The provider's tokens in this file: `sub`, expiring at `expSec`, issued an hour before.
async function provider() {
  let now = () => Date.now();
  const idp = await identityProvider(IDP, () => now());
  const issue = (sub: string, expSec: number, extra: Record<string, unknown> = {}) =>
    idp.issue({ sub, iat: expSec - 3600, exp: expSec, ...extra });
  return {
    ...idp,
    issue,
    useClock(clock: () => number) {
      now = clock;
    },
  };
}

async function world() {
  const idp = await provider();
  const ctx = await setup({ trustedIssuers: [idp.issuer] });
  idp.useClock(ctx.clock.now);
  const nowSec = () => Math.floor(ctx.clock.t / 1000);
  return { ...ctx, idp, nowSec };
}

describe('deposit: external tokens behind a ticket', () => {
  it('verifies the access token on intake and resolves all three tokens back', async () => {
    const w = await world();
    const access = await w.idp.issue('ext-user', w.nowSec() + 600, { scope: 'read' });
    const created = await w.cloakroom.deposit(
      { accessToken: access, refreshToken: 'rt-opaque-123', idToken: 'id.token.value' },
      { issuer: IDP, label: 'web' },
    );
    const s = await w.cloakroom.resolve(created.ticket);
    expect(s).toMatchObject({
      subject: 'ext-user',
      token: access,
      refreshToken: 'rt-opaque-123',
      idToken: 'id.token.value',
      issuer: IDP,
      label: 'web',
    });
    expect(s?.claims.scope).toBe('read');
    expect(s?.tokenExpiresAt).toBe((w.nowSec() + 600) * 1000);
  });

  it('SEC-16 a token the issuer did not sign is refused and nothing is stored', async () => {
    const w = await world();
    const forger = await provider();
    const forged = await forger.issue('ext-user', w.nowSec() + 600);
    await expect(
      w.cloakroom.deposit({ accessToken: forged }, { issuer: IDP }),
    ).rejects.toBeInstanceOf(TokenRejected);
    await expect(
      w.cloakroom.deposit({ accessToken: 'eyJhbGciOiJub25lIn0.e30.' }, { issuer: IDP }),
    ).rejects.toBeInstanceOf(TokenRejected);
    const expired = await w.idp.issue('ext-user', w.nowSec() - 60);
    await expect(
      w.cloakroom.deposit({ accessToken: expired }, { issuer: IDP }),
    ).rejects.toBeInstanceOf(TokenRejected);
    expect(w.spy.calls.insert ?? 0).toBe(0);
  });

  it('refuses an unknown issuer and malformed tokens with InvalidArgument', async () => {
    const w = await world();
    const access = await w.idp.issue('u', w.nowSec() + 600);
    await expect(
      w.cloakroom.deposit({ accessToken: access }, { issuer: 'https://evil.test' }),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await expect(w.cloakroom.deposit({ accessToken: '' }, { issuer: IDP })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(
      w.cloakroom.deposit(
        { accessToken: access, refreshToken: 'x'.repeat(20_000) },
        { issuer: IDP },
      ),
    ).rejects.toBeInstanceOf(InvalidArgument);
  });

  it('never re-signs a deposited token; replaceTokens swaps in a renewed one, same subject only, same ticket', async () => {
    const w = await world();
    const first = await w.idp.issue('ext-user', w.nowSec() + 120);
    const { ticket } = await w.cloakroom.deposit(
      { accessToken: first, refreshToken: 'rt-1' },
      { issuer: IDP },
    );
    w.clock.advance(100_000);
    expect((await w.cloakroom.resolve(ticket))?.token).toBe(first);
    const renewed = await w.idp.issue('ext-user', w.nowSec() + 600);
    expect(
      await w.cloakroom.replaceTokens(ticket, { accessToken: renewed, refreshToken: 'rt-2' }),
    ).toBe(true);
    const s = await w.cloakroom.resolve(ticket);
    expect(s).toMatchObject({ token: renewed, refreshToken: 'rt-2' });
    const someoneElse = await w.idp.issue('other-user', w.nowSec() + 600);
    await expect(
      w.cloakroom.replaceTokens(ticket, { accessToken: someoneElse }),
    ).rejects.toBeInstanceOf(TokenRejected);
    expect((await w.cloakroom.resolve(ticket))?.subject).toBe('ext-user');
  });

  it('refresh of a deposited session rotates the ticket and keeps the provider tokens', async () => {
    const w = await world();
    const access = await w.idp.issue('ext-user', w.nowSec() + 600);
    const { ticket } = await w.cloakroom.deposit({ accessToken: access }, { issuer: IDP });
    await expect(w.cloakroom.refresh(ticket, { claims: { role: 'admin' } })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    const next = await w.cloakroom.refresh(ticket);
    expect(await w.cloakroom.resolve(ticket)).toBeNull();
    expect((await w.cloakroom.resolve(next?.ticket))?.token).toBe(access);
    // replaceTokens on an own-issued session is refused (it has no issuer).
    const own = await w.cloakroom.create('local-user');
    expect(await w.cloakroom.replaceTokens(own.ticket, { accessToken: access })).toBe(false);
  });

  it('SEC-02 the store holds none of the deposited tokens', async () => {
    const w = await world();
    const access = await w.idp.issue('ext-user-MARKER', w.nowSec() + 600);
    await w.cloakroom.deposit(
      { accessToken: access, refreshToken: 'rt-MARKER-opaque', idToken: 'idt-MARKER' },
      { issuer: IDP },
    );
    for (const r of await dump(w.memory)) {
      const text = Buffer.from(r.payload).toString('latin1') + r.id + r.subject;
      for (const secret of [access, 'rt-MARKER-opaque', 'idt-MARKER', 'ext-user-MARKER'])
        expect(text.includes(secret)).toBe(false);
    }
  });
});
