import { randomBytes } from 'node:crypto';
import {
  type CloakroomEvent,
  type KeySetStore,
  type SessionStore,
  createCloakroom,
} from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import { describe, expect, it } from 'vitest';
import { type RotatingKeyProvider, rotatingKeys } from '../../../src/keys/rotating/rotating-keys';
import { type MasterKeyInput, toMasterKey } from '../../../src/keys/rotating/master-key';

const MIN = 60_000;

class Clock {
  t = Date.UTC(2026, 0, 1, 12);
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

function world() {
  const clock = new Clock();
  const keySets: KeySetStore = createMemoryKeySetStore();
  const sessions: SessionStore = createMemoryStore({ clock: clock.now });
  const events: CloakroomEvent[] = [];
  const keysWith = (masterKey: MasterKeyInput, previousMasterKeys: MasterKeyInput[] = []) =>
    rotatingKeys({
      store: keySets,
      masterKey,
      previousMasterKeys,
      clock: clock.now,
      refreshEvery: MIN,
      signing: { rotateEvery: 60 * MIN, publishAhead: 10 * MIN, retireAfter: 60 * MIN },
      storage: { rotateEvery: 120 * MIN, publishAhead: 5 * MIN },
    });
  const app = (keys: RotatingKeyProvider) =>
    createCloakroom({
      // One session store shared by every app instance; close() is never called on it here.
      store: sessions,
      keys,
      issuer: 'https://issuer.test',
      audience: 'api',
      clock: clock.now,
      ttl: { idle: 30 * MIN, token: 5 * MIN, absolute: 240 * MIN },
      onEvent: (e) => events.push(e),
    });
  return { clock, keySets, sessions, events, keysWith, app };
}

describe('master key rotation', () => {
  it('re-seals the key set under a new master key without touching sessions', async () => {
    const w = world();
    const m1 = new Uint8Array(randomBytes(32));
    const m2 = new Uint8Array(randomBytes(32));
    const keys = w.keysWith(m1);
    const one = w.app(keys);
    const tickets = await Promise.all(
      ['a', 'b', 'c'].map(async (s) => (await one.create(s)).ticket),
    );
    const before = await w.sessions.scan({ limit: 100 });
    const status = await keys.rotateMasterKey(m2);
    expect(status.masterKeyId).toBe(toMasterKey(m2, 'm2').id);
    expect(status.masterKeyId).not.toBe(toMasterKey(m1, 'm1').id);
    // Session records are byte-for-byte what they were.
    const after = await w.sessions.scan({ limit: 100 });
    expect(after.records.map((r) => Buffer.from(r.payload).toString('hex')).sort()).toEqual(
      before.records.map((r) => Buffer.from(r.payload).toString('hex')).sort(),
    );
    // The rotating instance keeps working, and so does a fresh instance on the new key.
    const fresh = w.app(w.keysWith(m2));
    for (const [i, t] of tickets.entries()) {
      const subject = ['a', 'b', 'c'][i];
      expect((await one.resolve(t))?.subject).toBe(subject);
      expect((await fresh.resolve(t))?.subject).toBe(subject);
    }
    expect((await fresh.verify((await one.resolve(tickets[0]))?.token)).header.kid).toBe(
      (await keys.signingKey()).kid,
    );
  });

  it('an instance still on the old master key keeps serving from its cache and reports the failure; a new one fails clearly', async () => {
    const w = world();
    const m1 = new Uint8Array(randomBytes(32));
    const m2 = new Uint8Array(randomBytes(32));
    const oldKeys = w.keysWith(m1);
    const oldApp = w.app(oldKeys);
    const { ticket } = await oldApp.create('user');
    await w.keysWith(m1).rotateMasterKey(m2);
    w.clock.advance(2 * MIN);
    // Hot path: answers from the cached document; the background refresh fails.
    expect((await oldApp.resolve(ticket))?.subject).toBe('user');
    await expect(oldKeys.refresh()).rejects.toThrow(/not configured with/);
    const status = await oldKeys.status();
    expect(status.lastError?.code).toBe('ERR_CONFIG_INVALID');
    expect((await oldApp.resolve(ticket))?.subject).toBe('user');
    // A process started with only the old key cannot load at all.
    await expect(w.keysWith(m1).signingKey()).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
  });

  it('a rollout instance with masterKey = new and previousMasterKeys = [old] reads the old seal and re-seals under the new key', async () => {
    const w = world();
    const m1 = new Uint8Array(randomBytes(32));
    const m2 = new Uint8Array(randomBytes(32));
    const first = w.keysWith(m1);
    const { ticket } = await w.app(first).create('user');
    const rolled = w.keysWith(m2, [m1]);
    const status = await rolled.status();
    expect(status.masterKeyId).toBe((await w.keysWith(m2).status()).masterKeyId);
    expect((await w.app(rolled).resolve(ticket))?.subject).toBe('user');
    // The key material survived the re-seal unchanged.
    expect((await rolled.signingKey()).kid).toBe((await first.signingKey()).kid);
    expect(await rolled.indexKey()).toEqual(await first.indexKey());
  });
});

describe('sessions under rotating keys', () => {
  it('SEC-19 sessions signed under a compromised signing key stop resolving at once; others keep working', async () => {
    const w = world();
    const keys = w.keysWith(new Uint8Array(randomBytes(32)));
    const app = w.app(keys);
    const old = await app.create('old-user');
    await keys.compromise((await keys.signingKey()).kid);
    const fresh = await app.create('new-user');
    expect(await app.resolve(old.ticket)).toBeNull();
    expect(w.events.some((e) => e.type === 'session.rejected' && e.reason === 'key-disabled')).toBe(
      true,
    );
    expect((await app.resolve(fresh.ticket))?.subject).toBe('new-user');
  });

  it('SEC-19 sessions sealed under a compromised storage key stop resolving at once', async () => {
    const w = world();
    const keys = w.keysWith(new Uint8Array(randomBytes(32)));
    const app = w.app(keys);
    const old = await app.create('old-user');
    const status = await keys.status();
    await keys.compromise(status.storage[0]?.id as string);
    const fresh = await app.create('new-user');
    expect(await app.resolve(old.ticket)).toBeNull();
    expect(w.events.some((e) => e.type === 'session.rejected' && e.reason === 'tampered')).toBe(
      true,
    );
    expect((await app.resolve(fresh.ticket))?.subject).toBe('new-user');
  });

  it('a session sealed by another instance under a storage key this one has not loaded still resolves', async () => {
    const w = world();
    const m = new Uint8Array(randomBytes(32));
    const a = w.keysWith(m);
    const b = w.keysWith(m);
    const appB = w.app(b);
    await appB.create('warm-up');
    // a replaces the storage key at once (emergency), so b has never seen it.
    await a.compromise((await a.status()).storage[0]?.id as string);
    const { ticket } = await w.app(a).create('user');
    expect((await appB.resolve(ticket))?.subject).toBe('user');
  });
});
