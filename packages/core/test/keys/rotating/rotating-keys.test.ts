import { randomBytes } from 'node:crypto';
import {
  ConfigInvalid,
  type KeySetStore,
  KeyNotFound,
  StoreUnavailable,
  createAesGcmCipher,
  signToken,
  verifyToken,
} from '@cloakroom/core';
import { createMemoryKeySetStore } from '@cloakroom/store-memory';
import { describe, expect, it } from 'vitest';
import { jwksHeaders } from '../../../src/keys/jwks-http';
import { type RotatingKeyProvider, rotatingKeys } from '../../../src/keys/rotating/rotating-keys';
import type { RotatingKeysOptions } from '../../../src/keys/rotating/options';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12);

class Clock {
  t = T0;
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

/** A KeySetStore wrapper counting reads and writes (and successful writes). */
function counting(inner: KeySetStore = createMemoryKeySetStore()) {
  const counts = { reads: 0, writes: 0, won: 0 };
  const store: KeySetStore = {
    name: 'counting',
    read: (name) => {
      counts.reads++;
      return inner.read(name);
    },
    write: async (name, doc, v) => {
      counts.writes++;
      const ok = await inner.write(name, doc, v);
      if (ok) counts.won++;
      return ok;
    },
  };
  return { store, counts, inner };
}

const SCHEDULE = {
  signing: { rotateEvery: 60 * MIN, publishAhead: 10 * MIN, retireAfter: 20 * MIN },
  storage: { rotateEvery: 120 * MIN, publishAhead: 5 * MIN },
  refreshEvery: MIN,
};

function provider(
  store: KeySetStore,
  clock: Clock,
  masterKey: Uint8Array,
  extra: Partial<RotatingKeysOptions> = {},
): RotatingKeyProvider {
  return rotatingKeys({ store, masterKey, clock: clock.now, ...SCHEDULE, ...extra });
}

const CLAIMS = { iss: 'https://issuer.test', aud: 'api', typ: 'at+jwt' } as const;

async function tokenFrom(keys: RotatingKeyProvider, clock: Clock, lifeSec = 300) {
  const iat = Math.floor(clock.t / 1000);
  return signToken(
    await keys.signingKey(),
    {
      iss: CLAIMS.iss,
      aud: CLAIMS.aud,
      sub: 'user-1',
      iat,
      exp: iat + lifeSec,
      jti: randomBytes(8).toString('hex'),
    },
    { typ: CLAIMS.typ },
  );
}

function verifyWith(keys: RotatingKeyProvider, clock: Clock, token: string) {
  return verifyToken(token, {
    keys,
    issuer: CLAIMS.iss,
    audience: CLAIMS.aud,
    typ: CLAIMS.typ,
    now: clock.now,
  });
}

describe('rotatingKeys configuration', () => {
  const store = createMemoryKeySetStore();
  const masterKey = new Uint8Array(randomBytes(32));
  const bad: [string, Partial<RotatingKeysOptions>][] = [
    ['short master key', { masterKey: new Uint8Array(16) }],
    ['weak master key', { masterKey: new Uint8Array(32) }],
    ['bad name', { name: '../etc' }],
    ['publishAhead not above refreshEvery', { refreshEvery: 10 * MIN }],
    [
      'publishAhead not below rotateEvery',
      { signing: { rotateEvery: 5 * MIN, publishAhead: 10 * MIN } },
    ],
    ['HS256 for rotation', { signing: { alg: 'HS256' as never } }],
    ['zero maxSeals', { storage: { maxSeals: 0 } }],
    ['negative retireAfter', { signing: { retireAfter: -1 } }],
    ['fractional refreshEvery', { refreshEvery: 1.5 }],
    [
      'KMS key without unwrap',
      { masterKey: { id: 'kms', wrap: async (b: Uint8Array) => b } as never },
    ],
  ];
  for (const [what, patch] of bad) {
    it(`rejects ${what} with ConfigInvalid`, () => {
      expect(() =>
        rotatingKeys({ store, masterKey, ...SCHEDULE, ...patch } as RotatingKeysOptions),
      ).toThrow(ConfigInvalid);
    });
  }

  it('rejects a missing store and a missing master key', () => {
    expect(() => rotatingKeys({ masterKey } as never)).toThrow(ConfigInvalid);
    expect(() => rotatingKeys({ store } as never)).toThrow(ConfigInvalid);
  });
});

describe('rotatingKeys sharing one document', () => {
  it('the first instance creates the document; a second instance loads the same keys', async () => {
    const clock = new Clock();
    const { store, counts } = counting();
    const masterKey = new Uint8Array(randomBytes(32));
    const a = provider(store, clock, masterKey);
    const b = provider(store, clock, masterKey);
    const ka = await a.signingKey();
    const kb = await b.signingKey();
    expect(kb.kid).toBe(ka.kid);
    expect(await b.indexKey()).toEqual(await a.indexKey());
    expect((await b.storageKeys()).primary.id).toBe((await a.storageKeys()).primary.id);
    expect(counts.won).toBe(1);
    const status = await a.status();
    expect(status.signing.map((k) => k.state)).toEqual(['primary']);
    expect(status.storage.map((k) => k.state)).toEqual(['primary']);
  });

  it('two instances starting at the same moment create one document, not two', async () => {
    const clock = new Clock();
    const { store, counts } = counting();
    const masterKey = new Uint8Array(randomBytes(32));
    const [ka, kb] = await Promise.all([
      provider(store, clock, masterKey).signingKey(),
      provider(store, clock, masterKey).signingKey(),
    ]);
    expect(ka.kid).toBe(kb.kid);
    expect(counts.won).toBe(1);
  });

  it('hot-path calls answer from the cache: no store I/O per call, one refresh after refreshEvery', async () => {
    const clock = new Clock();
    const { store, counts } = counting();
    const keys = provider(store, clock, new Uint8Array(randomBytes(32)));
    await keys.signingKey();
    const reads = counts.reads;
    for (let i = 0; i < 100; i++) {
      await keys.signingKey();
      await keys.storageKeys();
      await keys.indexKey();
      await keys.jwks();
      await keys.verificationKey((await keys.signingKey()).kid);
    }
    expect(counts.reads).toBe(reads);
    clock.advance(MIN);
    await Promise.all(Array.from({ length: 20 }, () => keys.signingKey()));
    await keys.status(); // lets the single background refresh finish
    await new Promise((r) => setImmediate(r));
    expect(counts.reads).toBe(reads + 1);
  });

  it('indexKey never changes across rotations', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    const index = await keys.indexKey();
    for (let i = 0; i < 3; i++) {
      await keys.rotate('signing');
      await keys.rotate('storage');
      clock.advance(30 * MIN);
      await keys.refresh();
    }
    expect(await keys.indexKey()).toEqual(index);
  });
});

