import { createDecipheriv, randomBytes } from 'node:crypto';
import {
  type Cipher,
  ConfigInvalid,
  createAesGcmCipher,
  DecryptionFailed,
  isCloakroomError,
  KeyExhausted,
  type KeyState,
  type StorageKey,
  type StorageKeyRing,
  StoreUnavailable,
} from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordMaskKeysOf } from '../../src/crypto/aes-gcm-cipher';

// A hand-built key ring: the first entry is primary; `remove` destroys a key.
function keyRing(ids: readonly string[]) {
  const map = new Map<string, StorageKey>();
  for (const [i, id] of ids.entries()) {
    map.set(id, {
      id,
      key: new Uint8Array(randomBytes(32)),
      state: i === 0 ? 'primary' : 'retired',
    });
  }
  let primaryId = ids[0] as string;
  const ring: StorageKeyRing & {
    promote(id: string): void;
    setState(id: string, state: KeyState): void;
    add(key: StorageKey): void;
    remove(id: string): void;
  } = {
    get primary() {
      return map.get(primaryId) as StorageKey;
    },
    get keys() {
      return [...map.values()].filter((k) => k.state !== 'disabled');
    },
    get: (id) => {
      const k = map.get(id);
      return k === undefined || k.state === 'disabled' ? undefined : k;
    },
    promote(id) {
      const old = map.get(primaryId) as StorageKey;
      map.set(primaryId, { ...old, state: 'retired' });
      const next = map.get(id) as StorageKey;
      map.set(id, { ...next, state: 'primary' });
      primaryId = id;
    },
    setState(id, state) {
      map.set(id, { ...(map.get(id) as StorageKey), state });
    },
    add(key) {
      map.set(key.id, key);
    },
    remove(id) {
      map.delete(id);
    },
  };
  return ring;
}

const enc = (s: string) => new TextEncoder().encode(s);
const AAD = enc('session-id-1|subject-index-1');

async function openFails(cipher: Cipher, sealed: Uint8Array, aad: Uint8Array): Promise<boolean> {
  try {
    await cipher.open(sealed, aad);
    return false;
  } catch (err) {
    return err instanceof DecryptionFailed;
  }
}

function flipped(sealed: Uint8Array, position: number, bit: number): Uint8Array {
  const copy = sealed.slice();
  copy[position] = (copy[position] as number) ^ (1 << bit);
  return copy;
}

