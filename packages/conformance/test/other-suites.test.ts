import { randomBytes } from 'node:crypto';
import {
  type CipherCheck,
  ConformanceFailure,
  cipherChecks,
  describeCipher,
  describeKeySetStore,
  type KeySetStoreSuiteOptions,
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
import type { ReferenceClient } from './support/reference-store';
import { type CheckRun, runChecks } from './support/run-checks';

const key = new Uint8Array(randomBytes(32));

// A client the test owns, as key-set stores over Redis or PostgreSQL take one.
const keySetOptions = (flaw?: KeySetFlaw): KeySetStoreSuiteOptions => ({
  unreachable: () => createReferenceKeySets(flaw, undefined, false),
  unreachableTimeoutMs: 500,
  callerClient: async () => {
    const client: ReferenceClient = { open: true };
    return {
      store: createReferenceKeySets(flaw, client),
      clientUsable: async () => client.open,
      release: async () => {
        client.open = false;
      },
    };
  },
});

describeCipher('reference AES-256-GCM', () => createReferenceCipher(key));
describeKeySetStore('reference key sets', () => createReferenceKeySets(), keySetOptions());

const signing = await generateSigningKey();
const coreKeys = staticKeys({
  signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
  storage: [{ key: generateSecret() }],
  index: generateSecret(),
});
const coreCipher = () => createAesGcmCipher({ keys: coreKeys });
describeCipher('@cloakroom/core createAesGcmCipher', coreCipher);

// Each flaw and every check it must fail; all other checks must pass.
const cipherMutants: [CipherFlaw, string[]][] = [
  ['random-key-per-instance', ['cipher-round-trip']],
  ['fixed-nonce', ['cipher-fresh-nonce']],
  ['ignores-aad', ['cipher-aad', 'cipher-fuzz']],
  // Without a tag an empty plaintext seals to too few bytes to open, hence round-trip and nonce.
  [
    'unauthenticated',
    ['cipher-tamper', 'cipher-fuzz', 'cipher-aad', 'cipher-round-trip', 'cipher-fresh-nonce'],
  ],
  ['foreign-errors', ['cipher-key-id', 'cipher-fuzz', 'cipher-tamper', 'cipher-aad']],
  // The varying key id is part of the authenticated header, so its seals do not open.
  [
    'unstable-key-id',
    ['cipher-key-id', 'cipher-round-trip', 'cipher-tamper', 'cipher-fresh-nonce'],
  ],
];

const keySetMutants: [KeySetFlaw, string[]][] = [
  ['cas-ignores-version', ['key-set-cas', 'key-set-concurrent', 'key-set-model']],
  ['non-atomic-cas', ['key-set-concurrent']],
  ['plain-object-map', ['key-set-names']],
  ['case-insensitive', ['key-set-names', 'key-set-model']],
  ['shares-bytes', ['key-set-bytes', 'key-set-copy-at-call']],
  ['config-invalid-names', ['key-set-names']],
  ['copies-late', ['key-set-copy-at-call']],
  ['document-in-message', ['key-set-error-messages']],
  ['works-after-close', ['key-set-closed', 'key-set-error-messages']],
  ['closes-client', ['key-set-caller-client']],
  ['unavailable-without-cause', ['key-set-unreachable']],
];

/** Exactly `ids` failed, each with the suite's own verdict; every other check ran and passed. */
function expectFailedExactly(runs: readonly CheckRun[], ids: readonly string[]): void {
  const failed = runs.filter((r) => !r.passed);
  const shown = failed.map(
    (r) => `${r.id}: ${r.error instanceof Error ? r.error.message.slice(0, 200) : ''}`,
  );
  expect(failed.map((r) => r.id).sort(), shown.join('\n')).toEqual([...ids].sort());
  for (const run of failed) {
    expect(run.error, `${run.id} failed with a crash`).toBeInstanceOf(ConformanceFailure);
  }
}

describe('the cipher and key-set suites have teeth', () => {
  for (const [flaw, ids] of cipherMutants) {
    it(`cipher with flaw ${flaw}: fails ${ids.join(', ')} and passes the rest`, async () => {
      expectFailedExactly(
        await runChecks(cipherChecks, () => createReferenceCipher(key, flaw), {}),
        ids,
      );
    });
  }
  for (const [flaw, ids] of keySetMutants) {
    it(`key-set store with flaw ${flaw}: fails ${ids.join(', ')} and passes the rest`, async () => {
      expectFailedExactly(
        await runChecks(keySetStoreChecks, () => createReferenceKeySets(flaw), keySetOptions(flaw)),
        ids,
      );
    });
  }
  it('every cipher and key-set check is aimed at by a mutant', () => {
    const aimed = new Set([...cipherMutants, ...keySetMutants].flatMap(([, ids]) => ids));
    const all = [...cipherChecks, ...keySetStoreChecks].map((c) => c.id);
    expect(all.filter((id) => !aimed.has(id))).toEqual([]);
  });
});

describe('the cipher fuzz check has no false failures', () => {
  const fuzz = cipherChecks.find((c) => c.id === 'cipher-fuzz') as CipherCheck;

  // Before the fix the fuzzer could keep a whole genuine seal, append nothing
  // and reuse its empty aad, then demand that open refuse it: about 1 check
  // run in 50 failed a correct cipher. 1,000 runs (200,000 fuzzed inputs)
  // would show ~20 such failures; now there must be none.
  it('1,000 runs of the fuzz check against core createAesGcmCipher never fail', async () => {
    const failures: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      await fuzz.run(coreCipher, {}).catch((err: unknown) => {
        failures.push(err instanceof Error ? err.message.slice(0, 300) : String(err));
      });
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('the fixed fuzz check still catches a cipher that opens forgeries', async () => {
    await expect(
      fuzz.run(() => createReferenceCipher(key, 'unauthenticated'), {}),
    ).rejects.toBeInstanceOf(ConformanceFailure);
  });
});
