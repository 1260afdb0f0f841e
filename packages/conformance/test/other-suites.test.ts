import { randomBytes } from 'node:crypto';
import {
  cipherChecks,
  describeCipher,
  describeKeySetStore,
  keySetStoreChecks,
} from '@cloakroom/conformance';
import {
  createAesGcmCipher,
  generateSecret,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { type CipherFlaw, createReferenceCipher } from './support/reference-ciphers';
import { createReferenceKeySets, type KeySetFlaw } from './support/reference-key-sets';

const key = new Uint8Array(randomBytes(32));

describeCipher('reference AES-256-GCM', () => createReferenceCipher(key));
describeKeySetStore('reference key sets', () => createReferenceKeySets());

const signing = await generateSigningKey();
const coreKeys = staticKeys({
  signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
  storage: [{ key: generateSecret() }],
  index: generateSecret(),
});
describeCipher('@cloakroom/core createAesGcmCipher', () => createAesGcmCipher({ keys: coreKeys }));

const cipherMutants: [CipherFlaw, string[]][] = [
  ['random-key-per-instance', ['cipher-round-trip']],
  ['fixed-nonce', ['cipher-fresh-nonce']],
  ['ignores-aad', ['cipher-aad']],
  ['unauthenticated', ['cipher-tamper', 'cipher-fuzz']],
  ['foreign-errors', ['cipher-key-id', 'cipher-fuzz']],
  ['unstable-key-id', ['cipher-key-id']],
];

const keySetMutants: [KeySetFlaw, string[]][] = [
  ['cas-ignores-version', ['key-set-cas', 'key-set-concurrent', 'key-set-model']],
  ['non-atomic-cas', ['key-set-concurrent']],
  ['plain-object-map', ['key-set-names']],
  ['case-insensitive', ['key-set-names', 'key-set-model']],
  ['shares-bytes', ['key-set-bytes']],
];

describe('the cipher and key-set suites have teeth', () => {
  for (const [flaw, ids] of cipherMutants) {
    for (const id of ids) {
      it(`cipher with flaw ${flaw}: fails "${id}"`, async () => {
        const check = cipherChecks.find((c) => c.id === id)!;
        await expect(check.run(() => createReferenceCipher(key, flaw), {})).rejects.toThrow();
      });
    }
  }
  for (const [flaw, ids] of keySetMutants) {
    for (const id of ids) {
      it(`key-set store with flaw ${flaw}: fails "${id}"`, async () => {
        const check = keySetStoreChecks.find((c) => c.id === id)!;
        await expect(check.run(() => createReferenceKeySets(flaw), {})).rejects.toThrow();
      });
    }
  }
  it('every cipher and key-set check is aimed at by a mutant', () => {
    const aimed = new Set([...cipherMutants, ...keySetMutants].flatMap(([, ids]) => ids));
    const all = [...cipherChecks, ...keySetStoreChecks].map((c) => c.id);
    expect(all.filter((id) => !aimed.has(id))).toEqual([]);
  });
});
