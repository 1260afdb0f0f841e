import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type Cipher, DecryptionFailed } from '@cloakroom/core';

/** Ways to get a cipher wrong; the reference cipher has none. */
export type CipherFlaw =
  | 'random-key-per-instance'
  | 'fixed-nonce'
  | 'ignores-aad'
  | 'unauthenticated'
  | 'foreign-errors'
  | 'unstable-key-id';

const KEY_ID = 'ref-key';
const HEADER = 1 + KEY_ID.length + 12; // version, key id, nonce

/**
 * AES-256-GCM with a small header (version byte, key id, nonce). Correct
 * unless a flaw is named.
 */
export function createReferenceCipher(configuredKey: Uint8Array, flaw?: CipherFlaw): Cipher {
  // A cipher that makes up its own key cannot open what another instance sealed.
  const key = flaw === 'random-key-per-instance' ? new Uint8Array(randomBytes(32)) : configuredKey;
  const fixedNonce = randomBytes(12);
  let seals = 0;
  return {
    name: `reference${flaw ? `-${flaw}` : ''}`,
    async seal(plaintext, aad) {
      const nonce = flaw === 'fixed-nonce' ? fixedNonce : randomBytes(12);
      const header = Buffer.concat([Buffer.from([1]), Buffer.from(KEY_ID), nonce]);
      if (flaw === 'unauthenticated') {
        const c = createCipheriv('aes-256-ctr', key, Buffer.concat([nonce, Buffer.alloc(4)]));
        return new Uint8Array(Buffer.concat([header, c.update(plaintext), c.final()]));
      }
      const c = createCipheriv('aes-256-gcm', key, nonce);
      c.setAAD(flaw === 'ignores-aad' ? header : Buffer.concat([header, aad]));
      const body = Buffer.concat([c.update(plaintext), c.final()]);
      const out = new Uint8Array(Buffer.concat([header, body, c.getAuthTag()]));
      if (flaw === 'unstable-key-id') out.set(Buffer.from(`ref-k${seals++ % 10}y`), 1);
      return out;
    },
    async open(sealed, aad) {
      if (flaw !== 'foreign-errors' && sealed.byteLength < HEADER + 16)
        throw new DecryptionFailed('sealed payload is malformed');
      const header = sealed.subarray(0, HEADER);
      if (header[0] !== 1) throw new DecryptionFailed('unknown format version');
      if (
        flaw !== 'unstable-key-id' &&
        Buffer.from(header.subarray(1, 1 + KEY_ID.length)).toString() !== KEY_ID
      ) {
        throw new DecryptionFailed('unknown key');
      }
      const nonce = header.subarray(1 + KEY_ID.length);
      if (flaw === 'unauthenticated') {
        const d = createDecipheriv('aes-256-ctr', key, Buffer.concat([nonce, Buffer.alloc(4)]));
        return new Uint8Array(Buffer.concat([d.update(sealed.subarray(HEADER)), d.final()]));
      }
      try {
        const d = createDecipheriv('aes-256-gcm', key, nonce);
        d.setAAD(flaw === 'ignores-aad' ? header : Buffer.concat([header, aad]));
        d.setAuthTag(sealed.subarray(sealed.byteLength - 16));
        return new Uint8Array(
          Buffer.concat([d.update(sealed.subarray(HEADER, sealed.byteLength - 16)), d.final()]),
        );
      } catch (cause) {
        if (flaw === 'foreign-errors') throw cause;
        throw new DecryptionFailed('sealed payload failed authentication', { cause });
      }
    },
    keyIdOf(sealed) {
      if (sealed.byteLength < HEADER || sealed[0] !== 1) {
        if (flaw === 'foreign-errors') throw new RangeError('short');
        throw new DecryptionFailed('sealed payload is malformed');
      }
      return Buffer.from(sealed.subarray(1, 1 + KEY_ID.length)).toString();
    },
  };
}