describe('rotation', () => {
  it('a new signing key is published as pending in the JWKS before any instance signs with it', async () => {
    const clock = new Clock();
    const store = createMemoryKeySetStore();
    const masterKey = new Uint8Array(randomBytes(32));
    const a = provider(store, clock, masterKey);
    const b = provider(store, clock, masterKey);
    const first = (await a.signingKey()).kid;
    await b.signingKey();
    const next = await a.rotate('signing');
    expect(next.state).toBe('pending');
    expect(next.activatesAt).toBe(clock.t + SCHEDULE.signing.publishAhead);
    // b learns of it within refreshEvery, long before it activates.
    clock.advance(SCHEDULE.refreshEvery);
    await b.refresh();
    for (const keys of [a, b]) {
      expect((await keys.jwks()).keys.map((k) => k.kid)).toContain(next.id);
      expect((await keys.signingKey()).kid).toBe(first);
      expect((await keys.verificationKey(next.id))?.state).toBe('pending');
    }
    clock.t = next.activatesAt - 1;
    expect((await b.signingKey()).kid).toBe(first);
    clock.t = next.activatesAt;
    // Both switch at the same instant, from the timestamps alone.
    expect((await a.signingKey()).kid).toBe(next.id);
    expect((await b.signingKey()).kid).toBe(next.id);
    expect((await a.verificationKey(first))?.state).toBe('retired');
  });

  it('rotates by age on refresh: the successor is created publishAhead before the primary reaches rotateEvery', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    const first = await keys.signingKey();
    clock.advance(SCHEDULE.signing.rotateEvery - SCHEDULE.signing.publishAhead - 1);
    expect((await keys.refresh()).signing).toHaveLength(1);
    clock.advance(1);
    const status = await keys.refresh();
    const pending = status.signing.find((k) => k.state === 'pending');
    expect(pending?.activatesAt).toBe(T0 + SCHEDULE.signing.rotateEvery);
    clock.t = T0 + SCHEDULE.signing.rotateEvery;
    expect((await keys.signingKey()).kid).toBe(pending?.id);
    expect((await keys.signingKey()).kid).not.toBe(first.kid);
  });

  it('CAS race: two instances rotating at the same instant produce one new key, not two', async () => {
    const clock = new Clock();
    const inner = createMemoryKeySetStore();
    const masterKey = new Uint8Array(randomBytes(32));
    await provider(inner, clock, masterKey).signingKey();
    // Both reads return before either write, so both decide to rotate from the same version.
    let waiting: (() => void)[] = [];
    let armed = false;
    const counts = { writes: 0, won: 0 };
    const racing: KeySetStore = {
      name: 'racing',
      async read(name) {
        const entry = await inner.read(name);
        if (armed) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 2) {
              armed = false;
              for (const w of waiting) w();
              waiting = [];
            }
          });
        }
        return entry;
      },
      async write(name, doc, v) {
        counts.writes++;
        const ok = await inner.write(name, doc, v);
        if (ok) counts.won++;
        return ok;
      },
    };
    const a = provider(racing, clock, masterKey);
    const b = provider(racing, clock, masterKey);
    await a.signingKey();
    await b.signingKey();
    armed = true;
    const [ra, rb] = await Promise.all([a.rotate('signing'), b.rotate('signing')]);
    expect(ra.id).toBe(rb.id);
    expect(counts).toEqual({ writes: 2, won: 1 });
    const status = await provider(inner, clock, masterKey).status();
    expect(status.signing.filter((k) => k.state === 'pending')).toHaveLength(1);
    expect(status.signing).toHaveLength(2);
  });

  it('the same race by age: three instances refreshing at the due instant schedule one successor', async () => {
    const clock = new Clock();
    const { store, counts } = counting();
    const masterKey = new Uint8Array(randomBytes(32));
    const all = [0, 1, 2].map(() => provider(store, clock, masterKey));
    for (const k of all) await k.signingKey();
    clock.advance(SCHEDULE.signing.rotateEvery);
    await Promise.all(all.map((k) => k.refresh()));
    const status = await all[0]!.status();
    expect(status.signing.filter((k) => k.state === 'pending')).toHaveLength(1);
    expect(status.storage.filter((k) => k.state === 'pending')).toHaveLength(0);
    expect(counts.won).toBe(2); // the document, then the one rotation
  });

  it('SEC-11 storage keys rotate by use: seals counted in-process, persisted to the fleet total, successor pending then primary', async () => {
    const clock = new Clock();
    const { store } = counting();
    const masterKey = new Uint8Array(randomBytes(32));
    const options = { storage: { ...SCHEDULE.storage, maxSeals: 10 } };
    const a = provider(store, clock, masterKey, options);
    const b = provider(store, clock, masterKey, options);
    const ca = createAesGcmCipher({ keys: a });
    const cb = createAesGcmCipher({ keys: b });
    // Read through status(): every read of ring.primary counts as a seal.
    const first = (await a.status()).storage[0]?.id;
    await b.storageKeys();
    const aad = new Uint8Array([1]);
    // 6 + 4 seals split over two instances: only the fleet total reaches 10.
    for (let i = 0; i < 6; i++) await ca.seal(new Uint8Array([i]), aad);
    for (let i = 0; i < 4; i++) await cb.seal(new Uint8Array([i]), aad);
    await a.refresh();
    let status = await b.refresh();
    const used = status.storage.find((k) => k.id === first);
    expect(used?.seals).toBe(10);
    const next = status.storage.find((k) => k.state === 'pending');
    expect(next?.id).not.toBe(first);
    expect(next?.activatesAt).toBe(clock.t + SCHEDULE.storage.publishAhead);
    // a learns of the successor on its next refresh, well inside the pending window.
    clock.advance(SCHEDULE.refreshEvery);
    await a.refresh();
    clock.t = next?.activatesAt as number;
    const sealed = await ca.seal(new Uint8Array([9]), aad);
    expect(ca.keyIdOf(sealed)).toBe(next?.id);
    // The old key still opens what it sealed.
    status = await a.status();
    expect(status.storage.find((k) => k.id === first)?.state).toBe('retired');
  });

  it('SEC-11 a fleet count at the threshold triggers a refresh on the next call, without waiting for refreshEvery', async () => {
    const clock = new Clock();
    const { store, counts } = counting();
    const keys = provider(store, clock, new Uint8Array(randomBytes(32)), {
      storage: { ...SCHEDULE.storage, maxSeals: 4 },
    });
    const cipher = createAesGcmCipher({ keys });
    for (let i = 0; i < 4; i++) await cipher.seal(new Uint8Array([i]), new Uint8Array());
    const writes = counts.won;
    await keys.signingKey(); // kicks the background refresh that flushes
    await keys.refresh();
    expect(counts.won).toBeGreaterThan(writes);
    expect((await keys.status()).storage.some((k) => k.state === 'pending')).toBe(true);
  });

  it('rotate() returns the pending successor when one exists instead of adding another', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    const one = await keys.rotate('storage');
    const two = await keys.rotate('storage');
    expect(two.id).toBe(one.id);
    expect((await keys.status()).storage).toHaveLength(2);
  });
});

