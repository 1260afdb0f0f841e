import { generateKeyPairSync, sign } from 'node:crypto';
import { inspect } from 'node:util';
import {
  InvalidArgument,
  type KeyProvider,
  type SigningKeyInput,
  StoreUnavailable,
  type VerifyTokenOptions,
  generateSecret,
  signToken,
  staticKeys,
  verifyToken,
} from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { JWT_NOW, b64, jwtClaims, rejectionOf } from '../support/jwt';

const NOW = JWT_NOW; // seconds
const claims = jwtClaims;

function provider(signing: SigningKeyInput[]) {
  return staticKeys({ signing, storage: [{ key: generateSecret() }], index: generateSecret() });
}

function options(keys: Pick<KeyProvider, 'verificationKey'>): VerifyTokenOptions {
  return {
    keys,
    issuer: 'https://issuer.test',
    audience: 'api',
    typ: 'at+jwt',
    now: () => NOW * 1000,
  };
}

const rejection = rejectionOf;

const ed = generateKeyPairSync('ed25519');
const inputs: Record<string, SigningKeyInput> = {
  EdDSA: { alg: 'EdDSA', privateKey: ed.privateKey },
  ES256: {
    alg: 'ES256',
    privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  },
  PS256: {
    alg: 'PS256',
    privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  },
  RS256: {
    alg: 'RS256',
    privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  },
  HS256: { alg: 'HS256', secret: generateSecret() },
};

describe('signToken / verifyToken round trip', () => {
  it.each(Object.keys(inputs))(
    '%s signs and verifies; header is exactly { alg, kid, typ }',
    async (alg) => {
      const keys = provider([inputs[alg]!]);
      const key = await keys.signingKey();
      const token = await signToken(key, claims({ role: 'admin', n: [1, 2] }), { typ: 'at+jwt' });
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
      expect(header).toStrictEqual({ alg, kid: key.kid, typ: 'at+jwt' });
      expect(Object.keys(header)).toEqual(['alg', 'kid', 'typ']);
      const verified = await verifyToken(token, options(keys));
      expect(verified.payload).toStrictEqual(claims({ role: 'admin', n: [1, 2] }));
      expect(verified.header).toStrictEqual({ alg, kid: key.kid, typ: 'at+jwt' });
    },
  );

  it('accepts a list of audiences and a token with an aud array', async () => {
    const keys = provider([inputs.EdDSA!]);
    const token = await signToken(await keys.signingKey(), claims({ aud: ['other', 'api'] }), {
      typ: 'at+jwt',
    });
    const verified = await verifyToken(token, { ...options(keys), audience: ['nope', 'api'] });
    expect(verified.payload.aud).toEqual(['other', 'api']);
  });

  it('typ is compared as a media type (application/at+jwt matches at+jwt)', async () => {
    const keys = provider([inputs.EdDSA!]);
    const token = await signToken(await keys.signingKey(), claims(), { typ: 'application/at+jwt' });
    const verified = await verifyToken(token, options(keys));
    expect(verified.header.typ).toBe('application/at+jwt');
    expect(verified.payload).toStrictEqual(claims());
  });
});

