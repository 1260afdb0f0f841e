// KeyProvider.snapshot(): the keys a provider holds in memory, read by the
// hot path (resolve, create) without an await. A snapshot must answer what
// the async methods answer, a provider without one must work as before, and
// key lifecycle decisions (rotation, retirement, compromise) must reach the
// synchronous path exactly when they reach the asynchronous one.
import { randomBytes } from 'node:crypto';
import {
  type CloakroomEvent,
  ConfigInvalid,
  type KeyProvider,
  type KeySnapshot,
  type SessionStore,
  type StorageKeyRing,
  createAesGcmCipher,
  createCloakroom,
} from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import { describe, expect, it } from 'vitest';
import { rotatingKeys } from '../../src/keys/rotating/rotating-keys';
import { AUDIENCE, Clock, ISSUER, dump, keysFrom, makeKeyMaterial } from '../support/fixtures';

const MIN = 60_000;

type AsyncMethod = 'signingKey' | 'verificationKey' | 'storageKeys' | 'indexKey';

/**
 * A provider over `inner` that counts calls to its async methods; `snapshot`
 * is inner's, absent, or one that always answers `undefined`.
 */
function counted(inner: KeyProvider, snapshot: 'inner' | 'absent' | 'empty') {
  const calls: Record<AsyncMethod, number> = {
    signingKey: 0,
    verificationKey: 0,
    storageKeys: 0,
    indexKey: 0,
  };
  const provider: KeyProvider = {
    signingKey: () => {
      calls.signingKey++;
      return inner.signingKey();
    },
    verificationKey: (kid) => {
      calls.verificationKey++;
      return inner.verificationKey(kid);
    },
    storageKeys: () => {
      calls.storageKeys++;
      return inner.storageKeys();
    },
    indexKey: () => {
      calls.indexKey++;
      return inner.indexKey();
    },
    jwks: () => inner.jwks(),
    ...(snapshot === 'inner' ? { snapshot: () => inner.snapshot?.() } : {}),
    ...(snapshot === 'empty' ? { snapshot: () => undefined } : {}),
  };
  return { provider, calls };
}

function app(
  keys: KeyProvider,
  clock = new Clock(),
  events: CloakroomEvent[] = [],
  store: SessionStore = createMemoryStore({ clock: clock.now }),
) {
  return createCloakroom({
    store,
    keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: clock.now,
    onEvent: (e) => events.push(e),
  });
}

describe('staticKeys().snapshot()', () => {
  it('answers what the async methods answer', async () => {
    const keys = keysFrom(await makeKeyMaterial());
    const snapshot = keys.snapshot?.() as KeySnapshot;
    expect(snapshot).toBeDefined();
    expect(snapshot.signing).toBe(await keys.signingKey());
    expect(snapshot.storage).toBe(await keys.storageKeys());
    const kid = snapshot.signing.kid;
    expect(snapshot.verificationKey(kid)).toBe(await keys.verificationKey(kid));
    for (const junk of ['__proto__', 'x'.repeat(10_000), 'constructor', 42, undefined]) {
      expect(snapshot.verificationKey(junk as string)).toBeUndefined();
      expect(await keys.verificationKey(junk as string)).toBeUndefined();
    }
  });
});

describe('the hot path reads the snapshot', () => {
  it('a snapshot that is not a method is refused at construction', async () => {
    const keys = {
      ...keysFrom(await makeKeyMaterial()),
      snapshot: 'yes',
    } as unknown as KeyProvider;
    expect(() => app(keys)).toThrow(ConfigInvalid);
    expect(() => app(keys)).toThrow('keys.snapshot must be a method when present');
  });

  it('resolve and create with a snapshot make no async key calls (the index key aside)', async () => {
    const { provider, calls } = counted(keysFrom(await makeKeyMaterial()), 'inner');
    const cloakroom = app(provider);
    const { ticket } = await cloakroom.create('user-1', { role: 'editor' });
    expect((await cloakroom.resolve(ticket))?.claims).toEqual({ role: 'editor' });
    expect(calls).toEqual({ signingKey: 0, verificationKey: 0, storageKeys: 0, indexKey: 1 });
  });

  it.each(['absent', 'empty'] as const)(
    'a provider whose snapshot is %s is awaited and gives the same sessions',
    async (snapshot) => {
      const { provider, calls } = counted(keysFrom(await makeKeyMaterial()), snapshot);
      const cloakroom = app(provider);
      const { ticket } = await cloakroom.create('user-1', { role: 'editor' });
      const session = await cloakroom.resolve(ticket);
      expect(session?.subject).toBe('user-1');
      expect(session?.claims).toEqual({ role: 'editor' });
      expect(await cloakroom.resolve(`${ticket.slice(0, -2)}AA`)).toBeNull();
      expect(calls.signingKey).toBe(1);
      expect(calls.storageKeys).toBeGreaterThanOrEqual(2);
      expect(calls.verificationKey).toBe(1);
    },
  );

  it('a snapshot that does not know a kid defers to verificationKey rather than rejecting', async () => {
    const inner = keysFrom(await makeKeyMaterial());
    const { provider, calls } = counted(inner, 'absent');
    const own = inner.snapshot?.() as KeySnapshot;
    const forgetful: KeyProvider = {
      ...provider,
      snapshot: () => ({ ...own, verificationKey: () => undefined }),
    };
    const cloakroom = app(forgetful);
    const { ticket } = await cloakroom.create('user-1');
    expect((await cloakroom.resolve(ticket))?.subject).toBe('user-1');
    expect(calls.verificationKey).toBe(1);
  });
});