describe('SEC-19 key lifecycle at verify time', () => {
  it('SEC-19 a retired signing key verifies during its grace and fails after it', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    const token = await tokenFrom(keys, clock, 3600);
    const next = await keys.rotate('signing');
    clock.t = next.activatesAt;
    expect((await verifyWith(keys, clock, token)).payload.sub).toBe('user-1');
    clock.t = next.activatesAt + SCHEDULE.signing.retireAfter - 1;
    expect((await verifyWith(keys, clock, token)).payload.sub).toBe('user-1');
    clock.t = next.activatesAt + SCHEDULE.signing.retireAfter;
    await expect(verifyWith(keys, clock, token)).rejects.toMatchObject({ reason: 'unknown-kid' });
    await keys.refresh();
    // Destroyed: pruned from the document and the JWKS.
    const status = await keys.status();
    expect(status.signing.map((k) => k.id)).toEqual([next.id]);
    expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual([next.id]);
  });

  it('SEC-19 a compromised primary signing key fails at once and a replacement signs immediately', async () => {
    const clock = new Clock();
    const store = createMemoryKeySetStore();
    const masterKey = new Uint8Array(randomBytes(32));
    const keys = provider(store, clock, masterKey);
    const other = provider(store, clock, masterKey);
    const token = await tokenFrom(keys, clock);
    const bad = (await keys.signingKey()).kid;
    await verifyWith(other, clock, token);
    const status = await keys.compromise(bad);
    expect(status.signing.find((k) => k.id === bad)?.state).toBe('disabled');
    await expect(verifyWith(keys, clock, token)).rejects.toMatchObject({ reason: 'unknown-kid' });
    const replacement = await keys.signingKey();
    expect(replacement.kid).not.toBe(bad);
    // Another instance: its cache still trusts the key until it refreshes.
    await other.refresh();
    await expect(verifyWith(other, clock, token)).rejects.toMatchObject({ reason: 'unknown-kid' });
    // The replacement was never pre-published; the unknown-kid refresh finds it.
    expect((await verifyWith(other, clock, await tokenFrom(keys, clock))).header.kid).toBe(
      replacement.kid,
    );
    expect(JSON.stringify(status)).not.toMatch(/"d"|"key"/);
  });

  it('SEC-19 compromising a pending key cancels it: the current primary stays primary', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    const primary = (await keys.signingKey()).kid;
    const next = await keys.rotate('signing');
    await keys.compromise(next.id);
    clock.t = next.activatesAt + 1;
    expect((await keys.signingKey()).kid).toBe(primary);
    expect(await keys.verificationKey(next.id)).toBeUndefined();
    const status = await keys.status();
    expect(status.signing.find((k) => k.id === primary)?.retiresAt).toBeUndefined();
  });

  it('compromising a primary with a pending successor promotes that successor at once', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    const primary = (await keys.signingKey()).kid;
    const next = await keys.rotate('signing');
    clock.advance(MIN);
    await keys.compromise(primary);
    expect((await keys.signingKey()).kid).toBe(next.id);
    expect((await keys.status()).signing).toHaveLength(2);
  });

  it('disable refuses a primary key; compromise of an unknown id is KeyNotFound', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    await expect(keys.disable((await keys.signingKey()).kid)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(keys.compromise('nope')).rejects.toBeInstanceOf(KeyNotFound);
  });
});

