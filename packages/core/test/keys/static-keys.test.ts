import { type JsonWebKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  ConfigInvalid,
  type SigningKeyInput,
  type StaticKeysOptions,
  staticKeys,
} from '@cloakroom/core';
import fc from 'fast-check';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const key32 = () => new Uint8Array(randomBytes(32));

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const edPem = ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const ecJwk = ec.privateKey.export({ format: 'jwk' });

function base(overrides: Partial<StaticKeysOptions> = {}): StaticKeysOptions {
  return {
    signing: [{ alg: 'EdDSA', privateKey: ed.privateKey }],
    storage: [{ key: key32() }],
    index: key32(),
    ...overrides,
  };
}

/** Expect ConfigInvalid whose message matches and contains none of `secrets`. */
function expectConfigInvalid(options: unknown, message: RegExp, secrets: readonly string[] = []) {
  let caught: unknown;
  try {
    staticKeys(options as StaticKeysOptions);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigInvalid);
  const text = (caught as Error).message;
  expect(text).toMatch(message);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('staticKeys: resolved keys', () => {
  it('first signing key is primary, the rest retired; kid is the RFC 7638 thumbprint', async () => {
    const keys = staticKeys(
      base({
        signing: [
          { alg: 'EdDSA', privateKey: edPem },
          { alg: 'ES256', privateKey: ecJwk },
          { alg: 'RS256', privateKey: rsa.privateKey },
        ],
      }),
    );
    const edKid = await calculateJwkThumbprint(ed.publicKey.export({ format: 'jwk' }) as never);
    const ecKid = await calculateJwkThumbprint(ec.publicKey.export({ format: 'jwk' }) as never);
    const rsaKid = await calculateJwkThumbprint(rsa.publicKey.export({ format: 'jwk' }) as never);

    const primary = await keys.signingKey();
    expect(primary).toMatchObject({ kid: edKid, alg: 'EdDSA' });
    expect(primary.key.type).toBe('private');

    const states = await Promise.all([edKid, ecKid, rsaKid].map((k) => keys.verificationKey(k)));
    expect(states.map((k) => [k?.alg, k?.state, k?.key.type])).toEqual([
      ['EdDSA', 'primary', 'public'],
      ['ES256', 'retired', 'public'],
      ['RS256', 'retired', 'public'],
    ]);
    // The verify key really is the configured key's public half.
    expect(states[2]!.key.equals(rsa.publicKey)).toBe(true);
  });

  it('HS256 kid is the thumbprint of the oct JWK; the verify key is the secret itself', async () => {
    const secret = key32();
    const keys = staticKeys(base({ signing: [{ alg: 'HS256', secret: b64(secret) }] }));
    const kid = await calculateJwkThumbprint({ kty: 'oct', k: b64(secret) });
    const signing = await keys.signingKey();
    expect(signing.kid).toBe(kid);
    const verify = await keys.verificationKey(kid);
    expect(verify?.key.type).toBe('secret');
    expect(new Uint8Array(verify!.key.export())).toEqual(secret);
    expect((await keys.jwks()).keys).toEqual([]);
  });

  it('storage ring: first primary, rest retired, ids given or thumbprint-derived', async () => {
    const [a, b] = [key32(), key32()];
    const keys = staticKeys(base({ storage: [{ key: b64(a) }, { id: 'old-2025', key: b }] }));
    const ring = await keys.storageKeys();
    const defaultId = `sk_${(await calculateJwkThumbprint({ kty: 'oct', k: b64(a) })).slice(0, 22)}`;
    expect(ring.primary).toEqual({ id: defaultId, key: a, state: 'primary' });
    expect(ring.keys.map((k) => [k.id, k.state])).toEqual([
      [defaultId, 'primary'],
      ['old-2025', 'retired'],
    ]);
    expect(ring.get('old-2025')?.key).toEqual(b);
    expect(ring.get('nope')).toBeUndefined();
    expect(defaultId).toMatch(/^sk_[A-Za-z0-9_-]{22}$/);
  });

  it('keys are copied at construction: later edits to the caller bytes change nothing', async () => {
    const storage = key32();
    const index = key32();
    const copyS = storage.slice();
    const copyI = index.slice();
    const keys = staticKeys(base({ storage: [{ key: storage }], index }));
    storage.fill(1);
    index.fill(2);
    expect((await keys.storageKeys()).primary.key).toEqual(copyS);
    expect(await keys.indexKey()).toEqual(copyI);
  });

  it('methods answer precomputed data: same objects on every call', async () => {
    const keys = staticKeys(base());
    expect(await keys.signingKey()).toBe(await keys.signingKey());
    expect(await keys.storageKeys()).toBe(await keys.storageKeys());
    expect(keys.name).toBe('static');
  });
});

describe('staticKeys: verificationKey lookups are inert (SEC-17)', () => {
  const keys = staticKeys(base());
  const hostile = [
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '../../x',
    "' OR 1=1--",
  ];

  it('SEC-17 hostile kid strings and non-strings return undefined, never throw', async () => {
    for (const kid of [...hostile, 'x'.repeat(10_240), '', '\u0000']) {
      await expect(keys.verificationKey(kid)).resolves.toBeUndefined();
    }
    for (const kid of [undefined, null, 1, {}, []]) {
      await expect(keys.verificationKey(kid as unknown as string)).resolves.toBeUndefined();
    }
    const ring = await keys.storageKeys();
    for (const id of hostile) expect(ring.get(id)).toBeUndefined();
  });

  it('SEC-17 any string other than a configured kid returns undefined (property)', async () => {
    const kid = (await keys.signingKey()).kid;
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (s) => {
        fc.pre(s !== kid);
        expect(await keys.verificationKey(s)).toBeUndefined();
      }),
    );
  });
});