describe('createAesGcmCipher', () => {
  it('is named aes-256-gcm and round trips (empty, small, 1 MiB)', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    expect(cipher.name).toBe('aes-256-gcm');
    for (const size of [0, 1, 15, 16, 17, 1024, 1024 * 1024]) {
      const plain = new Uint8Array(randomBytes(size));
      const sealed = await cipher.seal(plain, AAD);
      expect(sealed.byteLength).toBe(3 + 2 + 12 + size + 16);
      const opened = await cipher.open(sealed, AAD);
      expect(opened).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(opened).equals(Buffer.from(plain))).toBe(true);
    }
  });

  it('accepts an async key source (a KeyProvider)', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: async () => ring } });
    const sealed = await cipher.seal(enc('hello'), AAD);
    expect(new TextDecoder().decode(await cipher.open(sealed, AAD))).toBe('hello');
  });

  it('writes the documented layout; GCM AAD is header ‖ caller aad', async () => {
    const ring = keyRing(['sk_2026_11']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const plain = enc('the payload');
    const sealed = await cipher.seal(plain, AAD);
    const idLen = 'sk_2026_11'.length;
    expect([...sealed.subarray(0, 3)]).toEqual([1, 1, idLen]);
    expect(Buffer.from(sealed.subarray(3, 3 + idLen)).toString('latin1')).toBe('sk_2026_11');
    expect(cipher.keyIdOf(sealed)).toBe('sk_2026_11');
    // Decrypt independently of the implementation.
    const headerEnd = 3 + idLen + 12;
    const d = createDecipheriv(
      'aes-256-gcm',
      ring.primary.key,
      sealed.subarray(3 + idLen, headerEnd),
    );
    d.setAAD(Buffer.concat([sealed.subarray(0, headerEnd), AAD]));
    d.setAuthTag(sealed.subarray(sealed.byteLength - 16));
    const out = Buffer.concat([
      d.update(sealed.subarray(headerEnd, sealed.byteLength - 16)),
      d.final(),
    ]);
    expect(out.toString()).toBe('the payload');
    // The plaintext is not visible in the sealed bytes.
    expect(Buffer.from(sealed).includes(Buffer.from(plain))).toBe(false);
  });

  it('rejects bad options and malformed primary keys with ConfigInvalid', async () => {
    const ring = keyRing(['k1']);
    for (const maxSealsPerKey of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 33]) {
      expect(() =>
        createAesGcmCipher({ keys: { storageKeys: () => ring }, maxSealsPerKey }),
      ).toThrow(ConfigInvalid);
    }
    expect(() => createAesGcmCipher({} as never)).toThrow(ConfigInvalid);
    const bad = (primary: StorageKey) =>
      createAesGcmCipher({
        keys: { storageKeys: () => ({ primary, keys: [primary], get: () => primary }) },
      });
    const key = new Uint8Array(32);
    await expect(
      bad({ id: 'short', key: new Uint8Array(16), state: 'primary' }).seal(enc('x'), AAD),
    ).rejects.toThrow(ConfigInvalid);
    await expect(
      bad({ id: 'has space', key, state: 'primary' }).seal(enc('x'), AAD),
    ).rejects.toThrow(ConfigInvalid);
    await expect(bad({ id: '', key, state: 'primary' }).seal(enc('x'), AAD)).rejects.toThrow(
      ConfigInvalid,
    );
    await expect(
      bad({ id: 'k'.repeat(65), key, state: 'primary' }).seal(enc('x'), AAD),
    ).rejects.toThrow(ConfigInvalid);
    await expect(bad({ id: 'é', key, state: 'primary' }).seal(enc('x'), AAD)).rejects.toThrow(
      ConfigInvalid,
    );
    await expect(
      bad({ id: 'k'.repeat(64), key, state: 'primary' }).seal(enc('x'), AAD),
    ).resolves.toBeInstanceOf(Uint8Array);
  });

  it('lets key source failures through unchanged (an outage is not tampering)', async () => {
    const ring = keyRing(['k1']);
    const good = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const sealed = await good.seal(enc('x'), AAD);
    const down = createAesGcmCipher({
      keys: {
        storageKeys: async () => {
          throw new StoreUnavailable('key set store down');
        },
      },
    });
    await expect(down.open(sealed, AAD)).rejects.toThrow(StoreUnavailable);
    await expect(down.seal(enc('x'), AAD)).rejects.toThrow(StoreUnavailable);
  });
});

