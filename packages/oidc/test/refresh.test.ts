import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamUnavailable } from '@cloakroom/oidc';
import { CLIENT_ID, CLIENT_SECRET } from './support/provider';
import { bffWorld } from './support/world';

type World = Awaited<ReturnType<typeof bffWorld>>;
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

/** The token endpoint called by hand, as an attacker holding an old refresh token would. */
async function useRefreshToken(world: World, refreshToken: string) {
  const res = await fetch(`${world.idp.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('upstream refresh against oidc-provider (rotating refresh tokens, SEC-34)', () => {
  it('SEC-34 twenty concurrent requests due a refresh: the provider sees one refresh, all get its token', async () => {
    w = await bffWorld();
    const done = await w.signIn();
    const before = await w.cloakroom.resolve(done.ticket);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => w?.vault.session(done.ticket, { forceRefresh: true })),
    );
    expect(w.idp.counts.refreshes).toBe(1);
    expect(w.idp.counts.reuse).toBe(0);
    const tokens = new Set(results.map((r) => r?.accessToken));
    expect(tokens.size).toBe(1);
    expect(tokens.has(before?.token)).toBe(false);
    const after = await w.cloakroom.resolve(done.ticket);
    expect(after?.token).toBe([...tokens][0]);
    expect(after?.refreshToken).not.toBe(before?.refreshToken); // rotated
    // auth facts survive the refresh (a new ID token, same authentication).
    expect(results[0]?.auth.sid).toBe(done.auth.sid);
    // The spent refresh token presented again is reuse: the provider revokes
    // the grant, and the vault's next refresh is refused: defined outcome.
    const replay = await useRefreshToken(w, before?.refreshToken as string);
    expect(replay.body.error).toBe('invalid_grant');
    expect(w.idp.counts.reuse).toBe(1);
    expect(await w.vault.session(done.ticket, { forceRefresh: true })).toBeNull();
    expect(await w.cloakroom.resolve(done.ticket)).toBeNull();
    expect(w.oidcEvents.some((e) => e.type === 'oidc.refresh' && e.outcome === 'rejected')).toBe(
      true,
    );
  });

  it('an access token inside earlyMs of expiry is refreshed on use, then used until the next one', async () => {
    // Token exp is in whole seconds, so a token has TTL - earlyMs - up to 1 s
    // of fresh life: 3 s here, room for a sign-in on a loaded CI machine
    // (TTL 3 s with earlyMs 2 s left under a second, and failed there).
    w = await bffWorld({ accessTokenTtlSec: 8, earlyMs: 4_000 });
    const done = await w.signIn();
    const first = await w.vault.session(done.ticket);
    expect(first?.upstream).toBe('fresh');
    await sleep(4_200);
    const second = await w.vault.session(done.ticket);
    expect(second?.upstream).toBe('refreshed');
    expect(second?.accessToken).not.toBe(first?.accessToken);
    const third = await w.vault.session(done.ticket);
    expect(third?.upstream).toBe('fresh');
    expect(w.idp.counts.refreshes).toBe(1);
  });

  it('provider down: a still-valid token is served; an expired one gives UpstreamUnavailable, never a hang, and the session stays', async () => {
    w = await bffWorld({ accessTokenTtlSec: 2, earlyMs: 1_000 });
    const done = await w.signIn();
    await w.idp.close();
    const stillValid = await w.vault.session(done.ticket, { forceRefresh: true });
    expect(stillValid?.upstream).toBe('unavailable');
    await sleep(2_100);
    await expect(w.vault.session(done.ticket)).rejects.toBeInstanceOf(UpstreamUnavailable);
    const kept = await w.cloakroom.resolve(done.ticket);
    expect(kept?.tokenExpired).toBe(true);
    expect(w.oidcEvents.some((e) => e.type === 'oidc.refresh' && e.outcome === 'unavailable')).toBe(
      true,
    );
  });

  it('invalid_grant (refresh token revoked at the provider) ends the session: null, with an event', async () => {
    w = await bffWorld();
    const done = await w.signIn();
    const s = await w.cloakroom.resolve(done.ticket);
    const report = await w.vault.revokeUpstream({ refreshToken: s?.refreshToken });
    expect(report.refreshToken).toBe('revoked');
    expect(await w.vault.session(done.ticket, { forceRefresh: true })).toBeNull();
    expect(await w.cloakroom.resolve(done.ticket)).toBeNull();
    expect(w.events.some((e) => e.type === 'session.revoked')).toBe(true);
  });
});

describe('sign-out revokes upstream (RFC 7009)', () => {
  it('signOut removes the session, then revokes its refresh and access token at the provider', async () => {
    w = await bffWorld();
    const done = await w.signIn();
    const s = await w.cloakroom.resolve(done.ticket);
    const out = await w.vault.signOut(done.ticket);
    expect(out).toEqual({
      sessions: 1,
      upstream: { refreshToken: 'revoked', accessToken: 'unsupported' }, // a JWT access token lives until exp at oidc-provider
    });
    expect(await w.cloakroom.resolve(done.ticket)).toBeNull();
    expect((await useRefreshToken(w, s?.refreshToken as string)).body.error).toBe('invalid_grant');
    // Events report outcomes, never the tokens.
    const events = JSON.stringify([...w.oidcEvents, ...w.events]);
    expect(events).not.toContain(s?.refreshToken as string);
    expect(events).not.toContain(s?.token as string);
    expect(events).not.toContain(done.ticket);
  });

  it('signOutEverywhere removes every session of the user; a provider that is down is reported, not thrown', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const two = await w.signIn();
    await w.idp.close();
    const out = await w.vault.signOutEverywhere(one.ticket);
    expect(out.sessions).toBe(2);
    expect(out.upstream.refreshToken).toBe('failed');
    expect(await w.cloakroom.resolve(two.ticket)).toBeNull();
    const failures = w.oidcEvents.filter(
      (e) => e.type === 'oidc.upstream_revocation' && e.outcome === 'failed',
    );
    expect(failures.length).toBeGreaterThan(0);
  });
});
