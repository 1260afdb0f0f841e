// sessionLimit: at most `max` concurrent sessions per identity, enforced by the
// store's insertWithLimit (issue #17, item 6). Runs on the real memory store.
import { describe, expect, it } from 'vitest';
import {
  ConfigInvalid,
  SessionLimitReached,
  createCloakroom,
  isCloakroomError,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { AUDIENCE, ISSUER, keysFrom, makeKeyMaterial, setup } from '../support/fixtures';
import { identityProvider } from '../support/identity-provider';
import { fleet, warm } from './near-cache-support';

const IDP = 'https://idp.test';

describe('sessionLimit', () => {
  it('is refused at construction on a store without insertWithLimit, or with a bad shape', async () => {
    const m = await makeKeyMaterial();
    const memory = createMemoryStore();
    const base = { keys: keysFrom(m), issuer: ISSUER, audience: AUDIENCE };
    expect(() =>
      createCloakroom({
        ...base,
        store: {
          name: 'plain',
          capabilities: memory.capabilities,
          insert: (r) => memory.insert(r),
          get: (id) => memory.get(id),
          replace: (r, v) => memory.replace(r, v),
          rotate: (o, n) => memory.rotate(o, n),
          delete: (id) => memory.delete(id),
          deleteBySubject: (s) => memory.deleteBySubject(s),
          listBySubject: (s) => memory.listBySubject(s),
          scan: (o) => memory.scan(o),
          close: () => memory.close(),
        },
        sessionLimit: { max: 3 },
      }),
    ).toThrow(ConfigInvalid);
    for (const bad of [
      { max: 0 },
      { max: 1.5 },
      { max: 1001 },
      { max: '3' },
      { max: 3, evict: 'newest' },
      null,
      7,
    ]) {
      expect(() =>
        // biome-ignore lint/suspicious/noExplicitAny: invalid input on purpose
        createCloakroom({ ...base, store: memory, sessionLimit: bad as any }),
      ).toThrow(ConfigInvalid);
    }
    const ok = createCloakroom({ ...base, store: memory, sessionLimit: { max: 1000 } });
    await ok.close();
  });

  it("evict 'oldest' (the default): the session that signed in first ends, with an event", async () => {
    const w = await setup({ sessionLimit: { max: 2 } });
    const a = await w.cloakroom.create('alice');
    w.clock.advance(1000);
    const b = await w.cloakroom.create('alice');
    w.clock.advance(1000);
    const other = await w.cloakroom.create('bob');
    const c = await w.cloakroom.create('alice', {}, { label: 'Firefox on Linux' });
    expect(await w.cloakroom.resolve(a.ticket)).toBeNull();
    expect(await w.cloakroom.resolve(b.ticket)).not.toBeNull();
    expect(await w.cloakroom.resolve(c.ticket)).not.toBeNull();
    expect(await w.cloakroom.resolve(other.ticket)).not.toBeNull();
    const evicted = w.events.filter((e) => e.type === 'session.evicted');
    expect(evicted).toEqual([
      expect.objectContaining({ sessionId: a.sessionId, bySessionId: c.sessionId }),
    ]);
    const listed = await w.cloakroom.listSessions('alice', { subject: 'alice' });
    expect(listed.map((s) => s.sessionId).sort()).toEqual([b.sessionId, c.sessionId].sort());
    expect(listed.find((s) => s.sessionId === c.sessionId)?.label).toBe('Firefox on Linux');
  });

  it("evict 'refuse': SessionLimitReached, nothing created, nothing ended; a freed seat lets the next one in", async () => {
    const w = await setup({ sessionLimit: { max: 2, evict: 'refuse' } });
    const a = await w.cloakroom.create('alice');
    const b = await w.cloakroom.create('alice');
    const before = (await w.cloakroom.listSessions('alice', { subject: 'alice' })).length;
    const refused = await w.cloakroom.create('alice').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(SessionLimitReached);
    expect(isCloakroomError(refused) && refused.code).toBe('ERR_SESSION_LIMIT');
    expect((await w.cloakroom.listSessions('alice', { subject: 'alice' })).length).toBe(before);
    expect(await w.cloakroom.resolve(a.ticket)).not.toBeNull();
    expect(await w.cloakroom.resolve(b.ticket)).not.toBeNull();
    expect(w.events.filter((e) => e.type === 'session.limit_reached')).toEqual([
      expect.objectContaining({ max: 2 }),
    ]);
    expect(w.events.some((e) => e.type === 'session.evicted')).toBe(false);
    await w.cloakroom.revoke(a.ticket);
    const c = await w.cloakroom.create('alice');
    expect(await w.cloakroom.resolve(c.ticket)).not.toBeNull();
  });

  it('a refresh keeps its seat and its place; its rotated predecessor takes no seat', async () => {
    const w = await setup({ sessionLimit: { max: 2, evict: 'refuse' } });
    const a = await w.cloakroom.create('alice');
    w.clock.advance(1000);
    const b = await w.cloakroom.create('alice');
    w.clock.advance(1000);
    const a2 = await w.cloakroom.refresh(a.ticket);
    expect(a2).not.toBeNull();
    // The predecessor of `a` is still in its grace window, yet only two seats are taken.
    await expect(w.cloakroom.create('alice')).rejects.toBeInstanceOf(SessionLimitReached);
    await w.cloakroom.revoke(b.ticket);
    const c = await w.cloakroom.create('alice');
    expect(await w.cloakroom.resolve(c.ticket)).not.toBeNull();

    // Under 'oldest', the refreshed session keeps the place of the sign-in it continues: first out.
    const o = await setup({ sessionLimit: { max: 2 } });
    const first = await o.cloakroom.create('carol');
    o.clock.advance(1000);
    const second = await o.cloakroom.create('carol');
    o.clock.advance(1000);
    const firstAgain = await o.cloakroom.refresh(first.ticket);
    if (firstAgain === null) throw new Error('refresh failed');
    o.clock.advance(1000);
    await o.cloakroom.create('carol');
    expect(await o.cloakroom.resolve(firstAgain.ticket)).toBeNull();
    expect(await o.cloakroom.resolve(second.ticket)).not.toBeNull();
  });

  it('concurrent creates for one subject never go over the limit', async () => {
    const w = await setup({ sessionLimit: { max: 3 } });
    const made = await Promise.all(Array.from({ length: 40 }, () => w.cloakroom.create('dave')));
    const live = (
      await Promise.all(made.map(async (s) => ((await w.cloakroom.resolve(s.ticket)) ? 1 : 0)))
    ).reduce<number>((n, x) => n + x, 0);
    expect(live).toBe(3);
    expect((await w.cloakroom.listSessions('dave', { subject: 'dave' })).length).toBe(3);
    expect(w.events.filter((e) => e.type === 'session.evicted').length).toBe(37);

    const r = await setup({ sessionLimit: { max: 3, evict: 'refuse' } });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, () => r.cloakroom.create('erin')),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBe(3);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(SessionLimitReached);
    }
  });

  it('counts each identity apart: a provider’s subject does not take the app’s own seats; listSessions names the issuer', async () => {
    let now = () => Date.now();
    const idp = await identityProvider(IDP, () => now());
    const w = await setup({
      trustedIssuers: [idp.issuer],
      sessionLimit: { max: 1, evict: 'refuse' },
    });
    now = w.clock.now;
    const own = await w.cloakroom.create('frank');
    const nowSec = Math.floor(w.clock.t / 1000);
    const access = await idp.issue({ sub: 'frank', iat: nowSec - 10, exp: nowSec + 600 });
    const deposited = await w.cloakroom.deposit(
      { accessToken: access },
      { issuer: IDP, label: 'Safari on iPhone' },
    );
    expect(await w.cloakroom.resolve(own.ticket)).not.toBeNull();
    expect(await w.cloakroom.resolve(deposited.ticket)).not.toBeNull();
    await expect(
      w.cloakroom.deposit({ accessToken: access }, { issuer: IDP }),
    ).rejects.toBeInstanceOf(SessionLimitReached);
    const theirs = await w.cloakroom.listSessions(
      { subject: 'frank', issuer: IDP },
      { subject: 'frank', issuer: IDP },
    );
    expect(theirs).toEqual([
      expect.objectContaining({
        sessionId: deposited.sessionId,
        issuer: IDP,
        label: 'Safari on iPhone',
        createdAt: w.clock.t,
        lastSeenAt: w.clock.t,
      }),
    ]);
    const ours = await w.cloakroom.listSessions('frank', { subject: 'frank' });
    expect(ours).toHaveLength(1);
    expect(ours[0]?.issuer).toBeUndefined();
  });

  it('SEC-27 the limit events carry hashes and counts only', async () => {
    const w = await setup({ sessionLimit: { max: 1 } });
    const a = await w.cloakroom.create('grace-hopper', { secret: 'claim-value' });
    const b = await w.cloakroom.create('grace-hopper', { secret: 'claim-value' });
    const text = JSON.stringify(w.events);
    for (const needle of [a.ticket, b.ticket, 'grace-hopper', 'claim-value']) {
      expect(text).not.toContain(needle);
    }
    expect(text).toContain(a.sessionId);
  });

  it("SEC-32 an evicted session leaves this instance's near cache at once, and another instance's through the channel", async () => {
    const f = await fleet({ sessionLimit: { max: 1 } });
    const first = await f.a.create('heidi');
    await warm(f.a, first.ticket);
    await warm(f.b, first.ticket);
    const getsA = f.storeA.gets.n;
    expect(await f.a.resolve(first.ticket)).not.toBeNull();
    expect(f.storeA.gets.n).toBe(getsA); // answered from A's cache
    f.bus.hold = true; // the channel is slow: nothing reaches any instance yet
    await f.a.create('heidi');
    // A evicted it: A's own cache dropped it without waiting for the channel.
    expect(await f.a.resolve(first.ticket)).toBeNull();
    f.bus.flush();
    expect(await f.b.resolve(first.ticket)).toBeNull();
    await f.a.close();
    await f.b.close();
  });
});
