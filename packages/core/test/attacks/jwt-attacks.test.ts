// RFC 8725 attacks against verifyToken. Attack tokens are built by hand
// (base64url header.payload.signature with node:crypto) where jose refuses
// to produce them; each one is otherwise valid, so only the defence named in
// the title stops it.
import { type KeyObject, constants, generateKeyPairSync, sign } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigInvalid,
  type KeyProvider,
  type SigningKeyInput,
  TokenRejected,
  type VerifyTokenOptions,
  generateSecret,
  generateSigningKey,
  signToken,
  staticKeys,
  verifyToken,
} from '@cloakroom/core';
import fc from 'fast-check';
import { CompactEncrypt, calculateJwkThumbprint } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  JWT_ISSUER,
  JWT_NOW,
  b64,
  edSigner,
  esSigner,
  forge,
  hsSigner,
  jwtClaims,
  rejectionOf,
  rsSigner,
} from '../support/jwt';

const NOW = JWT_NOW;
const ISS = JWT_ISSUER;
const claims = jwtClaims;
const ed = generateKeyPairSync('ed25519');
const edOld = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pss = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attacker = generateKeyPairSync('ed25519');

const signing: SigningKeyInput[] = [
  { alg: 'EdDSA', privateKey: ed.privateKey },
  { alg: 'EdDSA', privateKey: edOld.privateKey },
  { alg: 'ES256', privateKey: ec.privateKey },
  { alg: 'RS256', privateKey: rsa.privateKey },
  { alg: 'PS256', privateKey: pss.privateKey },
];
const keys = staticKeys({ signing, storage: [{ key: generateSecret() }], index: generateSecret() });
const kidOf = (pub: KeyObject) => calculateJwkThumbprint(pub.export({ format: 'jwk' }) as never);
let KID: { ed: string; edOld: string; ec: string; rsa: string; pss: string; attacker: string };

beforeAll(async () => {
  KID = {
    ed: await kidOf(ed.publicKey),
    edOld: await kidOf(edOld.publicKey),
    ec: await kidOf(ec.publicKey),
    rsa: await kidOf(rsa.publicKey),
    pss: await kidOf(pss.publicKey),
    attacker: await kidOf(attacker.publicKey),
  };
});

/** The real provider, observed: counts lookups so tests can prove none happened. */
function observed(provider: Pick<KeyProvider, 'verificationKey'> = keys) {
  return { verificationKey: vi.fn((kid: string) => provider.verificationKey(kid)) };
}

function options(extra: Partial<VerifyTokenOptions> = {}): VerifyTokenOptions {
  return { keys, issuer: ISS, audience: 'api', typ: 'at+jwt', now: () => NOW * 1000, ...extra };
}

async function rejected(token: unknown, opts: VerifyTokenOptions = options()) {
  const err = await rejectionOf(verifyToken(token, opts));
  if (typeof token === 'string' && token.length > 0) {
    expect((err as Error).message).not.toContain(token);
  }
  return err.reason;
}