describe('a snapshot that holds a disabled storage key', () => {
  it('is refused on the synchronous path as on the asynchronous one', async () => {
    const inner = keysFrom(await makeKeyMaterial());
    const clock = new Clock();
    const store = createMemoryStore({ clock: clock.now });
    const { ticket } = await app(inner, clock, [], store).create('user-1');
    // The same keys, but the storage key now reported as disabled by both paths.
    const ring = inner.snapshot().storage;
    const disabled: StorageKeyRing = {
      primary: ring.primary,
      keys: ring.keys,
      get: (id) => {
        const key = ring.get(id);
        return key === undefined ? undefined : { ...key, state: 'disabled' };
      },
    };
    const keys: KeyProvider = {
      ...inner,
      storageKeys: async () => disabled,
      snapshot: () => ({
        signing: inner.snapshot().signing,
        storage: disabled,
        verificationKey: (kid) => inner.snapshot().verificationKey(kid),
      }),
    };
    const events: CloakroomEvent[] = [];
    const reader = app(keys, clock, events, store);
    expect(await reader.resolve(ticket)).toBeNull();
    expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'tampered' });
  });
});

describe('rotatingKeys().snapshot() follows the key set', () => {
  function rotating(clock: Clock) {
    return rotatingKeys({
      store: createMemoryKeySetStore(),
      masterKey: new Uint8Array(randomBytes(32)),
      clock: clock.now,
      refreshEvery: MIN,
      signing: { rotateEvery: 24 * 60 * MIN, publishAhead: 10 * MIN, retireAfter: 20 * MIN },
      storage: { rotateEvery: 24 * 60 * MIN, publishAhead: 5 * MIN },
    });
  }

  it('is undefined before the first load, then answers what the async methods answer', async () => {
    const clock = new Clock();
    const keys = rotating(clock);
    expect(keys.snapshot()).toBeUndefined();
    const ring = await keys.storageKeys();
    const snapshot = keys.snapshot() as KeySnapshot;
    expect(snapshot.storage).toBe(ring);
    expect(snapshot.signing).toBe(await keys.signingKey());
    expect(snapshot.verificationKey(snapshot.signing.kid)).toBe(
      await keys.verificationKey(snapshot.signing.kid),
    );
    expect(snapshot.verificationKey('__proto__')).toBeUndefined();
  });

  it('a storage rotation and a compromised signing key reach resolve and create through it', async () => {
    const clock = new Clock();
    const keys = rotating(clock);
    const events: CloakroomEvent[] = [];
    const store = createMemoryStore({ clock: clock.now });
    const cloakroom = app(keys, clock, events, store);
    const before = await cloakroom.create('user-old');
    const firstStorage = (keys.snapshot() as KeySnapshot).storage.primary.id;

    // A new storage primary: new records go under it, the old one still opens.
    const next = await keys.rotate('storage');
    clock.t = next.activatesAt;
    await keys.refresh();
    expect((keys.snapshot() as KeySnapshot).storage.primary.id).toBe(next.id);
    expect(next.id).not.toBe(firstStorage);
    const after = await cloakroom.create('user-new');
    const cipher = createAesGcmCipher({ keys });
    const keyIds = (await dump(store)).map((r) => cipher.keyIdOf(r.payload));
    expect(keyIds.sort()).toEqual([firstStorage, next.id].sort());
    expect((await cloakroom.resolve(before.ticket))?.subject).toBe('user-old');
    expect((await cloakroom.resolve(after.ticket))?.subject).toBe('user-new');

    // A compromised signing key: its sessions stop resolving at once (SEC-19).
    const signing = (keys.snapshot() as KeySnapshot).signing.kid;
    await keys.compromise(signing);
    expect((keys.snapshot() as KeySnapshot).verificationKey(signing)).toBeUndefined();
    expect(await cloakroom.resolve(after.ticket)).toBeNull();
    expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'key-disabled' });
  });

  it('a disabled storage key is refused on the synchronous path too', async () => {
    const clock = new Clock();
    const keys = rotating(clock);
    const events: CloakroomEvent[] = [];
    const cloakroom = app(keys, clock, events);
    const { ticket } = await cloakroom.create('user-1');
    const first = (keys.snapshot() as KeySnapshot).storage.primary.id;
    const next = await keys.rotate('storage');
    clock.t = next.activatesAt;
    await keys.refresh();
    await keys.disable(first);
    expect((keys.snapshot() as KeySnapshot).storage.get(first)).toBeUndefined();
    expect(await cloakroom.resolve(ticket)).toBeNull();
    expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'tampered' });
  });
});