describe('staticKeys: JWKS', () => {
  it('publishes public members only, with kid, alg and use (every asymmetric algorithm)', async () => {
    const rsaPss = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keys = staticKeys(
      base({
        signing: [
          { alg: 'EdDSA', privateKey: ed.privateKey },
          { alg: 'ES256', privateKey: ec.privateKey },
          { alg: 'RS256', privateKey: rsa.privateKey },
          { alg: 'PS256', privateKey: rsaPss.privateKey },
        ],
      }),
    );
    const { keys: jwks } = await keys.jwks();
    expect(jwks.map((k) => [k.kty, k.alg, k.use])).toEqual([
      ['OKP', 'EdDSA', 'sig'],
      ['EC', 'ES256', 'sig'],
      ['RSA', 'RS256', 'sig'],
      ['RSA', 'PS256', 'sig'],
    ]);
    for (const jwk of jwks) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
        expect(jwk).not.toHaveProperty(member);
      }
      expect(jwk.kid).toBe(await calculateJwkThumbprint(jwk as never));
    }
    const text = JSON.stringify(jwks);
    expect(text).not.toContain(String(ecJwk.d));
    expect(text).not.toContain(String(rsa.privateKey.export({ format: 'jwk' }).d));
    // A caller editing the result cannot change what later callers get.
    jwks.pop();
    expect((await keys.jwks()).keys).toHaveLength(4);
  });
});

