import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { StoreUnavailable, createCloakroom, trustedIssuer } from '@cloakroom/core';
import { createOidcVault } from '@cloakroom/oidc';
import { CLIENT_ID, CLIENT_SECRET, RESOURCE } from './support/provider';
import { faultyStore } from './support/faulty-store';
import { bffWorld } from './support/world';

type World = Awaited<ReturnType<typeof bffWorld>>;
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const EVENTS = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const now = () => Math.floor(Date.now() / 1000);

/** A logout token as the provider would send it; `over` changes the claim under test. */
function logoutClaims(world: World, over: Record<string, unknown> = {}) {
  return {
    iss: world.idp.issuer,
    aud: CLIENT_ID,
    iat: now(),
    jti: randomUUID(),
    events: EVENTS,
    sub: 'alice',
    ...over,
  };
}
/** Another instance of the app: its own manager over the same store and keys. */
function anotherManager(world: World) {
  return createCloakroom({
    store: world.store,
    keys: world.keys,
    issuer: 'https://bff.test',
    audience: 'https://bff.test',
    trustedIssuers: [
      trustedIssuer({
        issuer: world.idp.issuer,
        jwksUri: `${world.idp.issuer}/jwks`,
        audience: RESOURCE,
        typ: 'at+jwt',
        allowInsecureLoopback: true,
      }),
    ],
  });
}

/** oidc-provider's own back-channel logout: a real logout token POSTed to the BFF. */
async function providerLogout(world: World, sub: string, sid: string) {
  const client = await world.idp.provider.Client.find(CLIENT_ID);
  await (
    client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }
  ).backchannelLogout(sub, sid);
}

const post = (world: World, token: string) =>
  world.vault.handleBackchannelLogout(new URLSearchParams({ logout_token: token }).toString());

