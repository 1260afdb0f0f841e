import { type Cipher, isCloakroomError } from '@cloakroom/core';
import fc from 'fast-check';
import {
  type ConformanceCheck,
  ConformanceFailure,
  ensure,
  judged,
  replayParameters,
  runCount,
} from './harness';
import type { CipherFactory, CipherSuiteOptions } from './options';
import { describeError, outcome, randomPayload, sameBytes } from './records';

/**
 * A check of the cipher suite.
 * @example
 * ```ts
 * const tamper: CipherCheck = cipherChecks.find((c) => c.id === 'cipher-tamper')!;
 * ```
 */
export type CipherCheck = ConformanceCheck<CipherFactory, CipherSuiteOptions>;

const enc = new TextEncoder();
const OPEN_FAILURES = new Set(['ERR_DECRYPTION_FAILED', 'ERR_KEY_NOT_FOUND']);

/** Requires `open` to refuse: DecryptionFailed (or KeyNotFound), never bytes. */
async function expectRefused(
  cipher: Cipher,
  sealed: Uint8Array,
  aad: Uint8Array,
  what: string,
  secret?: string,
) {
  const result = await outcome(() => cipher.open(sealed, aad));
  if (result.ok)
    throw new ConformanceFailure(
      `${what}: open returned ${result.value.byteLength} bytes instead of throwing DecryptionFailed`,
    );
  const code = isCloakroomError(result.error) ? result.error.code : undefined;
  ensure(
    code !== undefined && OPEN_FAILURES.has(code),
    () => `${what}: open threw ${describeError(result.error)}, want DecryptionFailed`,
  );
  if (secret !== undefined) {
    const message = String((result.error as Error).message);
    ensure(!message.includes(secret), `${what}: the error message holds the plaintext`);
  }
}

async function expectOpens(
  cipher: Cipher,
  sealed: Uint8Array,
  aad: Uint8Array,
  plain: Uint8Array,
  what: string,
) {
  const opened = await cipher.open(sealed, aad);
  ensure(opened instanceof Uint8Array, `${what}: open must return a Uint8Array`);
  ensure(
    sameBytes(opened, plain),
    `${what}: opened bytes differ (${opened.byteLength}, want ${plain.byteLength})`,
  );
}

const roundTripCheck: CipherCheck = {
  id: 'cipher-round-trip',
  name: 'seal/open round-trips every byte value, empty and 64 KiB plaintexts, across cipher instances, without touching the inputs',
  async run(factory, options) {
    const cipher = await factory();
    const other = await factory();
    const every = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    for (const plain of [every, new Uint8Array(0), randomPayload(64 * 1024)]) {
      for (const aad of [new Uint8Array(0), every.slice(0, 64)]) {
        const plainCopy = plain.slice();
        const aadCopy = aad.slice();
        const sealed = await cipher.seal(plainCopy, aadCopy);
        ensure(sealed instanceof Uint8Array, 'seal must return a Uint8Array');
        ensure(sameBytes(plainCopy, plain) && sameBytes(aadCopy, aad), 'seal changed its inputs');
        await expectOpens(cipher, sealed, aad, plain, `${plain.byteLength}-byte plaintext`);
        await expectOpens(
          other,
          sealed,
          aad,
          plain,
          `${plain.byteLength}-byte plaintext on a second instance`,
        );
      }
    }
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300, size: 'max' }),
        fc.uint8Array({ maxLength: 80, size: 'max' }),
        async (plain, aad) => {
          await expectOpens(cipher, await cipher.seal(plain, aad), aad, plain, 'random plaintext');
        },
      ),
      { numRuns: runCount(options.numRuns) * 4, ...replayParameters() },
    );
  },
};

const tamperCheck: CipherCheck = {
  id: 'cipher-tamper',
  name: 'SEC-09 flipping any single byte, truncating or extending the sealed bytes makes open throw DecryptionFailed',
  async run(factory) {
    const cipher = await factory();
    const secret = `plaintext-marker-${Math.random().toString(36).slice(2)}`;
    const plain = enc.encode(secret);
    const aad = enc.encode('record-aad');
    const sealed = await cipher.seal(plain, aad);
    for (let i = 0; i < sealed.byteLength; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = sealed.slice();
        bad[i] = bad[i]! ^ mask;
        await expectRefused(cipher, bad, aad, `byte ${i} xor 0x${mask.toString(16)}`, secret);
      }
    }
    for (let len = 0; len < sealed.byteLength; len++) {
      await expectRefused(cipher, sealed.slice(0, len), aad, `truncated to ${len} bytes`, secret);
    }
    const longer = new Uint8Array(sealed.byteLength + 1);
    longer.set(sealed);
    await expectRefused(cipher, longer, aad, 'one byte appended', secret);
    await expectOpens(cipher, sealed, aad, plain, 'the untouched original');
  },
};

