// The one AES-256-GCM primitive under both the storage cipher and the
// ticket layer: checked against node:crypto used directly.
import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openAesGcm, sealAesGcmInto } from '../../src/crypto/aes-gcm';

const key = randomBytes(32);
const nonce = randomBytes(12);

function seal(head: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.byteLength + plaintext.byteLength + 16);
  out.set(head);
  sealAesGcmInto(key, nonce, head, aad, plaintext, out, head.byteLength);
  return out;
}

describe('sealAesGcmInto / openAesGcm', () => {
  it('SEC-09 property: the output is header ‖ GCM(key, nonce, aad = head ‖ aad) ‖ tag, and opens to the plaintext', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 300 }),
        (head, aad, plaintext) => {
          const sealed = seal(head, aad, plaintext);
          // The same operation done in one piece with node:crypto.
          const gcm = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
          gcm.setAAD(Buffer.concat([head, aad]));
          const body = Buffer.concat([gcm.update(plaintext), gcm.final()]);
          expect(Buffer.from(sealed)).toEqual(Buffer.concat([head, body, gcm.getAuthTag()]));
          const opened = openAesGcm(key, nonce, head, aad, sealed, head.byteLength);
          expect(Buffer.from(opened)).toEqual(Buffer.from(plaintext));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('SEC-09 a changed aad, head, body or tag byte throws and returns nothing', () => {
    const head = Uint8Array.of(2);
    const aad = Buffer.from('aad');
    const sealed = seal(head, aad, Buffer.from('secret text'));
    expect(() => openAesGcm(key, nonce, head, Buffer.from('aae'), sealed, 1)).toThrow();
    expect(() => openAesGcm(key, nonce, Uint8Array.of(3), aad, sealed, 1)).toThrow();
    for (let i = 1; i < sealed.byteLength; i++) {
      const bad = Uint8Array.from(sealed);
      bad[i] = (bad[i] as number) ^ 1;
      expect(() => openAesGcm(key, nonce, head, aad, bad, 1)).toThrow();
    }
  });

  it('a wrongly sized output or a too short input is a RangeError, before any crypto', () => {
    const out = new Uint8Array(10);
    expect(() =>
      sealAesGcmInto(key, nonce, new Uint8Array(0), new Uint8Array(0), new Uint8Array(1), out, 0),
    ).toThrow(RangeError);
    expect(() =>
      openAesGcm(key, nonce, new Uint8Array(0), new Uint8Array(0), new Uint8Array(16), 1),
    ).toThrow(RangeError);
  });
});