describe('SEC-16 algorithms are pinned to the key', () => {
  it('SEC-16 control: an honest EdDSA token verifies', async () => {
    const token = forge(
      { alg: 'EdDSA', kid: KID.ed, typ: 'at+jwt' },
      claims(),
      edSigner(ed.privateKey),
    );
    await expect(verifyToken(token, options())).resolves.toMatchObject({
      payload: { sub: 'user-42' },
    });
  });

  it('SEC-16 alg "none" in every case spelling, empty or garbage signature, is rejected', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      for (const kid of [KID.ed, KID.rsa]) {
        const input = `${b64({ alg, kid, typ: 'at+jwt' })}.${b64(claims())}`;
        expect(await rejected(`${input}.`)).toBe('malformed'); // no signature: fails the shape
        expect(await rejected(`${input}.AAAA`)).toBe('alg-not-allowed');
        const garbage = `${input}.${b64('garbage-signature')}`;
        expect(await rejected(garbage)).toBe('alg-not-allowed');
      }
    }
  });

  it('SEC-16 HS256 signed with the RSA public key (PEM, DER, JWK text) under the RSA kid is rejected', async () => {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const pkcs1 = rsa.publicKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    const der = new Uint8Array(rsa.publicKey.export({ format: 'der', type: 'spki' }));
    const jwkText = JSON.stringify(rsa.publicKey.export({ format: 'jwk' }));
    const jwks = JSON.stringify((await keys.jwks()).keys.find((k) => k.kid === KID.rsa));
    for (const secret of [pem, pem.trim(), pkcs1, der, jwkText, jwks]) {
      for (const kid of [KID.rsa, KID.pss]) {
        const token = forge({ alg: 'HS256', kid, typ: 'at+jwt' }, claims(), hsSigner(secret));
        expect(await rejected(token)).toBe('alg-not-allowed');
      }
    }
  });

  it('SEC-16 an algorithm outside the key’s own is rejected (ES256 on an EdDSA kid, RS256 on a PS256 kid)', async () => {
    const es = forge(
      { alg: 'ES256', kid: KID.ed, typ: 'at+jwt' },
      claims(),
      esSigner(ec.privateKey),
    );
    expect(await rejected(es)).toBe('alg-not-allowed');
    // Genuinely signed by the PS256 key's private half, but with RS256 padding:
    // verifies if RS256 were allowed for that key.
    const rs = forge(
      { alg: 'RS256', kid: KID.pss, typ: 'at+jwt' },
      claims(),
      rsSigner(pss.privateKey),
    );
    expect(await rejected(rs)).toBe('alg-not-allowed');
    const ps = forge({ alg: 'PS256', kid: KID.rsa, typ: 'at+jwt' }, claims(), (input) =>
      sign('sha256', input, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }),
    );
    expect(await rejected(ps)).toBe('alg-not-allowed');
    for (const alg of ['HS512', 'RS512', 'ES384', 'Ed25519', 'EDDSA', 'eddsa', '', 42, null]) {
      const token = forge({ alg, kid: KID.ed, typ: 'at+jwt' }, claims(), edSigner(ed.privateKey));
      expect(['alg-not-allowed', 'malformed']).toContain(await rejected(token));
    }
  });
});

describe('SEC-17 keys come only from the provider', () => {
  let server: Server;
  let url: string;
  let requests = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++;
      const jwk = {
        ...attacker.publicKey.export({ format: 'jwk' }),
        kid: KID.attacker,
        alg: 'EdDSA',
      };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    // The server does answer, so zero requests below means none were made.
    await (await fetch(url)).json();
    expect(requests).toBe(1);
    requests = 0;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('SEC-17 jku and x5u pointing at a loopback server are never fetched', async () => {
    for (const member of ['jku', 'x5u']) {
      for (const kid of [KID.attacker, KID.ed]) {
        const header = { alg: 'EdDSA', kid, typ: 'at+jwt', [member]: url };
        const token = forge(header, claims(), edSigner(attacker.privateKey));
        expect(await rejected(token)).toMatch(/^(unknown-kid|signature)$/);
      }
    }
    expect(requests).toBe(0);
  });

  it('SEC-17 an embedded jwk with the attacker key is ignored', async () => {
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    for (const kid of [KID.ed, KID.attacker]) {
      const token = forge(
        { alg: 'EdDSA', kid, typ: 'at+jwt', jwk },
        claims(),
        edSigner(attacker.privateKey),
      );
      expect(await rejected(token)).toMatch(/^(unknown-kid|signature)$/);
    }
    // Without a kid there is nothing to look up: the embedded key is not a fallback.
    const bare = forge(
      { alg: 'EdDSA', typ: 'at+jwt', jwk },
      claims(),
      edSigner(attacker.privateKey),
    );
    expect(await rejected(bare)).toBe('malformed');
  });

  it('SEC-17 an x5c chain carrying the attacker key is ignored', async () => {
    const der = attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const token = forge(
      { alg: 'EdDSA', kid: KID.ed, typ: 'at+jwt', x5c: [der] },
      claims(),
      edSigner(attacker.privateKey),
    );
    expect(await rejected(token)).toBe('signature');
  });

  it('SEC-17 hostile kid values are rejected cleanly', async () => {
    const watched = observed();
    const hostile = [
      '../../x',
      "' OR 1=1--",
      '__proto__',
      'constructor',
      'toString',
      'k'.repeat(256),
    ];
    for (const kid of hostile) {
      const token = forge({ alg: 'EdDSA', kid, typ: 'at+jwt' }, claims(), edSigner(ed.privateKey));
      expect(await rejected(token, options({ keys: watched }))).toBe('unknown-kid');
    }
    // These reached the provider, which answered "unknown" without throwing.
    expect(watched.verificationKey).toHaveBeenCalledTimes(hostile.length);
    watched.verificationKey.mockClear();
    // Over-long kids are refused by the bounds before any lookup, even with a generous token limit.
    const huge = forge(
      { alg: 'EdDSA', kid: 'x'.repeat(10_240), typ: 'at+jwt' },
      claims(),
      edSigner(ed.privateKey),
    );
    expect(await rejected(huge, options({ keys: watched }))).toBe('too-long');
    expect(await rejected(huge, options({ keys: watched, maxTokenLength: 65_536 }))).toBe(
      'malformed',
    );
    const long = forge(
      { alg: 'EdDSA', kid: 'k'.repeat(257), typ: 'at+jwt' },
      claims(),
      edSigner(ed.privateKey),
    );
    expect(await rejected(long, options({ keys: watched }))).toBe('unknown-kid');
    expect(watched.verificationKey).not.toHaveBeenCalled();
    for (const kid of [undefined, null, 42, {}, ['a'], '']) {
      const token = forge({ alg: 'EdDSA', kid, typ: 'at+jwt' }, claims(), edSigner(ed.privateKey));
      expect(await rejected(token)).toMatch(/^(unknown-kid|malformed)$/);
    }
  });
});