describe('unknown ids', () => {
  it('an unknown kid triggers one refresh, rate-limited to one per second, then is rejected', async () => {
    const clock = new Clock();
    const { store, counts } = counting();
    const keys = provider(store, clock, new Uint8Array(randomBytes(32)));
    await keys.signingKey();
    const reads = counts.reads;
    const kid = () => randomBytes(32).toString('base64url');
    for (let i = 0; i < 20; i++) expect(await keys.verificationKey(kid())).toBeUndefined();
    expect(counts.reads).toBe(reads + 1);
    clock.advance(999);
    expect(await keys.verificationKey(kid())).toBeUndefined();
    expect(counts.reads).toBe(reads + 1);
    clock.advance(1);
    expect(await keys.verificationKey(kid())).toBeUndefined();
    expect(counts.reads).toBe(reads + 2);
    // Junk that cannot be a kid, and known disabled ids, never cost a read.
    clock.advance(5000);
    for (const junk of ['__proto__', '../../x', "' OR 1=1--", 'x'.repeat(10_000)]) {
      expect(await keys.verificationKey(junk)).toBeUndefined();
    }
    expect(counts.reads).toBe(reads + 2);
  });

  it('an unknown kid created by another instance is found by that one refresh', async () => {
    const clock = new Clock();
    const store = createMemoryKeySetStore();
    const masterKey = new Uint8Array(randomBytes(32));
    const a = provider(store, clock, masterKey);
    const b = provider(store, clock, masterKey);
    await b.signingKey();
    const created = await a.rotate('signing');
    expect((await b.verificationKey(created.id))?.state).toBe('pending');
  });

  it('the cipher asks the provider once about an unknown storage key id, then opens', async () => {
    const clock = new Clock();
    const { store, counts } = counting();
    const masterKey = new Uint8Array(randomBytes(32));
    const a = provider(store, clock, masterKey);
    const b = provider(store, clock, masterKey);
    await b.storageKeys();
    // a rotates storage and (its successor active on a's clock) seals under it.
    await a.compromise((await a.storageKeys()).primary.id);
    const sealed = await createAesGcmCipher({ keys: a }).seal(
      new Uint8Array([7]),
      new Uint8Array(),
    );
    const reads = counts.reads;
    const plain = await createAesGcmCipher({ keys: b }).open(sealed, new Uint8Array());
    expect([...plain]).toEqual([7]);
    expect(counts.reads).toBe(reads + 1);
  });

  it('a storage key that was compromised stops opening what it sealed', async () => {
    const clock = new Clock();
    const keys = provider(createMemoryKeySetStore(), clock, new Uint8Array(randomBytes(32)));
    const cipher = createAesGcmCipher({ keys });
    const sealed = await cipher.seal(new Uint8Array([1, 2]), new Uint8Array());
    await keys.compromise(cipher.keyIdOf(sealed));
    await expect(cipher.open(sealed, new Uint8Array())).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    expect(cipher.keyIdOf(await cipher.seal(new Uint8Array([3]), new Uint8Array()))).not.toBe(
      cipher.keyIdOf(sealed),
    );
  });
});

