/**
 * Seals and opens session payloads (encryption at rest). The default is
 * {@link createAesGcmCipher}; a KMS- or Vault-backed cipher implements the
 * same contract and must pass `describeCipher` from `@cloakroom/conformance`.
 *
 * Contract:
 * - `seal` is authenticated encryption with a fresh random nonce per call,
 *   never caller-supplied; the output embeds the key id in a header that is
 *   itself authenticated.
 * - `open` succeeds only with the exact `aad` given to `seal`; any changed
 *   byte of `sealed` or `aad` throws `DecryptionFailed`, never returns bytes.
 * - Unknown or disabled key id: `open` throws `DecryptionFailed` (or `KeyNotFound`).
 * - Messages never include plaintext, key bytes or the sealed bytes.
 *
 * @example
 * ```ts
 * const sealed = await cipher.seal(utf8('hello'), aad);
 * const plain = await cipher.open(sealed, aad);
 * cipher.keyIdOf(sealed); // e.g. "sk_2026_11"
 * ```
 */
export interface Cipher {
  /** Human-readable name, e.g. `"aes-256-gcm"`. */
  readonly name: string;
  /** Encrypt and authenticate `plaintext`, binding `aad`. */
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Verify and decrypt. @throws DecryptionFailed on any mismatch. */
  open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /**
   * The storage key id in `sealed`'s header, read without decrypting (for
   * rewrap and reports). @throws DecryptionFailed when the header is malformed.
   */
  keyIdOf(sealed: Uint8Array): string;
}
