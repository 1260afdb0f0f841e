// Issue #17 item 6 against oidc-provider: the device inventory a user sees
// (listSessions) and the per-subject session limit applied at sign-in.
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailable } from '@cloakroom/core';
import { SignInFailed } from '@cloakroom/oidc';
import { browser } from './support/provider';
import { faultyStore } from './support/faulty-store';
import { bffWorld } from './support/world';

type World = Awaited<ReturnType<typeof bffWorld>>;
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('device inventory and session limit at sign-in', () => {
  it("lists each device with its sign-in time, last activity, label and issuer; 'oldest' ends the first device", async () => {
    w = await bffWorld({ sessionLimit: { max: 2 } });
    const labels = ['Firefox on Linux', 'Safari on iPhone', 'Edge on Windows'];
    const signedIn = [];
    for (const label of labels) {
      const start = await w.vault.beginSignIn();
      const callback = await browser().authorize(start.url, w.redirectUri);
      signedIn.push(await w.vault.completeSignIn(callback, start.transaction, { label }));
      await new Promise((r) => setTimeout(r, 5));
    }
    const [first, second, third] = signedIn;
    if (first === undefined || second === undefined || third === undefined)
      throw new Error('sign-in');
    expect(await w.vault.session(first.ticket)).toBeNull();
    expect((await w.vault.session(second.ticket))?.session.subject).toBe('alice');
    expect((await w.vault.session(third.ticket))?.session.subject).toBe('alice');
    const devices = await w.cloakroom.listSessions(
      { subject: 'alice', issuer: w.idp.issuer },
      { subject: 'alice', issuer: w.idp.issuer },
    );
    expect(devices.map((d) => d.label).sort()).toEqual(['Edge on Windows', 'Safari on iPhone']);
    for (const d of devices) {
      expect(d.issuer).toBe(w.idp.issuer);
      expect(d.createdAt).toBeLessThanOrEqual(d.lastSeenAt);
      expect(d.expiresAt).toBeGreaterThan(Date.now());
    }
    expect(w.events.filter((e) => e.type === 'session.evicted')).toEqual([
      expect.objectContaining({ sessionId: first.sessionId, bySessionId: third.sessionId }),
    ]);
    // A user can end a device from the list.
    const safari = devices.find((d) => d.label === 'Safari on iPhone');
    expect(
      await w.cloakroom.revokeSession(
        { subject: 'alice', issuer: w.idp.issuer },
        safari?.sessionId ?? '',
        { subject: 'alice', issuer: w.idp.issuer },
      ),
    ).toBe(true);
    expect(await w.vault.session(second.ticket)).toBeNull();
  });

  it("'refuse' fails the sign-in with reason session-limit and revokes the new provider tokens", async () => {
    w = await bffWorld({ sessionLimit: { max: 1, evict: 'refuse' } });
    const kept = await w.signIn();
    const grantsRevokedBefore = w.idp.counts.revokedGrants;
    const refused = await w.signIn().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(SignInFailed);
    expect((refused as SignInFailed).reason).toBe('session-limit');
    // The tokens the provider just issued were revoked (RFC 7009).
    // The provider revoked the refused sign-in's grant (revoking its refresh token ends the grant).
    expect(w.idp.counts.revokedGrants).toBe(grantsRevokedBefore + 1);
    expect(
      w.oidcEvents.filter(
        (e) => e.type === 'oidc.upstream_revocation' && e.token === 'refresh_token',
      ),
    ).toEqual([expect.objectContaining({ outcome: 'revoked' })]);
    expect(await w.vault.session(kept.ticket)).not.toBeNull();
    expect(
      await w.cloakroom.listSessions(
        { subject: 'alice', issuer: w.idp.issuer },
        { subject: 'alice', issuer: w.idp.issuer },
      ),
    ).toHaveLength(1);
    // SEC-27: the refusal's message names no token.
    expect(String((refused as Error).message)).not.toMatch(/eyJ/);
  });

  it('a sign-in whose session cannot be stored (store down) revokes the tokens the provider just issued', async () => {
    let down = false;
    const store = faultyStore((memory) => ({
      insert: (r) =>
        down ? Promise.reject(new StoreUnavailable('injected outage')) : memory.insert(r),
    }));
    w = await bffWorld({ store });
    const start = await w.vault.beginSignIn();
    const callback = await browser().authorize(start.url, w.redirectUri);
    const before = w.idp.counts.revokedGrants;
    down = true;
    await expect(w.vault.completeSignIn(callback, start.transaction)).rejects.toBeInstanceOf(
      StoreUnavailable,
    );
    expect(w.idp.counts.revokedGrants).toBe(before + 1);
  });
});
