import { describe, it } from 'vitest';
import { cipherChecks } from './cipher-checks';
import type { CipherFactory, CipherSuiteOptions } from './options';

/**
 * Registers the `Cipher` conformance suite as vitest `describe`/`it` blocks:
 * round trip of every byte value, empty and 64 KiB plaintexts (also across
 * two instances from `factory`), any single flipped byte refused (SEC-09),
 * any other aad refused (SEC-10), fresh output for every seal (SEC-11), a
 * stable `keyIdOf`, and fuzzed input that only ever throws Cloakroom errors.
 * A KMS- or Vault-backed cipher must pass it.
 *
 * @example
 * ```ts
 * import { describeCipher } from '@cloakroom/conformance';
 * import { createAesGcmCipher, staticKeys } from '@cloakroom/core';
 * describeCipher('aes-256-gcm', () => createAesGcmCipher({ keys }));
 * ```
 */
export function describeCipher(
  name: string,
  factory: CipherFactory,
  options: CipherSuiteOptions = {},
): void {
  describe(`${name}: Cipher conformance`, () => {
    for (const check of cipherChecks) {
      if (check.appliesTo && !check.appliesTo(options)) continue;
      it(check.name, () => check.run(factory, options), check.timeoutMs?.(options) ?? 30_000);
    }
  });
}