describe('back-channel logout (OpenID Connect Back-Channel Logout 1.0, SEC-34)', () => {
  it('the provider logs out one provider session: its Cloakroom session is revoked at once, on this and another instance; the other stays', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const two = await w.signIn();
    expect(one.auth.sid).toBeTruthy();
    expect(one.auth.sid).not.toBe(two.auth.sid);
    const other = anotherManager(w);
    try {
      expect(await other.resolve(one.ticket)).not.toBeNull();
      await providerLogout(w, 'alice', one.auth.sid as string);
      // The manager itself, not the vault: the session is gone, not only hidden.
      expect(await w.cloakroom.resolve(one.ticket)).toBeNull();
      expect(await other.resolve(one.ticket)).toBeNull();
      expect((await w.cloakroom.resolve(two.ticket))?.subject).toBe('alice');
      expect((await other.resolve(two.ticket))?.subject).toBe('alice');
      expect((await w.vault.session(two.ticket))?.session.subject).toBe('alice');
    } finally {
      await other.close();
    }
    expect(w.oidcEvents).toContainEqual(
      expect.objectContaining({
        type: 'oidc.backchannel_logout',
        outcome: 'revoked',
        by: 'sid',
        count: 1,
      }),
    );
    expect(w.events).toContainEqual(
      expect.objectContaining({ type: 'session.revoked', sessionId: one.sessionId }),
    );
    // Revoked by the logout, not ended later by the marker.
    expect(w.oidcEvents.some((e) => e.type === 'oidc.sid_ended')).toBe(false);
  });

  it('a logout of another sid (or a sid of another provider session of the same user) leaves the session', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const answer = await post(w, await w.idp.sign(logoutClaims(w, { sid: 'another-sid' })));
    expect(answer.status).toBe(200);
    expect((await w.cloakroom.resolve(one.ticket))?.subject).toBe('alice');
    expect((await w.vault.session(one.ticket))?.session.subject).toBe('alice');
    expect(w.oidcEvents).toContainEqual(
      expect.objectContaining({ type: 'oidc.backchannel_logout', by: 'sid', count: 0 }),
    );
  });

  it('SEC-34 a session rotated since sign-in (new id) still ends at its next vault.session(): the ended-sid marker', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const rotated = await w.cloakroom.refresh(one.ticket);
    expect(rotated).not.toBeNull();
    const ticket = rotated?.ticket as string;
    await providerLogout(w, 'alice', one.auth.sid as string);
    expect(await w.vault.session(ticket)).toBeNull();
    expect(await w.cloakroom.resolve(ticket)).toBeNull();
    expect(w.oidcEvents).toContainEqual(expect.objectContaining({ type: 'oidc.sid_ended' }));
  });

  it('SEC-34 a session rotated with vault.rotate is revoked at once by a logout of its sid, on every instance', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const rotated = await w.vault.rotate(one.ticket);
    if (rotated === null) throw new Error('rotate failed');
    expect(rotated.sessionId).not.toBe(one.sessionId);
    const again = await w.vault.rotate(rotated.ticket);
    if (again === null) throw new Error('second rotate failed');
    const other = anotherManager(w);
    try {
      expect((await other.resolve(again.ticket))?.subject).toBe('alice');
      await providerLogout(w, 'alice', one.auth.sid as string);
      // The manager itself, on both instances, without any vault.session() in between.
      expect(await w.cloakroom.resolve(again.ticket)).toBeNull();
      expect(await other.resolve(again.ticket)).toBeNull();
    } finally {
      await other.close();
    }
    expect(w.oidcEvents.some((e) => e.type === 'oidc.sid_ended')).toBe(false);
    expect(await w.vault.rotate('not-a-ticket')).toBeNull();
  });

  it('SEC-34 vault.rotate of a session whose sid already logged out ends it instead of issuing a new ticket', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const rotated = await w.cloakroom.refresh(one.ticket); // rotated outside the vault: not linked
    if (rotated === null) throw new Error('refresh failed');
    await providerLogout(w, 'alice', one.auth.sid as string);
    expect(await w.vault.rotate(rotated.ticket)).toBeNull();
    expect(await w.cloakroom.resolve(rotated.ticket)).toBeNull();
    expect(w.oidcEvents).toContainEqual(expect.objectContaining({ type: 'oidc.sid_ended' }));
  });

  it('SEC-34 a sid link in the store holds no ticket, token, subject or sid in clear', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const session = await w.cloakroom.resolve(one.ticket);
    const secrets = [
      one.ticket,
      one.auth.sid as string,
      'alice',
      session?.token as string,
      session?.refreshToken as string,
    ];
    let records = 0;
    let cursor: string | undefined;
    do {
      const page = await w.store.scan({ limit: 100, ...(cursor === undefined ? {} : { cursor }) });
      for (const r of page.records) {
        records++;
        if (r.id === one.sessionId) continue; // the session itself: sealed by the manager
        const text = Buffer.from(r.payload).toString('latin1');
        for (const secret of secrets) expect(text).not.toContain(secret);
        expect(text).not.toContain(one.sessionId); // sealed, even the (public) session id
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(records).toBe(2); // the session and its link
  });

  it('a sid logout is seen by another vault instance sharing the store', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const other = createOidcVault({
      cloakroom: w.cloakroom,
      store: w.store,
      issuer: w.idp.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: w.redirectUri,
      secret: w.secret,
      allowInsecureLoopback: true,
    });
    expect((await post(w, await w.idp.sign(logoutClaims(w, { sid: one.auth.sid })))).status).toBe(
      200,
    );
    expect(await other.session(one.ticket)).toBeNull();
  });

  it('a logout token with sub and no sid ends every session of that user at once', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const two = await w.signIn();
    const answer = await post(w, await w.idp.sign(logoutClaims(w)));
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(await w.cloakroom.resolve(one.ticket)).toBeNull();
    expect(await w.cloakroom.resolve(two.ticket)).toBeNull();
  });

  it('a logout that fails after claiming its jti (store down) is served when the provider retries it', async () => {
    let down = false;
    const outage = () => Promise.reject(new StoreUnavailable('injected outage'));
    // The real memory store, with subject-wide operations failing on demand.
    const store = faultyStore((memory) => ({
      deleteBySubject: (x) => (down ? outage() : memory.deleteBySubject(x)),
      listBySubject: (x) => (down ? outage() : memory.listBySubject(x)),
    }));
    w = await bffWorld({ store });
    const one = await w.signIn();
    const token = await w.idp.sign(logoutClaims(w));
    down = true;
    expect((await post(w, token)).status).toBe(503);
    down = false;
    expect((await w.cloakroom.resolve(one.ticket))?.subject).toBe('alice');
    // The provider retries the same logout token (same jti): it is served, not refused as a replay.
    expect((await post(w, token)).status).toBe(200);
    expect(await w.cloakroom.resolve(one.ticket)).toBeNull();
    // And now it is spent.
    expect((await post(w, token)).status).toBe(400);
  });

  it('a logout whose jti claim was written but whose reply was lost is served when the provider retries it', async () => {
    let loseNextMarkerReply = false;
    // The real memory store; one marker insert lands and then reports a timeout.
    const store = faultyStore((memory) => ({
      async insert(r) {
        await memory.insert(r);
        if (loseNextMarkerReply && r.payload.byteLength === 0) {
          loseNextMarkerReply = false;
          throw new StoreUnavailable('injected: the reply was lost');
        }
      },
    }));
    w = await bffWorld({ store });
    const one = await w.signIn();
    const token = await w.idp.sign(logoutClaims(w));
    loseNextMarkerReply = true;
    expect((await post(w, token)).status).toBe(503);
    expect((await post(w, token)).status).toBe(200);
    expect(await w.cloakroom.resolve(one.ticket)).toBeNull();
  });

  it('SEC-34 a replayed logout token (same jti) is refused, on this and another instance', async () => {
    w = await bffWorld();
    const token = await w.idp.sign(logoutClaims(w, { sid: 'some-sid' }));
    expect((await post(w, token)).status).toBe(200);
    const again = await post(w, token);
    expect(again.status).toBe(400);
    expect(again.reason).toBe('jti replayed');
    const other = createOidcVault({
      cloakroom: w.cloakroom,
      store: w.store,
      issuer: w.idp.issuer,
      clientId: CLIENT_ID,
      redirectUri: w.redirectUri,
      secret: w.secret,
      allowInsecureLoopback: true,
    });
    expect((await other.handleBackchannelLogout({ logout_token: token })).status).toBe(400);
  });

  it('SEC-34 a logout token carrying a nonce (an ID token in disguise) is refused', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const answer = await post(w, await w.idp.sign(logoutClaims(w, { nonce: 'n-0S6_WzA2Mj' })));
    expect(answer).toMatchObject({ status: 400, reason: 'nonce' });
    expect(await w.cloakroom.resolve(one.ticket)).not.toBeNull();
  });

  it('SEC-34 wrong aud, wrong iss, missing events, no sub/sid, stale iat, missing jti are refused', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const cases: [Record<string, unknown>, string][] = [
      [{ aud: 'another-client' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      [{ iss: 'https://evil.test' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      [{ events: { 'urn:other': {} } }, 'events'],
      [{ events: undefined }, 'events'],
      [{ sub: undefined }, 'neither sub nor sid'],
      [{ iat: now() - 3600 }, 'ERR_JWT_EXPIRED'],
      [{ jti: undefined }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ];
    for (const [over, reason] of cases) {
      const answer = await post(w, await w.idp.sign(logoutClaims(w, over)));
      expect(answer, JSON.stringify(over)).toMatchObject({ status: 400, reason });
    }
    // An ID token (typ JWT) is not a logout token either.
    expect((await post(w, await w.idp.sign(logoutClaims(w), { typ: 'JWT' }))).status).toBe(400);
    expect(await w.cloakroom.resolve(one.ticket)).not.toBeNull();
  });

  it('SEC-34 unsigned (alg none), foreign-key and HS256 logout tokens are refused', async () => {
    w = await bffWorld();
    const one = await w.signIn();
    const unsigned = new UnsecuredJWT(logoutClaims(w)).encode();
    expect((await post(w, unsigned)).status).toBe(400);
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = 'test-rs256'; // claims the provider's kid
    const forged = await new SignJWT(logoutClaims(w))
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'logout+jwt' })
      .sign(privateKey);
    expect((await post(w, forged)).status).toBe(400);
    void exportJWK;
    const hs = await new SignJWT(logoutClaims(w))
      .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' })
      .sign(new TextEncoder().encode(CLIENT_SECRET));
    expect((await post(w, hs)).status).toBe(400);
    expect((await post(w, '')).status).toBe(400);
    expect(await w.cloakroom.resolve(one.ticket)).not.toBeNull();
    // No refusal event carries the token.
    expect(JSON.stringify(w.oidcEvents)).not.toContain(forged.slice(0, 40));
  });
});