describe('SEC-09 tampering never yields plaintext', () => {
  it('SEC-09 flipping any bit at any position of a sealed payload fails to open', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const sealed = await cipher.seal(enc('{"sub":"alice","token":"eyJ..."}'), AAD);
    let opened = 0;
    for (let position = 0; position < sealed.byteLength; position++) {
      for (let bit = 0; bit < 8; bit++) {
        if (!(await openFails(cipher, flipped(sealed, position, bit), AAD))) opened++;
      }
    }
    expect(opened).toBe(0);
    // The untouched payload still opens: failures above are due to the flips.
    await expect(cipher.open(sealed, AAD)).resolves.toBeInstanceOf(Uint8Array);
  });

  it('SEC-09 property: any single-bit flip of any payload fails with DecryptionFailed', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (plain, aad, pos, bit) => {
          const sealed = await cipher.seal(plain, aad);
          expect(await openFails(cipher, flipped(sealed, pos % sealed.byteLength, bit), aad)).toBe(
            true,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('SEC-09 every truncation and extension fails to open', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const sealed = await cipher.seal(enc('some session payload'), AAD);
    for (let length = 0; length < sealed.byteLength; length++) {
      expect(await openFails(cipher, sealed.subarray(0, length), AAD)).toBe(true);
      // Dropping bytes from the front too.
      expect(await openFails(cipher, sealed.subarray(sealed.byteLength - length), AAD)).toBe(true);
    }
    for (const extra of [[0], [1, 2, 3], new Array(16).fill(0), new Array(100).fill(7)]) {
      const longer = new Uint8Array([...sealed, ...extra]);
      expect(await openFails(cipher, longer, AAD)).toBe(true);
    }
  });
});

describe('SEC-10 the AAD binds a payload to its record', () => {
  it('SEC-10 a payload opened with another session id or subject index fails', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const sealed = await cipher.seal(enc('payload'), enc('sid-A|subj-A'));
    expect(await openFails(cipher, sealed, enc('sid-B|subj-A'))).toBe(true);
    expect(await openFails(cipher, sealed, enc('sid-A|subj-B'))).toBe(true);
    expect(await openFails(cipher, sealed, enc(''))).toBe(true);
    expect(await openFails(cipher, sealed, enc('sid-A|subj-A '))).toBe(true);
    await expect(cipher.open(sealed, enc('sid-A|subj-A'))).resolves.toBeInstanceOf(Uint8Array);
  });

  it('SEC-10 editing the key id to another key with the same bytes fails (header is authenticated)', async () => {
    const ring = keyRing(['k1']);
    // k2 holds the same key bytes, so only the AAD can tell the ids apart.
    ring.add({ id: 'k2', key: ring.primary.key, state: 'retired' });
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const sealed = await cipher.seal(enc('payload'), AAD);
    const edited = sealed.slice();
    edited[4] = '2'.charCodeAt(0);
    expect(cipher.keyIdOf(edited)).toBe('k2');
    expect(await openFails(cipher, edited, AAD)).toBe(true);
  });

  it('SEC-10 editing the version or algorithm byte fails', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const sealed = await cipher.seal(enc('payload'), AAD);
    for (const [index, value] of [
      [0, 0],
      [0, 2],
      [0, 255],
      [1, 0],
      [1, 2],
      [2, 0],
      [2, 3],
      [2, 65],
    ] as const) {
      const edited = sealed.slice();
      edited[index] = value;
      expect(await openFails(cipher, edited, AAD)).toBe(true);
    }
  });
});

describe('SEC-11 nonces and the per-key seal budget', () => {
  it('SEC-11 10^5 seals of the same plaintext have distinct nonces', async () => {
    const ring = keyRing(['nonce-key']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const plain = enc('same plaintext every time');
    const nonces = new Set<string>();
    const bodies = new Set<string>();
    const nonceStart = 3 + 'nonce-key'.length;
    for (let i = 0; i < 100_000; i++) {
      const sealed = await cipher.seal(plain, AAD);
      nonces.add(Buffer.from(sealed.subarray(nonceStart, nonceStart + 12)).toString('hex'));
      bodies.add(Buffer.from(sealed.subarray(nonceStart + 12)).toString('hex'));
    }
    expect(nonces.size).toBe(100_000);
    expect(bodies.size).toBe(100_000);
  });

  it('SEC-11 no API accepts a nonce', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    expect(Object.keys(cipher).sort()).toEqual(['keyIdOf', 'name', 'open', 'seal']);
    expect(cipher.seal.length).toBe(2);
    // A stray third argument cannot fix the nonce.
    const fixed = new Uint8Array(12);
    const seal = cipher.seal as (
      p: Uint8Array,
      a: Uint8Array,
      nonce: Uint8Array,
    ) => Promise<Uint8Array>;
    const a = await seal(enc('x'), AAD, fixed);
    const b = await seal(enc('x'), AAD, fixed);
    expect(Buffer.from(a.subarray(5, 17)).equals(Buffer.from(b.subarray(5, 17)))).toBe(false);
  });

  it('SEC-11 the seal budget is enforced per key id; other keys are unaffected', async () => {
    const ring = keyRing(['budget-a', 'budget-b']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring }, maxSealsPerKey: 3 });
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) sealed.push(await cipher.seal(enc(`n${i}`), AAD));
    await expect(cipher.seal(enc('n3'), AAD)).rejects.toThrow(KeyExhausted);
    await expect(cipher.seal(enc('n4'), AAD)).rejects.toThrow(KeyExhausted);
    // Opening is not limited by the budget.
    for (const s of sealed) await expect(cipher.open(s, AAD)).resolves.toBeInstanceOf(Uint8Array);
    ring.promote('budget-b');
    for (let i = 0; i < 3; i++)
      expect(cipher.keyIdOf(await cipher.seal(enc('m'), AAD))).toBe('budget-b');
    await expect(cipher.seal(enc('m'), AAD)).rejects.toThrow(KeyExhausted);
  });

  it('SEC-11 the budget is per process: a second cipher shares the count of a key', async () => {
    const ring = keyRing(['budget-shared']);
    const first = createAesGcmCipher({ keys: { storageKeys: () => ring }, maxSealsPerKey: 2 });
    const second = createAesGcmCipher({ keys: { storageKeys: () => ring }, maxSealsPerKey: 2 });
    await first.seal(enc('1'), AAD);
    await second.seal(enc('2'), AAD);
    await expect(first.seal(enc('3'), AAD)).rejects.toThrow(KeyExhausted);
    await expect(second.seal(enc('3'), AAD)).rejects.toThrow(KeyExhausted);
  });
});

