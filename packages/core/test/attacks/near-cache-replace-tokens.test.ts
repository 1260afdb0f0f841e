// SEC-32: replaceTokens on an instance drops that instance's near-cache
// entry itself, as revoke does, so it never serves the replaced token while
// the invalidation channel is slow or silent. Real memory store; the channel
// is the test double of near-cache-support.ts, held silent.
import { describe, expect, it } from 'vitest';
import { fleet, warm } from '../session/near-cache-support';
import { identityProvider } from '../support/identity-provider';

const IDP = 'https://idp.test';

async function depositedFleet() {
  let now = () => Date.now();
  const idp = await identityProvider(IDP, () => now());
  const f = await fleet({ trustedIssuers: [idp.issuer] });
  now = f.clock.now;
  const nowSec = () => Math.floor(f.clock.t / 1000);
  const issue = (sub: string, expSec: number) =>
    idp.issue({ sub, iat: expSec - 3600, exp: expSec });
  return { ...f, issue, nowSec };
}

describe('SEC-32 near cache: replaceTokens', () => {
  it('SEC-32 replaceTokens on A, channel silent: resolve on A returns the new token, never the old one', async () => {
    const f = await depositedFleet();
    const first = await f.issue('ext-user', f.nowSec() + 600);
    const { ticket } = await f.a.deposit(
      { accessToken: first, refreshToken: 'rt-1' },
      { issuer: IDP },
    );
    await warm(f.a, ticket);
    const before = f.storeA.gets.n;
    expect((await f.a.resolve(ticket))?.token).toBe(first);
    expect(f.storeA.gets.n).toBe(before); // A answers from its cache

    f.bus.hold = true; // the channel never delivers
    const renewed = await f.issue('ext-user', f.nowSec() + 1200);
    expect(renewed).not.toBe(first);
    expect(await f.a.replaceTokens(ticket, { accessToken: renewed, refreshToken: 'rt-2' })).toBe(
      true,
    );
    for (let i = 0; i < 3; i++) {
      const s = await f.a.resolve(ticket);
      expect(s?.token).toBe(renewed);
      expect(s?.refreshToken).toBe('rt-2');
    }
  });
});