describe('SEC-18 required claims, iss, aud, typ and times', () => {
  const mint = async (payload: Record<string, unknown>, typ = 'at+jwt') =>
    signToken(await keys.signingKey(), payload, { typ });

  it.each(['iss', 'aud', 'sub', 'exp', 'iat', 'jti'])(
    'SEC-18 a token missing %s is rejected',
    async (claim) => {
      const payload = claims();
      delete payload[claim];
      expect(await rejected(await mint(payload))).toBe('claims');
    },
  );

  it('SEC-18 wrong aud, iss or typ is rejected', async () => {
    expect(await rejected(await mint(claims({ aud: 'other-api' })))).toBe('claims');
    expect(await rejected(await mint(claims({ aud: ['a', 'b'] })))).toBe('claims');
    expect(await rejected(await mint(claims({ iss: 'https://evil.test' })))).toBe('claims');
    expect(await rejected(await mint(claims(), 'JWT'))).toBe('claims');
    expect(await rejected(await mint(claims(), 'id_token+jwt'))).toBe('claims');
    const noTyp = forge({ alg: 'EdDSA', kid: KID.ed }, claims(), edSigner(ed.privateKey));
    expect(await rejected(noTyp)).toBe('claims');
  });

  it('SEC-18 nbf in the future is rejected; within the tolerance accepted', async () => {
    expect(await rejected(await mint(claims({ nbf: NOW + 60 })))).toBe('claims');
    expect(await rejected(await mint(claims({ nbf: NOW + 6 })))).toBe('claims');
    await expect(
      verifyToken(await mint(claims({ nbf: NOW + 5 })), options()),
    ).resolves.toMatchObject({ payload: { sub: 'user-42' } });
  });

  it('SEC-18 expiry beyond the tolerance is rejected, within it accepted', async () => {
    const token = await mint(claims({ exp: NOW }));
    const at = (seconds: number) => options({ now: () => (NOW + seconds) * 1000 });
    await expect(verifyToken(token, at(-1))).resolves.toMatchObject({
      payload: { sub: 'user-42' },
    });
    await expect(verifyToken(token, at(4))).resolves.toMatchObject({ payload: { sub: 'user-42' } });
    expect(await rejected(token, at(5))).toBe('expired');
    expect(await rejected(token, at(3600))).toBe('expired');
    expect(await rejected(token, { ...at(1), clockToleranceSec: 0 })).toBe('expired');
  });
});