describe('the primary sealer (record format 2 writes its operator copy through it)', () => {
  it("writes what seal would: the same layout under the primary, opened by open, into the caller's buffer at an offset", async () => {
    const ring = keyRing(['sealer-primary', 'sealer-other']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const masks = recordMaskKeysOf(cipher);
    if (masks === undefined) throw new Error('the default cipher has mask keys');
    const sealer = await masks.primarySealer();
    const plain = enc('operator copy');
    const n = sealer.sealedLength(plain.byteLength);
    expect(n).toBe((await cipher.seal(plain, AAD)).byteLength);
    const out = new Uint8Array(7 + n).fill(0xee);
    sealer.sealInto(plain, AAD, out, 7);
    // The bytes before `at` are the caller's and stay as they were.
    expect([...out.subarray(0, 7)]).toEqual(Array(7).fill(0xee));
    const sealed = out.subarray(7);
    expect(cipher.keyIdOf(sealed)).toBe('sealer-primary');
    expect(new TextDecoder().decode(await cipher.open(sealed, AAD))).toBe('operator copy');
    await expect(cipher.open(sealed, enc('another record'))).rejects.toThrow(DecryptionFailed);
    // Its mask key is the primary's: the one forKeyId gives for that id.
    expect(
      Buffer.from(sealer.maskKey).equals(Buffer.from(await masks.forKeyId('sealer-primary'))),
    ).toBe(true);
    expect(() => sealer.sealInto(plain, AAD, new Uint8Array(n + 1), 0)).toThrow(RangeError);
    // A new primary gets its own sealer (the cipher keeps one per key, not one for all).
    ring.promote('sealer-other');
    const next = await masks.primarySealer();
    const again = new Uint8Array(next.sealedLength(plain.byteLength));
    next.sealInto(plain, AAD, again, 0);
    expect(cipher.keyIdOf(again)).toBe('sealer-other');
    expect(
      Buffer.from(next.maskKey).equals(Buffer.from(await masks.forKeyId('sealer-other'))),
    ).toBe(true);
    ring.promote('sealer-primary');
    const back = await masks.primarySealer();
    const third = new Uint8Array(back.sealedLength(plain.byteLength));
    back.sealInto(plain, AAD, third, 0);
    expect(cipher.keyIdOf(third)).toBe('sealer-primary');
    // The same key asked twice: the same sealer, not a new one per record.
    expect(await masks.primarySealer()).toBe(back);
  });

  it('SEC-11 draws on the same per-key seal budget as seal', async () => {
    const ring = keyRing(['sealer-budget']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring }, maxSealsPerKey: 2 });
    const sealer = await recordMaskKeysOf(cipher)?.primarySealer();
    if (sealer === undefined) throw new Error('the default cipher has mask keys');
    const plain = enc('x');
    sealer.sealInto(plain, AAD, new Uint8Array(sealer.sealedLength(1)), 0);
    await cipher.seal(plain, AAD);
    expect(() => sealer.sealInto(plain, AAD, new Uint8Array(sealer.sealedLength(1)), 0)).toThrow(
      KeyExhausted,
    );
    await expect(cipher.seal(plain, AAD)).rejects.toThrow(KeyExhausted);
  });
});