const aadCheck: CipherCheck = {
  id: 'cipher-aad',
  name: 'SEC-10 open with any other aad (one byte changed, shorter, longer, empty, swapped between records) throws DecryptionFailed',
  async run(factory) {
    const cipher = await factory();
    const plain = randomPayload(48);
    const aad = enc.encode(
      'header|session-id-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|subject-index',
    );
    const sealed = await cipher.seal(plain, aad);
    for (let i = 0; i < aad.byteLength; i++) {
      const bad = aad.slice();
      bad[i] = bad[i]! ^ 0x01;
      await expectRefused(cipher, sealed, bad, `aad byte ${i} changed`);
    }
    await expectRefused(cipher, sealed, aad.slice(0, -1), 'aad one byte shorter');
    await expectRefused(cipher, sealed, new Uint8Array([...aad, 0]), 'aad one byte longer');
    await expectRefused(cipher, sealed, new Uint8Array(0), 'empty aad');
    const otherAad = enc.encode(
      'header|session-id-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb|subject-index',
    );
    const otherSealed = await cipher.seal(plain, otherAad);
    await expectRefused(cipher, otherSealed, aad, 'a payload copied onto another record');
    const empty = await cipher.seal(plain, new Uint8Array(0));
    await expectRefused(cipher, empty, aad, 'sealed with empty aad, opened with aad');
  },
};

const nonceCheck: CipherCheck = {
  id: 'cipher-fresh-nonce',
  name: 'SEC-11 sealing the same plaintext and aad twice (or 200 times concurrently) never gives the same bytes',
  async run(factory) {
    const cipher = await factory();
    const plain = enc.encode('same plaintext');
    const aad = enc.encode('same aad');
    const sealed = await Promise.all(Array.from({ length: 200 }, () => cipher.seal(plain, aad)));
    const distinct = new Set(sealed.map((s) => Buffer.from(s).toString('base64')));
    ensure(
      distinct.size === sealed.length,
      `${sealed.length - distinct.size} of ${sealed.length} seals repeated an earlier output`,
    );
    // The same nonce under one key would show as equal keystream: equal XOR of two ciphertexts of
    // equal plaintexts. Distinct outputs for equal inputs already rule that out for AEADs.
    for (const s of sealed.slice(0, 5))
      await expectOpens(cipher, s, aad, plain, 'a concurrent seal');
  },
};

const keyIdCheck: CipherCheck = {
  id: 'cipher-key-id',
  name: 'keyIdOf is a stable non-empty string for everything one key sealed, and throws DecryptionFailed on a malformed header',
  async run(factory) {
    const cipher = await factory();
    const ids = new Set<string>();
    for (const plain of [new Uint8Array(0), randomPayload(10), randomPayload(5000)]) {
      const id = cipher.keyIdOf(await cipher.seal(plain, new Uint8Array(0)));
      ensure(typeof id === 'string' && id.length > 0, 'keyIdOf must return a non-empty string');
      ids.add(id);
    }
    ensure(ids.size === 1, `keyIdOf gave ${ids.size} different ids for one key`);
    for (const garbage of [new Uint8Array(0), new Uint8Array(1)]) {
      let threw: unknown;
      try {
        cipher.keyIdOf(garbage);
      } catch (err) {
        threw = err;
      }
      ensure(threw !== undefined, `keyIdOf of ${garbage.byteLength} bytes must throw`);
      ensure(
        isCloakroomError(threw) && OPEN_FAILURES.has(threw.code),
        () => `keyIdOf of garbage threw ${describeError(threw)}`,
      );
    }
  },
};

const fuzzCheck: CipherCheck = {
  id: 'cipher-fuzz',
  name: 'fuzzed sealed bytes and aad: open refuses every forgery (only the genuine seal with its own aad opens) and keyIdOf throws only Cloakroom errors',
  async run(factory, options) {
    const cipher = await factory();
    const plain = randomPayload(20);
    const realAad = new Uint8Array(0);
    const real = await cipher.seal(plain, realAad);
    // Explicit lengths: fast-check's default size would keep byte arrays under ~10 bytes.
    const bytes = (max: number) =>
      fc.integer({ min: 0, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
    const input = fc.oneof(
      bytes(200),
      // Keep a real header and fuzz the rest, to get past header parsing.
      fc
        .tuple(fc.integer({ min: 0, max: real.byteLength }), bytes(120))
        .map(([keep, tail]) => new Uint8Array([...real.slice(0, keep), ...tail])),
    );
    await fc.assert(
      fc.asyncProperty(input, bytes(40), async (sealed, aad) => {
        // Keeping the whole seal and appending nothing, with the empty aad it
        // was sealed under, rebuilds the genuine pair: that is no forgery, and
        // a correct cipher opens it.
        if (sameBytes(sealed, real) && sameBytes(aad, realAad)) {
          await expectOpens(cipher, sealed, aad, plain, 'the genuine seal the fuzzer rebuilt');
        } else {
          await expectRefused(cipher, sealed, aad, 'fuzzed input');
        }
        try {
          const id = cipher.keyIdOf(sealed);
          ensure(typeof id === 'string', 'keyIdOf must return a string or throw');
        } catch (err) {
          ensure(
            isCloakroomError(err),
            () => `keyIdOf threw a foreign error: ${describeError(err)}`,
          );
        }
      }),
      {
        numRuns: runCount(options.numRuns) * 8,
        // The genuine seal under a foreign aad is always tried, so whether a
        // cipher that ignores its aad fails here never depends on the seed.
        examples: [[real, Uint8Array.of(1)]],
        ...replayParameters(),
      },
    );
  },
};

/**
 * Every check of the cipher suite, each callable on its own.
 *
 * @example
 * ```ts
 * for (const check of cipherChecks) await check.run(() => myCipher, {});
 * ```
 */
export const cipherChecks: readonly CipherCheck[] = judged([
  roundTripCheck,
  tamperCheck,
  aadCheck,
  nonceCheck,
  keyIdCheck,
  fuzzCheck,
]);
