import { describe, expect, it } from 'vitest';
import { ConfigInvalid, createCloakroom } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { AUDIENCE, ISSUER, keysFrom, makeKeyMaterial } from '../support/fixtures';
import { InvalidationBus, fleet, warm, watchedStore } from './near-cache-support';
import { identityProvider } from '../support/identity-provider';

const MIN = 60_000;

describe('near cache: configuration', () => {
  it('refuses nearCache on a store without watch (fail loud, not a silent no-op)', async () => {
    const m = await makeKeyMaterial();
    const build = (nearCache: unknown) =>
      createCloakroom({
        store: createMemoryStore(),
        keys: keysFrom(m),
        issuer: ISSUER,
        audience: AUDIENCE,
        nearCache: nearCache as boolean,
      });
    expect(() => build(true)).toThrow(ConfigInvalid);
    expect(() => build({ maxEntries: 10 })).toThrow(/watch/);
    expect(() => build(false)).not.toThrow();
    expect(() => build(undefined)).not.toThrow();
  });

  it('validates maxEntries and maxAgeMs', async () => {
    const m = await makeKeyMaterial();
    const store = watchedStore(createMemoryStore(), new InvalidationBus());
    const build = (nearCache: unknown) =>
      createCloakroom({
        store,
        keys: keysFrom(m),
        issuer: ISSUER,
        audience: AUDIENCE,
        nearCache: nearCache as boolean,
      });
    for (const bad of [
      { maxEntries: 0 },
      { maxEntries: 1.5 },
      { maxEntries: '10' },
      { maxAgeMs: -1 },
      { maxAgeMs: 2 * 86_400_000 },
      'yes',
      [],
      null,
    ]) {
      expect(() => build(bad), JSON.stringify(bad)).toThrow(ConfigInvalid);
    }
    expect(() => build({ maxEntries: 5, maxAgeMs: 1000 })).not.toThrow();
    expect(() => build(true)).not.toThrow();
  });
});

describe('near cache: hits', () => {
  it('a warm session resolves without a store read, with the same answer', async () => {
    const { a, storeA } = await fleet();
    const { ticket } = await a.create('u', { role: 'editor' });
    const cold = await a.resolve(ticket);
    await warm(a, ticket);
    const before = storeA.gets.n;
    const hot = await a.resolve(ticket);
    expect(storeA.gets.n).toBe(before);
    expect(hot).toEqual(cold);
  });

  it('the first resolves go to the store until the channel is up; watch failures are retried, never fatal', async () => {
    const { a, bus, storeA } = await fleet();
    bus.failWatches = 1;
    const { ticket } = await a.create('u');
    for (let i = 0; i < 5; i++) {
      expect((await a.resolve(ticket))?.subject).toBe('u');
      await new Promise((r) => setImmediate(r));
    }
    // The failed watch is not retried at once (back-off): every resolve read the store.
    expect(storeA.gets.n).toBe(5);
    expect(bus.watchCalls).toBe(1);
  });

  it('a caller that edits its answer cannot change the next one', async () => {
    const { a } = await fleet();
    const { ticket } = await a.create('u', { role: 'editor', nested: { x: 1 } });
    await warm(a, ticket);
    const first = await a.resolve(ticket);
    if (first === null) throw new Error('expected a session');
    const claims = first.claims as Record<string, Record<string, unknown> | string>;
    claims.role = 'admin';
    (claims.nested as Record<string, unknown>).x = 2;
    const second = await a.resolve(ticket);
    expect(second?.claims).toEqual({ role: 'editor', nested: { x: 1 } });
  });

  it('the access policy still runs on a hit', async () => {
    let allow = true;
    const { a } = await fleet({
      policy: { name: 'test', authorize: () => ({ allow, reason: 'test' }) },
    });
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    allow = false;
    await expect(a.resolve(ticket)).rejects.toThrow(/access denied/);
  });

  it('a hit due a touch goes to the store, which records the activity', async () => {
    const { a, storeA, clock, events } = await fleet({
      ttl: { idle: 10 * MIN, absolute: 60 * MIN },
      touchIntervalMs: MIN,
    });
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    const before = storeA.gets.n;
    clock.advance(MIN);
    const touched = await a.resolve(ticket);
    expect(storeA.gets.n).toBe(before + 1);
    expect(events.some((e) => e.type === 'session.touched')).toBe(true);
    expect(touched?.expiresAt).toBe(clock.t + 10 * MIN);
  });

  it('close() stops the channel and answers nothing more', async () => {
    const { a, bus } = await fleet();
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    await a.close();
    expect(bus.subscribers.every((s) => s.closed)).toBe(true);
    await expect(a.resolve(ticket)).rejects.toThrow(/closed/);
  });
});