describe('key ring', () => {
  it('a payload under a retired key opens; once the key is removed or disabled it fails', async () => {
    const ring = keyRing(['old', 'new']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const underOld = await cipher.seal(enc('legacy'), AAD);
    expect(cipher.keyIdOf(underOld)).toBe('old');
    ring.promote('new');
    const underNew = await cipher.seal(enc('fresh'), AAD);
    expect(cipher.keyIdOf(underNew)).toBe('new');
    expect(new TextDecoder().decode(await cipher.open(underOld, AAD))).toBe('legacy');
    ring.setState('old', 'disabled');
    expect(await openFails(cipher, underOld, AAD)).toBe(true);
    ring.setState('old', 'retired');
    await expect(cipher.open(underOld, AAD)).resolves.toBeInstanceOf(Uint8Array);
    ring.remove('old');
    expect(await openFails(cipher, underOld, AAD)).toBe(true);
    expect(cipher.keyIdOf(underOld)).toBe('old');
    await expect(cipher.open(underNew, AAD)).resolves.toBeInstanceOf(Uint8Array);
  });

  it('a key that the ring returns in the disabled state is refused', async () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const sealed = await cipher.seal(enc('x'), AAD);
    const leaky = {
      ...ring,
      primary: ring.primary,
      keys: ring.keys,
      get: (id: string) => ({ ...(ring.get(id) as StorageKey), state: 'disabled' as const }),
    };
    const strict = createAesGcmCipher({ keys: { storageKeys: () => leaky } });
    expect(await openFails(strict, sealed, AAD)).toBe(true);
  });

  it('keyIdOf reads the header only and rejects malformed headers with DecryptionFailed', () => {
    const ring = keyRing(['k1']);
    const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
    const header = (id: string, extra: number) =>
      new Uint8Array([1, 1, id.length, ...Buffer.from(id, 'latin1'), ...new Array(extra).fill(0)]);
    expect(cipher.keyIdOf(header('some-unknown-key', 28))).toBe('some-unknown-key');
    for (const bad of [
      new Uint8Array(0),
      new Uint8Array([1]),
      header('k1', 27), // one byte short of nonce + tag
      new Uint8Array([2, 1, 2, 107, 49, ...new Array(28).fill(0)]),
      new Uint8Array([1, 9, 2, 107, 49, ...new Array(28).fill(0)]),
      new Uint8Array([1, 1, 0, ...new Array(28).fill(0)]),
      new Uint8Array([1, 1, 65, ...new Array(65 + 28).fill(107)]),
      header('k 1', 28),
      header('k;1', 28),
      header('k\u00e91', 28),
    ]) {
      expect(() => cipher.keyIdOf(bad)).toThrow(DecryptionFailed);
    }
  });
});

describe('fuzz: open and keyIdOf only return or throw a CloakroomError', () => {
  const ring = keyRing(['k1']);
  const cipher = createAesGcmCipher({ keys: { storageKeys: () => ring } });
  const validHeader = new Uint8Array([1, 1, 2, 107, 49]);
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => new Uint8Array([...validHeader, ...b])),
    fc.uint8Array({ maxLength: 200 }).map((b) => new Uint8Array([1, 1, ...b])),
  );

  it('SEC-09 fuzz open', async () => {
    await fc.assert(
      fc.asyncProperty(inputs, fc.uint8Array({ maxLength: 40 }), async (bytes, aad) => {
        try {
          await cipher.open(bytes, aad);
          throw new Error('random bytes opened');
        } catch (err) {
          expect(isCloakroomError(err)).toBe(true);
          expect(err).toBeInstanceOf(DecryptionFailed);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('SEC-09 fuzz keyIdOf', () => {
    fc.assert(
      fc.property(inputs, (bytes) => {
        try {
          expect(cipher.keyIdOf(bytes)).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
        } catch (err) {
          expect(isCloakroomError(err)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('SEC-09 non-byte inputs to open and keyIdOf throw DecryptionFailed', async () => {
    const sealed = await cipher.seal(enc('x'), AAD);
    for (const bad of [undefined, null, 'string', 42, {}, [1, 1, 2], new ArrayBuffer(40)]) {
      await expect(cipher.open(bad as never, AAD)).rejects.toThrow(DecryptionFailed);
      expect(() => cipher.keyIdOf(bad as never)).toThrow(DecryptionFailed);
    }
    for (const badAad of [undefined, null, 'string', 42]) {
      await expect(cipher.open(sealed, badAad as never)).rejects.toThrow(DecryptionFailed);
    }
  });
});