describe('SEC-19 key lifecycle (static provider)', () => {
  it('SEC-19 a token signed by a retired (second) key still verifies', async () => {
    const token = forge(
      { alg: 'EdDSA', kid: KID.edOld, typ: 'at+jwt' },
      claims(),
      edSigner(edOld.privateKey),
    );
    const verified = await verifyToken(token, options());
    expect(verified.header.kid).toBe(KID.edOld);
    expect((await keys.verificationKey(KID.edOld))?.state).toBe('retired');
  });

  it('SEC-19 a kid not in the provider fails (the retired key removed from config)', async () => {
    const token = forge(
      { alg: 'EdDSA', kid: KID.edOld, typ: 'at+jwt' },
      claims(),
      edSigner(edOld.privateKey),
    );
    const withoutOld = staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: ed.privateKey }],
      storage: [{ key: generateSecret() }],
      index: generateSecret(),
    });
    expect(await rejected(token, options({ keys: withoutOld }))).toBe('unknown-kid');
  });
});

describe('SEC-20 key strength', () => {
  const base = { storage: [{ key: generateSecret() }], index: generateSecret() };

  it('SEC-20 RSA 1024 is rejected at configuration; 2048 accepted', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    for (const alg of ['RS256', 'PS256'] as const) {
      expect(() => staticKeys({ ...base, signing: [{ alg, privateKey: weak }] })).toThrow(
        /RSA modulus is 1024 bits; at least 2048/,
      );
      expect(() =>
        staticKeys({ ...base, signing: [{ alg, privateKey: rsa.privateKey }] }),
      ).not.toThrow();
    }
  });

  it('SEC-20 an HS256 secret of 31 bytes is rejected; 32 accepted', () => {
    const secret = generateSecret(32);
    expect(() =>
      staticKeys({ ...base, signing: [{ alg: 'HS256', secret: secret.subarray(0, 31) }] }),
    ).toThrow(ConfigInvalid);
    expect(() => staticKeys({ ...base, signing: [{ alg: 'HS256', secret }] })).not.toThrow();
  });

  it('SEC-20 generateSigningKey defaults to EdDSA', async () => {
    const generated = await generateSigningKey();
    expect(generated.alg).toBe('EdDSA');
    expect(generated.publicJwk.crv).toBe('Ed25519');
  });
});

describe('SEC-21 psychic signatures', () => {
  it('SEC-21 an ES256 signature with r = s = 0 is rejected (raw and DER-shaped)', async () => {
    const header = { alg: 'ES256', kid: KID.ec, typ: 'at+jwt' };
    const honest = forge(header, claims(), esSigner(ec.privateKey));
    await expect(verifyToken(honest, options())).resolves.toMatchObject({
      payload: { sub: 'user-42' },
    });
    const zero64 = Buffer.alloc(64).toString('base64url');
    expect(await rejected(forge(header, claims(), zero64))).toBe('signature');
    const derZero = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]).toString(
      'base64url',
    );
    expect(await rejected(forge(header, claims(), derZero))).toBe('signature');
    // r = s = n (the group order) is the other classic zero-equivalent.
    const n = Buffer.from(
      'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
      'hex',
    );
    expect(
      await rejected(forge(header, claims(), Buffer.concat([n, n]).toString('base64url'))),
    ).toBe('signature');
  });
});

