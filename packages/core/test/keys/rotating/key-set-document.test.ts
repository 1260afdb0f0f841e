import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  ConfigInvalid,
  DecryptionFailed,
  type KeySetStore,
  isCloakroomError,
} from '@cloakroom/core';
import { createMemoryKeySetStore } from '@cloakroom/store-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openKeySetDocument } from '../../../src/keys/rotating/key-set-document';
import { rotatingKeys } from '../../../src/keys/rotating/rotating-keys';
import { toMasterKey } from '../../../src/keys/rotating/master-key';
import { byteSpellings } from '../../support/leaks';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12);
const OPTIONS = {
  signing: { rotateEvery: 60 * MIN, publishAhead: 10 * MIN, retireAfter: 20 * MIN },
  storage: { rotateEvery: 120 * MIN, publishAhead: 5 * MIN },
  refreshEvery: MIN,
};

/** A provider with a primary and a pending key of each kind, and its stored document. */
async function populated(alg: 'EdDSA' | 'RS256' = 'EdDSA') {
  const store = createMemoryKeySetStore();
  const masterKey = new Uint8Array(randomBytes(32));
  let t = T0;
  const keys = rotatingKeys({
    store,
    masterKey,
    clock: () => t,
    ...OPTIONS,
    signing: { ...OPTIONS.signing, alg },
  });
  await keys.rotate('signing');
  await keys.rotate('storage');
  t += MIN;
  const entry = await store.read('default');
  if (entry === null) throw new Error('no document');
  return { store, masterKey, keys, bytes: entry.document, setTime: (ms: number) => (t = ms) };
}

function expectAbsent(haystack: Uint8Array, secret: Uint8Array, what: string) {
  const hay = Buffer.from(haystack);
  expect(hay.indexOf(Buffer.from(secret)), `${what} raw`).toBe(-1);
  const text = hay.toString('latin1');
  for (const s of byteSpellings(secret))
    expect(text.includes(s), `${what} as ${s.slice(0, 4)}…`).toBe(false);
}

function loadFails(error: unknown): boolean {
  return error instanceof DecryptionFailed || error instanceof ConfigInvalid;
}

describe('SEC-15 the stored key set holds no raw key bytes', () => {
  for (const alg of ['EdDSA', 'RS256'] as const) {
    it(`SEC-15 (${alg}) no key appears in the stored document, raw, base64url, base64 or hex`, async () => {
      const { masterKey, keys, bytes, setTime } = await populated(alg);
      const { doc } = await openKeySetDocument(bytes, 'default', [toMasterKey(masterKey, 'm')]);
      const secrets: [string, Uint8Array][] = [
        ['master key', masterKey],
        ['index key', await keys.indexKey()],
      ];
      for (const s of doc.storage)
        secrets.push([`storage ${s.id}`, Buffer.from(s.key as string, 'base64url')]);
      for (const s of doc.signing) {
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
          const value = s.jwk?.[member];
          if (typeof value === 'string')
            secrets.push([`signing ${member}`, Buffer.from(value, 'base64url')]);
        }
      }
      // The decoded material is what the provider really uses (not a decoy).
      const ring = await keys.storageKeys();
      expect(ring.keys.map((k) => Buffer.from(k.key).toString('base64url')).sort()).toEqual(
        doc.storage.map((s) => s.key).sort(),
      );
      const primaryJwk = (await keys.signingKey()).key.export({ format: 'jwk' });
      expect(doc.signing.some((s) => s.jwk?.d === primaryJwk.d)).toBe(true);
      expect(secrets.length).toBeGreaterThanOrEqual(alg === 'EdDSA' ? 6 : 16);
      for (const [what, secret] of secrets) expectAbsent(bytes, secret, what);
      // Public ids are fine in clear; the JSON structure itself is not visible.
      expect(Buffer.from(bytes).toString('latin1')).not.toMatch(/"signing"|"storage"|"index"/);
      setTime(T0);
    });
  }
});