describe('near cache: deposited sessions', () => {
  async function depositedFleet() {
    let now = () => Date.now();
    const idp = await identityProvider('https://idp.test', () => now());
    // No touch and no age-out during these tests: every resolve after warm-up may be a hit.
    const f = await fleet({
      trustedIssuers: [idp.issuer],
      touchIntervalMs: 30 * MIN,
      nearCache: { maxAgeMs: 3_600_000 },
    });
    now = f.clock.now;
    const nowSec = () => Math.floor(f.clock.t / 1000);
    return { ...f, idp, nowSec };
  }

  it('SEC-31 on a hit: a provider token past its exp without a refresh token is not answered', async () => {
    const f = await depositedFleet();
    const access = await f.idp.issue({ sub: 'x', iat: f.nowSec() - 60, exp: f.nowSec() + 600 });
    const { ticket } = await f.a.deposit({ accessToken: access }, { issuer: 'https://idp.test' });
    await warm(f.a, ticket);
    expect((await f.a.resolve(ticket))?.token).toBe(access);
    f.clock.advance(606_000);
    expect(await f.a.resolve(ticket)).toBeNull();
    expect(f.events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'token-expired' });
  });

  it('SEC-32 refreshUpstream on A: A answers the renewed token at once, with the channel silent; invalid_grant ends it on A at once', async () => {
    const f = await depositedFleet();
    const access = await f.idp.issue({ sub: 'x', iat: f.nowSec() - 60, exp: f.nowSec() + 600 });
    const { ticket } = await f.a.deposit(
      { accessToken: access, refreshToken: 'rt-1' },
      { issuer: 'https://idp.test' },
    );
    await warm(f.a, ticket);
    expect((await f.a.resolve(ticket))?.token).toBe(access);
    f.bus.hold = true; // the channel says nothing from here on
    const renewed = await f.idp.issue({ sub: 'x', iat: f.nowSec(), exp: f.nowSec() + 900 });
    const result = await f.a.refreshUpstream(
      ticket,
      async () => ({ tokens: { accessToken: renewed, refreshToken: 'rt-2' } }),
      { force: true },
    );
    expect(result.status).toBe('refreshed');
    expect((await f.a.resolve(ticket))?.token).toBe(renewed);
    await warm(f.a, ticket);
    const ended = await f.a.refreshUpstream(ticket, async () => ({ rejected: 'invalid_grant' }), {
      force: true,
    });
    expect(ended.status).toBe('rejected');
    expect(await f.a.resolve(ticket)).toBeNull();
  });

  it('with a refresh token, a hit past the provider exp answers tokenExpired, as the store path does', async () => {
    const f = await depositedFleet();
    const access = await f.idp.issue({ sub: 'x', iat: f.nowSec() - 60, exp: f.nowSec() + 600 });
    const { ticket } = await f.a.deposit(
      { accessToken: access, refreshToken: 'rt' },
      { issuer: 'https://idp.test' },
    );
    await warm(f.a, ticket);
    f.clock.advance(601_000);
    const before = f.storeA.gets.n;
    const hit = await f.a.resolve(ticket);
    expect(f.storeA.gets.n).toBe(before);
    expect(hit).toMatchObject({
      tokenExpired: true,
      refreshToken: 'rt',
      issuer: 'https://idp.test',
    });
  });
});