describe('SEC-22 crit and b64', () => {
  it('SEC-22 b64: false with crit ["b64"] is rejected even when correctly signed', async () => {
    const header = { alg: 'EdDSA', kid: KID.ed, typ: 'at+jwt', b64: false, crit: ['b64'] };
    expect(await rejected(forge(header, claims(), edSigner(ed.privateKey)))).toBe(
      'unsupported-header',
    );
    const { crit: _, ...b64Only } = header;
    expect(await rejected(forge(b64Only, claims(), edSigner(ed.privateKey)))).toBe(
      'unsupported-header',
    );
  });

  it('SEC-22 an unknown crit entry is rejected even when correctly signed', async () => {
    for (const crit of [['exp'], ['urn:example:ext'], [], 'b64']) {
      const header = { alg: 'EdDSA', kid: KID.ed, typ: 'at+jwt', crit, exp: NOW };
      expect(await rejected(forge(header, claims(), edSigner(ed.privateKey)))).toBe(
        'unsupported-header',
      );
    }
  });

  it('SEC-22 a JSON-serialized JWS with crit in the unprotected header is rejected before parsing', async () => {
    const [protectedHeader, payload, signature] = forge(
      { alg: 'EdDSA', kid: KID.ed, typ: 'at+jwt' },
      claims(),
      edSigner(ed.privateKey),
    ).split('.');
    const watched = observed();
    for (const json of [
      { protected: protectedHeader, payload, signature, header: { crit: ['b64'], b64: false } },
      { payload, signatures: [{ protected: protectedHeader, signature, header: { crit: ['x'] } }] },
    ]) {
      expect(await rejected(JSON.stringify(json), options({ keys: watched }))).toBe('malformed');
    }
    expect(watched.verificationKey).not.toHaveBeenCalled();
  });
});

describe('SEC-23 and SEC-24: rejected before any parsing', () => {
  it('SEC-23 a compact JWE (5 parts) is rejected without a key lookup', async () => {
    const watched = observed();
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: KID.ed, typ: 'at+jwt' })
      .encrypt(generateSecret());
    expect(jwe.split('.')).toHaveLength(5);
    expect(await rejected(jwe, options({ keys: watched }))).toBe('malformed');
    expect(watched.verificationKey).not.toHaveBeenCalled();
  });

  it('SEC-24 a 1 MB token and non-base64url characters are rejected without a key lookup', async () => {
    const watched = observed();
    const honest = forge(
      { alg: 'EdDSA', kid: KID.ed, typ: 'at+jwt' },
      claims(),
      edSigner(ed.privateKey),
    );
    // Control: the observer does see lookups for a well-formed token.
    await verifyToken(honest, options({ keys: watched }));
    expect(watched.verificationKey).toHaveBeenCalledTimes(1);
    watched.verificationKey.mockClear();

    const [h, p, s] = honest.split('.') as [string, string, string];
    expect(await rejected(`${h}.${'A'.repeat(1024 * 1024)}.${s}`, options({ keys: watched }))).toBe(
      'too-long',
    );
    expect(
      await rejected(honest, options({ keys: watched, maxTokenLength: honest.length - 1 })),
    ).toBe('too-long');
    const bad = ['+', '/', '=', ' ', 'é', '\u202e', '\u0000', '\n', '%2F'];
    for (const ch of bad) {
      for (const token of [`${h}${ch}.${p}.${s}`, `${h}.${p}${ch}.${s}`, `${h}.${p}.${s}${ch}`]) {
        expect(await rejected(token, options({ keys: watched }))).toBe('malformed');
      }
    }
    for (const token of [`${h}.${p}`, `${h}.${p}.${s}.`, `.${p}.${s}`, `${h}..`, '', '..', 'eyJ']) {
      expect(await rejected(token, options({ keys: watched }))).toBe('malformed');
    }
    for (const notString of [undefined, null, 42, {}, [honest], Buffer.from(honest)]) {
      expect(await rejected(notString, options({ keys: watched }))).toBe('malformed');
    }
    expect(watched.verificationKey).not.toHaveBeenCalled();
  });
});