describe('jwksHeaders', () => {
  it('gives the JWK Set media type and a max-age below the pre-publish window', () => {
    const h = jwksHeaders({ publishAhead: 10 * MIN, refreshEvery: MIN });
    expect(h['Content-Type']).toBe('application/jwk-set+json');
    expect(h['Cache-Control']).toBe('public, max-age=270');
    expect(
      jwksHeaders({ publishAhead: 10 * MIN, refreshEvery: MIN, maxAge: 539 })['Cache-Control'],
    ).toBe('public, max-age=539');
  });

  it('fits a rotating provider schedule as is', () => {
    const keys = provider(createMemoryKeySetStore(), new Clock(), new Uint8Array(randomBytes(32)));
    expect(jwksHeaders(keys.schedule)['Cache-Control']).toBe('public, max-age=270');
  });

  it('throws ConfigInvalid for a max-age at or above the window, or no window at all', () => {
    expect(() => jwksHeaders({ publishAhead: 10 * MIN, refreshEvery: MIN, maxAge: 540 })).toThrow(
      ConfigInvalid,
    );
    expect(() => jwksHeaders({ publishAhead: MIN, refreshEvery: MIN })).toThrow(ConfigInvalid);
    expect(() => jwksHeaders({ publishAhead: 10 * MIN, maxAge: -1 })).toThrow(ConfigInvalid);
  });
});

