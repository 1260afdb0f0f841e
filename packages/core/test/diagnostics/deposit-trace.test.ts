// Deposited sessions carry the provider's tokens (access, refresh, ID):
// their traces say what happened and hold none of them (SEC-27).
import { afterEach, describe, expect, it } from 'vitest';
import { TokenRejected, sessionChannelName, sessionIdOf, storeChannelName } from '@cloakroom/core';
import { setup } from '../support/fixtures';
import { identityProvider } from '../support/identity-provider';
import { record } from './record';

const IDP = 'https://idp.test';
const SUBJECT = 'ext-subject-MARKER-5e1c';
let stop: (() => void) | undefined;
afterEach(() => stop?.());

describe('diagnostics channels: deposit and replaceTokens', () => {
  it('SEC-27 deposit, resolve, replaceTokens and a refused token are traced with outcomes and no provider token', async () => {
    let now = () => Date.now();
    const idp = await identityProvider(IDP, () => now());
    const w = await setup({ trustedIssuers: [idp.issuer] });
    now = w.clock.now;
    const sec = () => Math.floor(w.clock.t / 1000);
    const r = record();
    stop = r.stop;
    const access = await idp.issue({ sub: SUBJECT, iat: sec() - 60, exp: sec() + 600 });
    const refreshToken = 'rt-opaque-MARKER-0b7d41';
    const idToken = 'id-token-MARKER-9a2f33';
    const created = await w.cloakroom.deposit(
      { accessToken: access, refreshToken, idToken },
      { issuer: IDP },
    );
    expect((await w.cloakroom.resolve(created.ticket))?.token).toBe(access);
    const renewed = await idp.issue({ sub: SUBJECT, iat: sec(), exp: sec() + 900 });
    expect(
      await w.cloakroom.replaceTokens(created.ticket, {
        accessToken: renewed,
        refreshToken: 'rt-next-MARKER-55aa10',
      }),
    ).toBe(true);
    expect(await w.cloakroom.replaceTokens('garbage', { accessToken: renewed })).toBe(false);
    const forged = await (await identityProvider(IDP, () => now())).issue({
      sub: SUBJECT,
      iat: sec(),
      exp: sec() + 600,
    });
    await expect(
      w.cloakroom.deposit({ accessToken: forged }, { issuer: IDP }),
    ).rejects.toBeInstanceOf(TokenRejected);
    r.stop();

    const id = sessionIdOf(created.ticket);
    expect(r.ended(sessionChannelName('deposit')).map((m) => [m.outcome, m.sessionId])).toEqual([
      ['created', id],
      ['error:ERR_TOKEN_REJECTED', undefined],
    ]);
    expect(r.ended(sessionChannelName('replaceTokens')).map((m) => m.outcome)).toEqual([
      'replaced',
      'rejected:malformed',
    ]);
    expect(r.ended(storeChannelName('replace'))[0]).toMatchObject({
      sessionId: id,
      outcome: 'written',
    });
    const text = JSON.stringify(
      r.seen.map((s) => {
        const { error, ...rest } = s.message;
        const e = error as { code?: unknown; message?: unknown } | undefined;
        return { ...rest, error: e === undefined ? undefined : [e.code, e.message] };
      }),
    );
    const secrets = [
      created.ticket,
      access,
      ...access.split('.'),
      renewed,
      ...renewed.split('.'),
      forged,
      refreshToken,
      idToken,
      'rt-next-MARKER-55aa10',
      SUBJECT,
    ];
    expect(secrets.filter((s) => s.length >= 8 && text.includes(s))).toEqual([]);
  });
});