describe('SEC-12 configuration rejects short, reused, duplicated and weak keys', () => {
  const signingEd: SigningKeyInput[] = [{ alg: 'EdDSA', privateKey: ed.privateKey }];
  const storageKey = generateSecret();
  const index = generateSecret();
  const config = (o: Partial<Parameters<typeof staticKeys>[0]>) => () =>
    staticKeys({ signing: signingEd, storage: [{ key: storageKey }], index, ...o });
  const secretTexts = [storageKey, index].map((k) => Buffer.from(k).toString('base64url'));

  it.each([
    [
      'a 31-byte storage key',
      { storage: [{ key: generateSecret().subarray(0, 31) }] },
      /exactly 32 bytes/,
    ],
    ['a 33-byte storage key', { storage: [{ key: generateSecret(33) }] }, /exactly 32 bytes/],
    [
      'a 16-byte index key',
      { index: generateSecret().subarray(0, 16) },
      /index key must be exactly 32/,
    ],
    ['the index key reused as a storage key', { storage: [{ key: index }] }, /also the index key/],
    [
      'an HS256 secret reused as a storage key',
      { signing: [{ alg: 'HS256', secret: storageKey }] },
      /also storage key #1/,
    ],
    [
      'an HS256 secret reused as the index key',
      { signing: [{ alg: 'HS256', secret: index }] },
      /also the index key/,
    ],
    [
      'a duplicated storage id',
      {
        storage: [
          { id: 'k1', key: storageKey },
          { id: 'k1', key: generateSecret() },
        ],
      },
      /same id/,
    ],
    [
      'a duplicated storage key',
      {
        storage: [
          { id: 'k1', key: storageKey },
          { id: 'k2', key: storageKey.slice() },
        ],
      },
      /same key/,
    ],
    ['an all-zero storage key', { storage: [{ key: new Uint8Array(32) }] }, /too weak/],
    ['an all-same-byte index key', { index: new Uint8Array(32).fill(0x41) }, /too weak/],
    [
      'a two-byte-pattern storage key',
      { storage: [{ key: Buffer.from('ab'.repeat(16)) }] },
      /too weak/,
    ],
    [
      'an all-same-byte HS256 secret',
      { signing: [{ alg: 'HS256' as const, secret: new Uint8Array(64).fill(7) }] },
      /too weak/,
    ],
  ])('SEC-12 rejects %s, naming no key material', (_name, override, message) => {
    let caught: unknown;
    try {
      config(override as never)();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigInvalid);
    expect((caught as Error).message).toMatch(message);
    for (const text of secretTexts) expect((caught as Error).message).not.toContain(text);
  });

  it('SEC-12 generateSecret gives 32 distinct CSPRNG bytes per call', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a.byteLength).toBe(32);
    expect(Buffer.compare(a, b)).not.toBe(0);
    expect(() => config({ storage: [{ key: a }], index: b })()).not.toThrow();
  });
});

describe('fuzz: verifyToken only ever throws TokenRejected', () => {
  let honest: string;
  beforeAll(async () => {
    honest = await signToken(await keys.signingKey(), claims(), { typ: 'at+jwt' });
  });
  const expectRejectedOrHonest = async (token: string) => {
    try {
      await verifyToken(token, options());
      expect(token).toBe(honest);
    } catch (err) {
      expect(err).toBeInstanceOf(TokenRejected);
    }
  };
  const b64chars = fc.constantFrom(
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.',
  );

  it('arbitrary strings (any unicode, and base64url-shaped ones)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc.string({ unit: b64chars, maxLength: 400 }),
          fc
            .tuple(fc.jsonValue(), fc.jsonValue(), fc.string({ unit: b64chars }))
            .map(([h, p, s]) => `${b64(h ?? null)}.${b64(p ?? null)}.${s}`),
          fc
            .record({
              alg: fc.constantFrom('EdDSA', 'ES256', 'none'),
              kid: fc.string(),
              typ: fc.string(),
            })
            .map((h) => forge(h, claims(), edSigner(ed.privateKey))),
        ),
        expectRejectedOrHonest,
      ),
      { numRuns: 500 },
    );
  });

  it('mutations of a valid token (replace, insert, delete, truncate)', async () => {
    await expect(verifyToken(honest, options())).resolves.toMatchObject({
      payload: { sub: 'user-42' },
    });
    const position = fc.nat({ max: 10_000 });
    const char = fc.oneof(b64chars, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(position, char).map(([i, c]) => {
            const at = i % honest.length;
            return honest.slice(0, at) + c + honest.slice(at + 1);
          }),
          fc.tuple(position, char).map(([i, c]) => {
            const at = i % (honest.length + 1);
            return honest.slice(0, at) + c + honest.slice(at);
          }),
          position.map((i) => {
            const at = i % honest.length;
            return honest.slice(0, at) + honest.slice(at + 1);
          }),
          position.map((i) => honest.slice(0, i % honest.length)),
        ),
        expectRejectedOrHonest,
      ),
      { numRuns: 1000 },
    );
  });
});