describe('SEC-15 a tampered key set fails to load', () => {
  it('SEC-15 flipping any single byte of the stored document makes it fail to open', async () => {
    const { masterKey, bytes } = await populated();
    const master = [toMasterKey(masterKey, 'm')];
    // The untouched document opens: a primary and a pending key of each kind.
    const { doc } = await openKeySetDocument(bytes, 'default', master);
    expect(doc.format).toBe(1);
    expect(doc.signing).toHaveLength(2);
    expect(doc.storage).toHaveLength(2);
    for (let i = 0; i < bytes.byteLength; i++) {
      const bad = new Uint8Array(bytes);
      bad[i] = (bad[i] as number) ^ 0x01;
      const outcome = await openKeySetDocument(bad, 'default', master).then(
        () => 'opened',
        (e: unknown) => (loadFails(e) ? 'failed' : `threw ${String(e)}`),
      );
      expect(outcome, `byte ${i}`).toBe('failed');
    }
  });

  it('SEC-15 any change (fast-check: position, mask, truncation, extension) fails to open', async () => {
    const { masterKey, bytes } = await populated();
    const master = [toMasterKey(masterKey, 'm')];
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: bytes.byteLength - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom('flip', 'truncate', 'extend'),
        async (at, mask, how) => {
          let bad: Uint8Array;
          if (how === 'flip') {
            bad = new Uint8Array(bytes);
            bad[at] = (bad[at] as number) ^ mask;
          } else if (how === 'truncate') {
            bad = bytes.slice(0, at);
          } else {
            bad = Buffer.concat([bytes, Buffer.from([mask])]);
          }
          const err = await openKeySetDocument(bad, 'default', master).then(
            () => undefined,
            (e: unknown) => e,
          );
          return loadFails(err);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('SEC-15 a provider over a tampered document refuses to start, with a clear error', async () => {
    const { masterKey, bytes } = await populated();
    const bad = new Uint8Array(bytes);
    bad[bad.byteLength - 40] = (bad[bad.byteLength - 40] as number) ^ 0x80;
    const store = createMemoryKeySetStore();
    await store.write('default', bad, null);
    const keys = rotatingKeys({ store, masterKey, clock: () => T0, ...OPTIONS });
    const err = await keys.signingKey().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DecryptionFailed);
    expect((err as Error).message).toMatch(/failed authentication/);
    // Nothing was written over the damaged document.
    expect((await store.read('default'))?.version).toBe(1);
  });

  it('SEC-15 a wrong master key fails clearly, naming master key ids only', async () => {
    const { store, masterKey } = await populated();
    const other = new Uint8Array(randomBytes(32));
    const keys = rotatingKeys({ store, masterKey: other, clock: () => T0, ...OPTIONS });
    const err = (await keys.signingKey().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigInvalid);
    const expected = toMasterKey(masterKey, 'm').id;
    expect(err.message).toContain(expected);
    expect(err.message).toContain(toMasterKey(other, 'm').id);
    for (const s of byteSpellings(masterKey).concat(byteSpellings(other)))
      expect(err.message).not.toContain(s);
  });

  it('SEC-15 a document copied under another key-set name fails to open', async () => {
    const { masterKey, bytes } = await populated();
    const store = createMemoryKeySetStore();
    await store.write('other', bytes, null);
    const keys = rotatingKeys({ store, name: 'other', masterKey, clock: () => T0, ...OPTIONS });
    await expect(keys.signingKey()).rejects.toThrow(/another key set/);
  });

  it('SEC-15 bytes that are not a sealed key set fail with ConfigInvalid', async () => {
    const master = [toMasterKey(new Uint8Array(randomBytes(32)), 'm')];
    for (const junk of [new Uint8Array(), new Uint8Array(100), Buffer.from('{"format":1}')]) {
      await expect(openKeySetDocument(junk, 'default', master)).rejects.toBeInstanceOf(
        ConfigInvalid,
      );
    }
  });
});

describe('KMS-backed master key', () => {
  // Stands in for a KMS: the provider only ever sees wrap/unwrap, never this key.
  function kms(id: string) {
    const kek = randomBytes(32);
    const calls = { wrap: 0, unwrap: 0 };
    return {
      calls,
      kek,
      key: {
        id,
        async wrap(dataKey: Uint8Array) {
          calls.wrap++;
          const iv = randomBytes(12);
          const c = createCipheriv('aes-256-gcm', kek, iv);
          return Buffer.concat([iv, c.update(dataKey), c.final(), c.getAuthTag()]);
        },
        async unwrap(wrapped: Uint8Array) {
          calls.unwrap++;
          const b = Buffer.from(wrapped);
          const d = createDecipheriv('aes-256-gcm', kek, b.subarray(0, 12));
          d.setAuthTag(b.subarray(b.length - 16));
          return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]);
        },
      },
    };
  }

  it('SEC-15 seals under a wrapped data key: one wrap per master key, unwrap only when the document changes hands', async () => {
    const k = kms('arn:aws:kms:eu-west-1:111122223333:key/demo');
    const store: KeySetStore = createMemoryKeySetStore();
    let t = T0;
    const a = rotatingKeys({ store, masterKey: k.key, clock: () => t, ...OPTIONS });
    await a.signingKey();
    await a.rotate('signing');
    await a.rotate('storage');
    expect(k.calls.wrap).toBe(1);
    t += MIN;
    await a.refresh();
    await a.refresh();
    expect(k.calls.unwrap).toBe(0); // its own data key is cached
    const b = rotatingKeys({ store, masterKey: k.key, clock: () => t, ...OPTIONS });
    expect((await b.signingKey()).kid).toBe((await a.signingKey()).kid);
    await b.refresh();
    expect(k.calls.unwrap).toBe(1);
    const entry = await store.read('default');
    expectAbsent(entry?.document as Uint8Array, k.kek, 'KMS key');
    expectAbsent(entry?.document as Uint8Array, await a.indexKey(), 'index key');
  });

  it('SEC-15 a KMS key with the right id but the wrong key material fails with DecryptionFailed', async () => {
    const good = kms('kms-key-1');
    const evil = kms('kms-key-1');
    const store = createMemoryKeySetStore();
    await rotatingKeys({ store, masterKey: good.key, clock: () => T0, ...OPTIONS }).signingKey();
    const err = await rotatingKeys({ store, masterKey: evil.key, clock: () => T0, ...OPTIONS })
      .signingKey()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecryptionFailed);
    expect(isCloakroomError(err)).toBe(true);
  });
});
