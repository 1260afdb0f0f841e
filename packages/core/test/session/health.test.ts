// #18: the readiness check an app mounts for its orchestrator. It must say
// "not ready" (never throw, never hang) when the store is down or silent or
// the keys cannot be had, and carry codes and timings only.
import { describe, expect, it } from 'vitest';
import {
  type KeyProvider,
  type KeySetStore,
  type SessionStore,
  StoreUnavailable,
  createCloakroom,
  generateSecret,
  rotatingKeys,
} from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import { AUDIENCE, ISSUER, keysFrom, makeKeyMaterial, setup } from '../support/fixtures';

describe('Cloakroom.health() (#18)', () => {
  it('ready when the store answers and the keys load; the probe id is answered missing', async () => {
    const { cloakroom, spy } = await setup();
    const report = await cloakroom.health();
    expect(report).toMatchObject({ ready: true, store: { ok: true }, keys: { ok: true } });
    expect(report.store.ms).toBeGreaterThanOrEqual(0);
    expect(spy.calls.get).toBe(1);
    expect(report.keys.keySetAgeMs).toBeUndefined(); // static keys have no age
  });

  it('the store down: not ready, with the error code and no message, never a throw', async () => {
    const { cloakroom, spy } = await setup();
    spy.setFailure(new StoreUnavailable('redis 10.0.0.9:6379 refused the connection'));
    const report = await cloakroom.health();
    expect(report).toEqual({
      ready: false,
      store: { ok: false, ms: expect.any(Number), error: 'ERR_STORE_UNAVAILABLE' },
      keys: { ok: true, ms: expect.any(Number) },
    });
    expect(JSON.stringify(report)).not.toContain('10.0.0.9');
  });

  it('a silent store (a call that never settles) is not ready after timeoutMs, not a hang', async () => {
    const memory = createMemoryStore();
    const silent: SessionStore = { ...memory, name: 'silent', get: () => new Promise(() => {}) };
    const cloakroom = createCloakroom({
      store: silent,
      keys: keysFrom(await makeKeyMaterial()),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const started = Date.now();
    const report = await cloakroom.health({ timeoutMs: 150 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report.ready).toBe(false);
    expect(report.store).toMatchObject({ ok: false, error: 'timeout' });
  });

  it('keys that cannot be had are not ready; a closed manager is not ready', async () => {
    const material = await makeKeyMaterial();
    const good = keysFrom(material);
    const broken: KeyProvider = {
      ...good,
      signingKey: () => Promise.reject(new StoreUnavailable('key-set store down')),
    };
    const cloakroom = createCloakroom({
      store: createMemoryStore(),
      keys: broken,
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const report = await cloakroom.health();
    expect(report.ready).toBe(false);
    expect(report.keys).toMatchObject({ ok: false, error: 'ERR_STORE_UNAVAILABLE' });
    expect(report.store.ok).toBe(true);
    await cloakroom.close();
    expect(await cloakroom.health()).toMatchObject({
      ready: false,
      store: { error: 'ERR_CLOSED' },
    });
  });

  it('a rotating key set read from its store too long ago is stale: not ready, with its age', async () => {
    let now = Date.UTC(2026, 0, 1, 12);
    const memoryKeySets = createMemoryKeySetStore();
    let keySetStoreDown = false;
    const keySets: KeySetStore = {
      name: 'flaky',
      read: (name) =>
        keySetStoreDown
          ? Promise.reject(new StoreUnavailable('key-set store down'))
          : memoryKeySets.read(name),
      write: (name, doc, expected) =>
        keySetStoreDown
          ? Promise.reject(new StoreUnavailable('key-set store down'))
          : memoryKeySets.write(name, doc, expected),
    };
    const keys = rotatingKeys({
      store: keySets,
      masterKey: generateSecret(),
      clock: () => now,
      refreshEvery: 60_000,
    });
    const cloakroom = createCloakroom({
      store: createMemoryStore({ clock: () => now }),
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: () => now,
    });
    expect(await cloakroom.health({ maxKeySetAgeMs: 120_000 })).toMatchObject({
      ready: true,
      keys: { ok: true, keySetAgeMs: 0 },
    });
    // The key-set store stops answering: the instance keeps its cached set,
    // which ages past the bound (it can no longer see rotations elsewhere).
    keySetStoreDown = true;
    now += 121_000;
    const report = await cloakroom.health({ maxKeySetAgeMs: 120_000 });
    expect(report).toMatchObject({
      ready: false,
      store: { ok: true },
      keys: { ok: false, error: 'stale', keySetAgeMs: 121_000 },
    });
    keySetStoreDown = false;
    now += 60_000; // past refreshEvery: the next use re-reads the document
    await keys.refresh();
    expect(await cloakroom.health({ maxKeySetAgeMs: 120_000 })).toMatchObject({
      ready: true,
      keys: { ok: true, keySetAgeMs: 0 },
    });
  });
});