describe('failures and retention', () => {
  it('a key-set store outage: startup throws StoreUnavailable; later, the cache keeps serving and status reports it', async () => {
    const clock = new Clock();
    const inner = createMemoryKeySetStore();
    let down = true;
    const flaky: KeySetStore = {
      name: 'flaky',
      read: async (name) => {
        if (down) throw new StoreUnavailable('key-set store unreachable');
        return inner.read(name);
      },
      write: async (name, doc, v) => {
        if (down) throw new StoreUnavailable('key-set store unreachable');
        return inner.write(name, doc, v);
      },
    };
    const keys = provider(flaky, clock, new Uint8Array(randomBytes(32)));
    await expect(keys.signingKey()).rejects.toBeInstanceOf(StoreUnavailable);
    down = false;
    const kid = (await keys.signingKey()).kid;
    down = true;
    clock.advance(SCHEDULE.refreshEvery);
    expect((await keys.signingKey()).kid).toBe(kid); // kicks a refresh that fails
    await new Promise((r) => setImmediate(r));
    const status = await keys.status();
    expect(status.lastError?.code).toBe('ERR_STORE_UNAVAILABLE');
    // An unknown kid during the outage: the caller sees the outage, not a silent "unknown".
    clock.advance(SCHEDULE.refreshEvery);
    await expect(
      keys.verificationKey(randomBytes(32).toString('base64url')),
    ).rejects.toBeInstanceOf(StoreUnavailable);
    down = false;
    await keys.refresh();
    expect((await keys.status()).lastError).toBeUndefined();
  });

  it('a running instance never recreates a key set that vanished from the store (that would lose every key)', async () => {
    const clock = new Clock();
    const inner = createMemoryKeySetStore();
    let hidden = false;
    const store: KeySetStore = {
      name: 'vanishing',
      read: async (name) => (hidden ? null : inner.read(name)),
      write: (name, doc, v) => inner.write(name, doc, v),
    };
    const keys = provider(store, clock, new Uint8Array(randomBytes(32)));
    const kid = (await keys.signingKey()).kid;
    hidden = true;
    await expect(keys.refresh()).rejects.toThrow(/gone from the store/);
    expect((await keys.signingKey()).kid).toBe(kid);
    expect((await inner.read('default'))?.version).toBe(1);
  });

  it('storage.retainFor: a retired storage key is destroyed (pruned) once its retention ends; without it, it stays', async () => {
    const clock = new Clock();
    const masterKey = new Uint8Array(randomBytes(32));
    const kept = provider(createMemoryKeySetStore(), clock, masterKey);
    const pruned = provider(createMemoryKeySetStore(), clock, masterKey, {
      storage: { ...SCHEDULE.storage, retainFor: 30 * MIN },
    });
    for (const keys of [kept, pruned]) await keys.rotate('storage');
    // The first key retires when its successor activates, after storage.publishAhead.
    clock.t = T0 + SCHEDULE.storage.publishAhead + 30 * MIN - 1;
    expect((await pruned.refresh()).storage.map((k) => k.state)).toEqual(['primary', 'retired']);
    clock.advance(1);
    expect((await kept.refresh()).storage.map((k) => k.state)).toEqual(['primary', 'retired']);
    expect((await pruned.refresh()).storage.map((k) => k.state)).toEqual(['primary']);
  });
});
