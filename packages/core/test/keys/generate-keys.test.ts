import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  InvalidArgument,
  generateSecret,
  generateSigningKey,
  signToken,
  staticKeys,
  verifyToken,
} from '@cloakroom/core';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';

const storage = [{ key: generateSecret() }];

describe('generateSigningKey', () => {
  it('SEC-20 defaults to EdDSA (Ed25519)', async () => {
    const key = await generateSigningKey();
    expect(key.alg).toBe('EdDSA');
    expect(key.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(key.privateJwk).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      kid: key.kid,
      alg: 'EdDSA',
    });
    expect(typeof key.privateJwk.d).toBe('string');
  });

  it.each([
    ['EdDSA', 'ed25519', undefined],
    ['ES256', 'ec', undefined],
    ['PS256', 'rsa', 3072],
    ['RS256', 'rsa', 3072],
  ] as const)(
    '%s: kid is the thumbprint, public JWK has no private members, pair works in staticKeys',
    async (alg, type, bits) => {
      const generated = await generateSigningKey(alg);
      expect(generated.kid).toBe(await calculateJwkThumbprint(generated.publicJwk as never));
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
        expect(generated.publicJwk).not.toHaveProperty(member);
      }
      const priv = createPrivateKey({ key: generated.privateJwk, format: 'jwk' });
      expect(priv.asymmetricKeyType).toBe(type);
      if (bits !== undefined) expect(priv.asymmetricKeyDetails?.modulusLength).toBe(bits);
      if (alg === 'ES256') expect(priv.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(
        createPublicKey(priv).equals(
          createPublicKey({ key: generated.publicJwk as never, format: 'jwk' }),
        ),
      ).toBe(true);

      const keys = staticKeys({
        signing: [{ alg, privateKey: generated.privateJwk }],
        storage,
        index: generateSecret(),
      });
      expect((await keys.signingKey()).kid).toBe(generated.kid);
      expect((await keys.jwks()).keys).toEqual([generated.publicJwk]);
      const now = 1_800_000_000;
      const token = await signToken(
        await keys.signingKey(),
        { iss: 'i', aud: 'a', sub: 's', iat: now, exp: now + 60, jti: 'j' },
        { typ: 'at+jwt' },
      );
      const verified = await verifyToken(token, {
        keys,
        issuer: 'i',
        audience: 'a',
        typ: 'at+jwt',
        now: () => now * 1000,
      });
      expect(verified.header).toEqual({ alg, kid: generated.kid, typ: 'at+jwt' });
    },
  );

  it('two generated keys differ', async () => {
    const [a, b] = await Promise.all([generateSigningKey(), generateSigningKey()]);
    expect(a.kid).not.toBe(b.kid);
    expect(a.privateJwk.d).not.toBe(b.privateJwk.d);
  });

  it('rejects HS256 and unknown algorithms with InvalidArgument', async () => {
    for (const alg of ['HS256', 'none', 'ES512', ''] as never[]) {
      await expect(generateSigningKey(alg)).rejects.toBeInstanceOf(InvalidArgument);
    }
  });
});

describe('generateSecret', () => {
  it('SEC-12 gives 32 CSPRNG bytes by default, distinct on every call', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const secret = generateSecret();
      expect(secret.byteLength).toBe(32);
      seen.add(Buffer.from(secret).toString('hex'));
    }
    expect(seen.size).toBe(10_000);
  });

  it('SEC-12 returns a plain Uint8Array over its own 32-byte buffer (no shared pool)', () => {
    const secret = generateSecret();
    expect(Buffer.isBuffer(secret)).toBe(false);
    expect(secret.buffer.byteLength).toBe(32);
  });

  it('SEC-12 bytes look uniform: every value appears across 64 KiB of output', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2048; i++) for (const b of generateSecret()) counts[b]!++;
    // Expected 256 per value; a stuck or biased generator would fall far outside this band.
    expect(Math.min(...counts)).toBeGreaterThan(150);
    expect(Math.max(...counts)).toBeLessThan(370);
  });

  it('SEC-12 refuses fewer than 32 bytes and non-integers', () => {
    for (const n of [31, 0, -1, 32.5, Number.NaN, 1025]) {
      expect(() => generateSecret(n)).toThrow(InvalidArgument);
    }
    expect(generateSecret(64).byteLength).toBe(64);
  });
});
