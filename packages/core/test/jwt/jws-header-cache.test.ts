// signToken keeps encoded protected headers per (alg, kid, typ): every token
// must still carry exactly its own key's header, whatever was signed before.
import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { type SigningKey, signToken } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const ed = generateKeyPairSync('ed25519').privateKey;
const header = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as unknown;
const payload = { iss: 'i', aud: 'a', sub: 's', iat: 1, exp: 2, jti: 'j' };

describe('signToken protected header (cached encoding)', () => {
  it('every token carries exactly its own alg, kid and typ, in any order of calls', async () => {
    // kid and typ with separators and digits: no two triples may share a cache entry.
    const part = fc.string({
      unit: fc.constantFrom('a', ':', '1', '0', '\0', 'é'),
      minLength: 1,
      maxLength: 6,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(part, part), { minLength: 1, maxLength: 80 }),
        async (calls) => {
          for (const [kid, typ] of calls) {
            const key: SigningKey = { alg: 'EdDSA', kid, key: ed };
            expect(header(await signToken(key, payload, { typ }))).toStrictEqual({
              alg: 'EdDSA',
              kid,
              typ,
            });
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an HS256 and an EdDSA key with the same kid and typ get their own headers', async () => {
    const secret: SigningKey = {
      alg: 'HS256',
      kid: 'same',
      key: createSecretKey(Buffer.alloc(32, 7)),
    };
    const edKey: SigningKey = { alg: 'EdDSA', kid: 'same', key: ed };
    expect(header(await signToken(edKey, payload, { typ: 'at+jwt' }))).toStrictEqual({
      alg: 'EdDSA',
      kid: 'same',
      typ: 'at+jwt',
    });
    expect(header(await signToken(secret, payload, { typ: 'at+jwt' }))).toStrictEqual({
      alg: 'HS256',
      kid: 'same',
      typ: 'at+jwt',
    });
  });
});
