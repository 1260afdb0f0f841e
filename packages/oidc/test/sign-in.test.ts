import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { SignInFailed } from '@cloakroom/oidc';
import { browser } from './support/provider';
import { bffWorld } from './support/world';

type World = Awaited<ReturnType<typeof bffWorld>>;
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('sign-in: code + PKCE + state + nonce against oidc-provider', () => {
  it('deposits the provider tokens behind a ticket and keeps auth_time, acr, amr, sid', async () => {
    w = await bffWorld();
    const start = await w.vault.beginSignIn({ returnTo: '/inbox' });
    const url = new URL(start.url);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(start.setCookie).toMatch(/HttpOnly/);
    const before = Math.floor(Date.now() / 1000);
    const callback = await browser().authorize(start.url, w.redirectUri);
    const done = await w.vault.completeSignIn(callback, start.transaction, {
      label: 'Firefox on Linux',
    });
    expect(done.returnTo).toBe('/inbox');
    expect(done.auth.acr).toBe('urn:loa:1');
    expect(done.auth.amr).toEqual(['pwd']);
    expect(done.auth.sid).toBeTruthy();
    expect(done.auth.authTime).toBeGreaterThanOrEqual(before - 5);
    const current = await w.vault.session(done.ticket);
    expect(current?.session.subject).toBe('alice');
    expect(current?.upstream).toBe('fresh');
    // The provider's JWT access token, for the API.
    expect(decodeJwt(current?.accessToken ?? '').aud).toBe('https://api.test/');
    expect(current?.session.refreshToken).toBeTruthy();
    expect(w.oidcEvents.some((e) => e.type === 'oidc.signed_in')).toBe(true);
  });

  it("refuses a callback whose state is not this browser's, and a missing or forged transaction", async () => {
    w = await bffWorld();
    const mine = await w.vault.beginSignIn();
    const theirs = await w.vault.beginSignIn();
    const callback = await browser().authorize(theirs.url, w.redirectUri);
    // Login CSRF: the attacker's callback with the victim's transaction cookie.
    await expect(w.vault.completeSignIn(callback, mine.transaction)).rejects.toMatchObject({
      reason: 'state',
    });
    await expect(w.vault.completeSignIn(callback, undefined)).rejects.toMatchObject({
      reason: 'transaction',
    });
    await expect(w.vault.completeSignIn(callback, `${theirs.transaction}x`)).rejects.toBeInstanceOf(
      SignInFailed,
    );
    // The right pair still works once.
    const ok = await w.vault.completeSignIn(callback, theirs.transaction);
    expect(ok.ticket).toBeTruthy();
    // The code is spent: replaying the callback fails at the token endpoint.
    await expect(w.vault.completeSignIn(callback, theirs.transaction)).rejects.toMatchObject({
      reason: 'token-endpoint',
    });
  });

  it('a transaction sealed by another vault secret does not open', async () => {
    w = await bffWorld();
    const other = await bffWorld();
    try {
      const start = await other.vault.beginSignIn();
      await expect(
        w.vault.completeSignIn(`/callback?state=x&code=y`, start.transaction),
      ).rejects.toMatchObject({ reason: 'transaction' });
    } finally {
      await other.close();
    }
  });

  it('an error from the provider is reported by code only, and an iss for another issuer is refused', async () => {
    w = await bffWorld();
    const start = await w.vault.beginSignIn();
    const state = new URL(start.url).searchParams.get('state');
    await expect(
      w.vault.completeSignIn(
        `/callback?state=${state}&error=access_denied&error_description=<script>`,
        start.transaction,
      ),
    ).rejects.toMatchObject({ reason: 'provider', providerError: 'access_denied' });
    await expect(
      w.vault.completeSignIn(
        `/callback?state=${state}&code=abc&iss=https%3A%2F%2Fevil.test`,
        start.transaction,
      ),
    ).rejects.toMatchObject({ reason: 'issuer' });
    expect(w.oidcEvents.filter((e) => e.type === 'oidc.sign_in_failed')).toHaveLength(2);
  });
});