describe('verifyToken failures', () => {
  const keys = provider([inputs.EdDSA!]);

  it('rejections carry a reason and a cause, never the token or its claims (SEC-27)', async () => {
    const token = await signToken(
      await keys.signingKey(),
      claims({ exp: NOW - 60, secret: 'pii-value' }),
      {
        typ: 'at+jwt',
      },
    );
    const err = await rejection(verifyToken(token, options(keys)));
    expect(err.reason).toBe('expired');
    expect(err.code).toBe('ERR_TOKEN_REJECTED');
    expect((err.cause as { code?: string }).code).toBe('ERR_JWT_EXPIRED');
    const dump = inspect(err, { depth: 10 }) + JSON.stringify(err);
    for (const leak of [token, token.split('.')[1]!, 'pii-value', 'user-42']) {
      expect(dump).not.toContain(leak);
    }
  });

  it('SEC-18 iat in the future beyond the tolerance is rejected, within it accepted', async () => {
    const key = await keys.signingKey();
    const ahead = await signToken(key, claims({ iat: NOW + 6 }), { typ: 'at+jwt' });
    expect((await rejection(verifyToken(ahead, options(keys)))).reason).toBe('claims');
    const skewed = await signToken(key, claims({ iat: NOW + 5 }), { typ: 'at+jwt' });
    expect((await verifyToken(skewed, options(keys))).payload.iat).toBe(NOW + 5);
  });

  it('SEC-18 an empty sub or jti is rejected (a subject must name someone), as trustedIssuer rejects an empty sub', async () => {
    const key = await keys.signingKey();
    for (const extra of [{ sub: '' }, { jti: '' }]) {
      const token = await signToken(key, claims(extra), { typ: 'at+jwt' });
      expect((await rejection(verifyToken(token, options(keys)))).reason).toBe('claims');
    }
  });

  it('SEC-18 sub and jti must be strings; exp 1e400 (Infinity) is not "never expires"', async () => {
    const key = await keys.signingKey();
    for (const extra of [{ sub: 42 }, { jti: null }, { jti: ['a'] }, { sub: {} }]) {
      const token = await signToken(key, claims(extra), { typ: 'at+jwt' });
      expect((await rejection(verifyToken(token, options(keys)))).reason).toBe('claims');
    }
    // JSON.stringify cannot write 1e400, so sign the raw text by hand.
    const head = b64({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' });
    const body = b64(JSON.stringify(claims()).replace(`"exp":${NOW + 300}`, '"exp":1e400'));
    const sig = sign(null, Buffer.from(`${head}.${body}`), ed.privateKey).toString('base64url');
    await rejection(verifyToken(`${head}.${body}.${sig}`, options(keys)));
  });

  it('a key the provider reports disabled is refused even if returned', async () => {
    const key = await keys.signingKey();
    const token = await signToken(key, claims(), { typ: 'at+jwt' });
    const disabled: Pick<KeyProvider, 'verificationKey'> = {
      verificationKey: async (kid) => {
        const found = await keys.verificationKey(kid);
        return found && { ...found, state: 'disabled' };
      },
    };
    expect((await rejection(verifyToken(token, options(disabled)))).reason).toBe('unknown-kid');
  });

  it('an outage in the key provider propagates as is (503, not 401)', async () => {
    const token = await signToken(await keys.signingKey(), claims(), { typ: 'at+jwt' });
    const down: Pick<KeyProvider, 'verificationKey'> = {
      verificationKey: () => Promise.reject(new StoreUnavailable('key store down')),
    };
    await expect(verifyToken(token, options(down))).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('non-canonical base64url (non-zero trailing bits) is rejected: one spelling per signature', async () => {
    const token = await signToken(await keys.signingKey(), claims(), { typ: 'at+jwt' });
    const [h, p, s] = token.split('.') as [string, string, string];
    // 64-byte Ed25519 signature → 86 chars; the last one carries 4 unused bits.
    const last = s.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) | 1]!;
    expect(Buffer.from(s.slice(0, -1) + twin, 'base64url')).toEqual(Buffer.from(s, 'base64url'));
    const err = await rejection(verifyToken(`${h}.${p}.${s.slice(0, -1)}${twin}`, options(keys)));
    expect(err.reason).toBe('malformed');
  });

  it('invalid options throw InvalidArgument', async () => {
    const token = await signToken(await keys.signingKey(), claims(), { typ: 'at+jwt' });
    const bad: Partial<VerifyTokenOptions>[] = [
      { issuer: '' },
      { audience: [] },
      { audience: [''] },
      { typ: '' },
      { clockToleranceSec: -1 },
      { clockToleranceSec: Number.NaN },
      { maxTokenLength: 0 },
      { keys: {} as never },
      { now: () => Number.NaN },
    ];
    for (const override of bad) {
      await expect(verifyToken(token, { ...options(keys), ...override })).rejects.toBeInstanceOf(
        InvalidArgument,
      );
    }
  });
});

describe('signToken input checks', () => {
  it('rejects non-object payloads, empty typ, unserialisable payloads and non-keys', async () => {
    const key = await provider([inputs.EdDSA!]).signingKey();
    const attempts: (() => Promise<string>)[] = [
      () => signToken(key, [] as never, { typ: 'JWT' }),
      () => signToken(key, null as never, { typ: 'JWT' }),
      () => signToken(key, new Map() as never, { typ: 'JWT' }),
      () => signToken(key, claims(), { typ: '' }),
      () => signToken(key, { n: 10n }, { typ: 'JWT' }),
      () => signToken({ ...key, key: 'pem' as never }, claims(), { typ: 'JWT' }),
      () => signToken({ ...key, kid: '' }, claims(), { typ: 'JWT' }),
      // A key whose declared algorithm does not fit it cannot sign.
      () => signToken({ ...key, alg: 'ES256' }, claims(), { typ: 'JWT' }),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(InvalidArgument);
  });
});