describe('staticKeys: configuration errors (SEC-12, SEC-20)', () => {
  const storage = key32();
  const pemBody = edPem.split('\n')[1]!;

  it('SEC-12 needs at least one signing key and one storage key', () => {
    expectConfigInvalid(base({ signing: [] }), /at least one signing key/);
    expectConfigInvalid(base({ storage: [] }), /at least one storage key/);
    expectConfigInvalid(undefined, /options/);
  });

  it('SEC-20 key type must match the algorithm', () => {
    const cases: [SigningKeyInput, RegExp][] = [
      [{ alg: 'EdDSA', privateKey: ec.privateKey }, /EdDSA needs an Ed25519 key/],
      [{ alg: 'ES256', privateKey: ed.privateKey }, /ES256 needs a P-256 EC key/],
      [
        {
          alg: 'ES256',
          privateKey: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey,
        },
        /ES256 needs a P-256/,
      ],
      [{ alg: 'RS256', privateKey: ed.privateKey }, /RS256 needs an RSA key/],
      [{ alg: 'PS256', privateKey: ec.privateKey }, /PS256 needs an RSA key/],
      [{ alg: 'EdDSA', privateKey: generateKeyPairSync('ed448').privateKey }, /Ed25519/],
      [{ alg: 'HS512', secret: key32() } as unknown as SigningKeyInput, /alg must be one of/],
    ];
    for (const [input, message] of cases) expectConfigInvalid(base({ signing: [input] }), message);
  });

  it('SEC-20 a public key where a private key is needed is rejected (KeyObject, PEM, JWK)', () => {
    const publicPem = ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const publicJwk = ec.publicKey.export({ format: 'jwk' });
    const inputs: SigningKeyInput[] = [
      { alg: 'EdDSA', privateKey: ed.publicKey },
      { alg: 'EdDSA', privateKey: publicPem },
      { alg: 'ES256', privateKey: publicJwk },
    ];
    for (const input of inputs) {
      expectConfigInvalid(
        base({ signing: [input] }),
        /a public (key|JWK) was given where a private key is needed/,
        [publicPem.split('\n')[1]!, String(publicJwk.x)],
      );
    }
  });

  it('SEC-12 unreadable or inconsistent private keys are rejected without echoing them', () => {
    const brokenPem = edPem.replace(pemBody, pemBody.slice(0, 10) + '!!' + pemBody.slice(12));
    expectConfigInvalid(base({ signing: [{ alg: 'EdDSA', privateKey: brokenPem }] }), /PEM/, [
      pemBody.slice(12, 30),
    ]);
    // A JWK whose public point belongs to another key fails the self-test.
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'jwk',
    });
    const mismatched = { ...ecJwk, x: other.x, y: other.y } as JsonWebKey;
    let caught: unknown;
    try {
      staticKeys(base({ signing: [{ alg: 'ES256', privateKey: mismatched }] }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigInvalid);
    expect((caught as Error).message).toMatch(/public part does not match its private part/);
    expect((caught as Error).message).not.toContain(String(ecJwk.d));
    expectConfigInvalid(
      base({ signing: [{ alg: 'ES256', privateKey: { ...ecJwk, alg: 'ES384' } }] }),
      /alg does not match/,
    );
    expectConfigInvalid(
      base({ signing: [{ alg: 'ES256', privateKey: { ...ecJwk, use: 'enc' } }] }),
      /use must be "sig"/,
    );
    expectConfigInvalid(
      base({ signing: [{ alg: 'EdDSA', privateKey: 42 as unknown as string }] }),
      /privateKey must be/,
    );
    expectConfigInvalid(
      base({ signing: [{ alg: 'RS256', privateKey: createPublicKey(rsa.privateKey) }] }),
      /public key/,
    );
  });

  it('SEC-16 HS256 is never mixed with asymmetric keys in one provider', () => {
    expectConfigInvalid(
      base({
        signing: [
          { alg: 'EdDSA', privateKey: ed.privateKey },
          { alg: 'HS256', secret: key32() },
        ],
      }),
      /cannot be mixed/,
    );
    expectConfigInvalid(
      base({
        signing: [
          { alg: 'HS256', secret: key32() },
          { alg: 'ES256', privateKey: ec.privateKey },
        ],
      }),
      /cannot be mixed/,
    );
  });

  it('SEC-12 the same signing key twice is rejected', () => {
    expectConfigInvalid(
      base({
        signing: [
          { alg: 'EdDSA', privateKey: ed.privateKey },
          { alg: 'EdDSA', privateKey: edPem },
        ],
      }),
      /signing keys #1 and #2 are the same key/,
    );
    const secret = key32();
    expectConfigInvalid(
      base({
        signing: [
          { alg: 'HS256', secret },
          { alg: 'HS256', secret: b64(secret) },
        ],
      }),
      /same key/,
      [b64(secret)],
    );
  });

  it('SEC-12 storage ids must be printable and short; bad base64url is rejected', () => {
    for (const id of ['', 'a'.repeat(65), 'a b', '../x', 'ключ', 'a.b']) {
      expectConfigInvalid(base({ storage: [{ id, key: storage }] }), /id must match/);
    }
    expectConfigInvalid(base({ storage: [{ key: 'not+base64/url=' }] }), /not valid base64url/, [
      'not+base64',
    ]);
    expectConfigInvalid(
      base({ storage: [{ key: 42 as unknown as string }] }),
      /must be a Uint8Array or a base64url/,
    );
    expectConfigInvalid(
      base({ storage: [null as unknown as { key: string }] }),
      /must be an object/,
    );
    expectConfigInvalid(base({ index: 'a'.repeat(42) + '*' }), /index key is not valid base64url/);
  });
});
