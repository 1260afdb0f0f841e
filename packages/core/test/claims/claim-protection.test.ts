// Claim protection (SEC-25, SEC-12): sensitive claims never appear in a
// signed token's payload; lookup claims appear only as keyed hashes.
import { createHash, createHmac } from 'node:crypto';
import {
  ConfigInvalid,
  InvalidArgument,
  type SigningKey,
  TokenRejected,
  generateSecret,
  signToken,
  staticKeys,
  verifyToken,
  generateSigningKey,
} from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// Not yet re-exported from the package entry; imported from source until it is.
import { openProtectedClaims } from '../../src/claims/claim-open';
import { claimProtection, claimProtectionKeys } from '../../src/claims/claim-protection';

const ISS = 'https://issuer.test';
const NOW = Math.floor(Date.now() / 1000);
const encryptionKey = generateSecret();
const hashKey = generateSecret();

const SENSITIVE = {
  email: 'alice.sensitive@example.com',
  address: { street: '12 Hidden Lane', city: 'Secretville' },
  ssn: '078-05-1120',
};
const LOOKUP = { customer_id: 'cust-98431-lookup', tenant: 'tenant-zeta-lookup' };

function protector(alg: 'dir' | 'A256KW' = 'dir') {
  return claimProtection({
    encrypt: ['email', 'address', 'ssn'],
    hash: ['customer_id', 'tenant'],
    encryptionKey,
    hashKey,
    alg,
  });
}

async function signingSetup() {
  const generated = await generateSigningKey('EdDSA');
  const keys = staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: generated.privateJwk }],
    storage: [{ key: generateSecret() }],
    index: generateSecret(),
  });
  const key: SigningKey = await keys.signingKey();
  return { keys, key };
}

const registered = (extra: Record<string, unknown>) => ({
  ...extra,
  iss: ISS,
  aud: 'api',
  sub: 'user-1',
  iat: NOW,
  exp: NOW + 300,
  jti: 'jti-1',
});

/** Every spelling of `text` a reader of a token or log could decode. */
function spellings(text: string): string[] {
  const bytes = Buffer.from(text);
  return [
    text,
    JSON.stringify(text),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    createHash('sha256').update(text).digest('base64url'),
    createHash('sha256').update(text).digest('hex'),
    createHash('sha256').update(JSON.stringify(text)).digest('base64url'),
    createHash('sha256').update(JSON.stringify(text)).digest('hex'),
  ];
}

function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leaves);
  return [];
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const noForbiddenNames = (v: unknown): boolean =>
  typeof v !== 'object' || v === null
    ? true
    : Array.isArray(v)
      ? v.every(noForbiddenNames)
      : Object.entries(v).every(([k, x]) => !FORBIDDEN.has(k) && noForbiddenNames(x));

describe('SEC-25 sensitive and lookup claims never appear in a plain JWS payload', () => {
  for (const alg of ['dir', 'A256KW'] as const) {
    it(`SEC-25 (${alg}) a signed token reveals no sensitive or hashed value, and the holder restores them`, async () => {
      const { keys, key } = await signingSetup();
      const p = protector(alg);
      const claims = { ...SENSITIVE, ...LOOKUP, plan: 'pro' };
      const token = await signToken(key, registered(await p.protect(claims)), { typ: 'at+jwt' });

      const payloadText = Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8');
      const secrets = [...leaves(SENSITIVE), ...leaves(LOOKUP), JSON.stringify(SENSITIVE.address)];
      for (const secret of secrets) {
        for (const form of spellings(secret)) {
          expect(payloadText).not.toContain(form);
          expect(token).not.toContain(form);
        }
      }
      const payload = JSON.parse(payloadText) as Record<string, unknown>;
      expect(Object.keys(payload).sort()).toEqual(
        ['aud', 'customer_id', 'enc', 'exp', 'iat', 'iss', 'jti', 'plan', 'sub', 'tenant'].sort(),
      );
      expect(payload.plan).toBe('pro');
      expect(payload.customer_id).toBe(p.hashValue(LOOKUP.customer_id, 'customer_id'));

      // The JWE header is the one documented: no zip, pinned algorithms.
      const enc = payload.enc as string;
      const header = JSON.parse(Buffer.from(enc.split('.')[0]!, 'base64url').toString());
      expect(header).toEqual({ alg, enc: 'A256GCM', cty: 'json' });

      const { payload: verified } = await verifyToken(token, {
        keys,
        issuer: ISS,
        audience: 'api',
        typ: 'at+jwt',
      });
      const opened = await openProtectedClaims(verified, { encryptionKey, alg });
      expect(opened).toEqual({
        ...registered({}),
        ...SENSITIVE,
        plan: 'pro',
        customer_id: p.hashValue(LOOKUP.customer_id, 'customer_id'),
        tenant: p.hashValue(LOOKUP.tenant, 'tenant'),
      });
      expect(opened).not.toHaveProperty('enc');
    });
  }

  it('SEC-25 all sensitive claims travel in one JWE; absent ones add nothing', async () => {
    const p = protector();
    const out = await p.protect({ email: 'x@example.com', plan: 'free' });
    expect(Object.keys(out).sort()).toEqual(['enc', 'plan']);
    const opened = await openProtectedClaims(out, { encryptionKey });
    expect(opened).toEqual({ email: 'x@example.com', plan: 'free' });

    const none = await p.protect({ plan: 'free' });
    expect(none).toEqual({ plan: 'free' });
  });

  it('SEC-25 encrypting the same claims twice gives different JWEs (no linkability)', async () => {
    const p = protector();
    const a = await p.protect({ email: 'same@example.com' });
    const b = await p.protect({ email: 'same@example.com' });
    expect(a.enc).not.toBe(b.enc);
  });

  it('SEC-25 protect does not change its input', async () => {
    const input = { ...SENSITIVE, ...LOOKUP };
    const copy = structuredClone(input);
    await protector().protect(input);
    expect(input).toEqual(copy);
  });

  it('SEC-25 hash values are HMAC-SHA-256 over canonical JSON: stable, order-free and key-dependent', () => {
    const p = protector();
    expect(p.hashValue('cust-1', 'customer_id')).toBe(
      createHmac('sha256', hashKey).update('["customer_id","cust-1"]').digest('base64url'),
    );
    expect(p.hashValue({ b: 1, a: [true, null, 'x'] }, 'x')).toBe(
      createHmac('sha256', hashKey).update('["x",{"a":[true,null,"x"],"b":1}]').digest('base64url'),
    );
    const other = claimProtection({ hash: ['customer_id'], hashKey: generateSecret() });
    expect(other.hashValue('cust-1', 'customer_id')).not.toBe(p.hashValue('cust-1', 'customer_id'));
    // A fresh protector with the same key agrees (downstream matching).
    const again = claimProtection({ hash: ['x'], hashKey });
    expect(again.hashValue('cust-1', 'customer_id')).toBe(p.hashValue('cust-1', 'customer_id'));
  });

  it('SEC-25 property: equal values hash equally whatever their member order; distinct values differ', () => {
    const p = protector();
    const reorder = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reorder);
      if (typeof v === 'object' && v !== null) {
        return Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, reorder(x)]),
        );
      }
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(p.hashValue(a, 'x')).toBe(p.hashValue(reorder(a), 'x'));
        expect(p.hashValue(a, 'x')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const sameValue = p.hashValue(a, 'x') === p.hashValue(b, 'x');
        const canon = (v: unknown) => JSON.stringify(sortDeep(v));
        expect(sameValue).toBe(canon(a) === canon(b));
      }),
    );
  });

  it('SEC-25 property: open(protect(claims)) restores every claim except hashed ones, which equal hashValue', async () => {
    const p = protector();
    const names = fc.constantFrom('email', 'address', 'ssn', 'customer_id', 'tenant', 'plan', 'x');
    await fc.assert(
      // Claims protect accepts: no __proto__/constructor/prototype member at any
      // depth (refused, tested below), which fc.jsonValue sometimes generates.
      fc.asyncProperty(
        fc.dictionary(names, fc.jsonValue().filter(noForbiddenNames)),
        async (raw) => {
          const claims = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
          const opened = await openProtectedClaims(await p.protect(claims), { encryptionKey });
          const expected = Object.fromEntries(
            Object.entries(claims).map(([k, v]) =>
              p.hashed.includes(k) ? [k, p.hashValue(v, k)] : [k, v],
            ),
          );
          expect(opened).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('SEC-25 a claim named enc is refused when encryption is configured', async () => {
    await expect(protector().protect({ enc: 'mine' })).rejects.toBeInstanceOf(InvalidArgument);
    const hashOnly = claimProtection({ hash: ['customer_id'], hashKey });
    await expect(hashOnly.protect({ enc: 'mine' })).resolves.toEqual({ enc: 'mine' });
  });

  it('SEC-25 values JSON cannot carry are refused, never silently dropped', async () => {
    const p = protector();
    await expect(p.protect({ customer_id: Number.NaN })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(p.protect({ customer_id: 10n })).rejects.toBeInstanceOf(InvalidArgument);
    expect(() => p.hashValue(new Date(0), 'x')).toThrow(InvalidArgument);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => p.hashValue(cyclic, 'x')).toThrow(InvalidArgument);
    await expect(p.protect({ email: 10n })).rejects.toBeInstanceOf(InvalidArgument);
    // Unprotected claims too (#14.6): the documented InvalidArgument, not a pass-through.
    await expect(p.protect({ plan: 10n })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(p.protect({ plan: () => 1 })).rejects.toBeInstanceOf(InvalidArgument);
  });

  it('SEC-25 one value in two hashed claims gives unrelated hashes, so tokens cannot be linked across claims (#14.6)', async () => {
    const p = claimProtection({ hash: ['email', 'login'], hashKey });
    const out = await p.protect({ email: 'a@example.com', login: 'a@example.com' });
    expect(out.email).not.toBe(out.login);
    expect(out.email).toBe(p.hashValue('a@example.com', 'email'));
    expect(out.login).toBe(p.hashValue('a@example.com', 'login'));
  });

  it('SEC-25 hashValue bounds its input and needs the claim name (#14.6)', () => {
    const p = protector();
    expect(() => p.hashValue('x'.repeat(16 * 1024), 'customer_id')).toThrow(InvalidArgument);
    expect(p.hashValue('x'.repeat(1000), 'customer_id')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(() => (p.hashValue as (v: unknown) => string)('cust-1')).toThrow(InvalidArgument);
  });

  it('SEC-25 protect refuses __proto__, constructor and prototype members at any depth (#14.6)', async () => {
    const p = protector();
    for (const claims of [
      JSON.parse('{"__proto__": {"role": "admin"}}'),
      { profile: JSON.parse('{"__proto__": {"email": "in-clear@example.com"}}') },
      { plan: { constructor: 1 } },
      { plan: [{ prototype: 1 }] },
    ]) {
      await expect(p.protect(claims)).rejects.toBeInstanceOf(InvalidArgument);
    }
  });

  it('SEC-25 the holder of the wrong key gets TokenRejected, never plaintext', async () => {
    const out = await protector().protect({ email: SENSITIVE.email });
    const err = await openProtectedClaims(out, { encryptionKey: generateSecret() }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TokenRejected);
    expect((err as { reason: string }).reason).toBe('decryption');
    expect(JSON.stringify(err)).not.toContain(SENSITIVE.email);
    expect(String(err)).not.toContain(SENSITIVE.email);
  });
});

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

describe('SEC-12 and SEC-25 configuration is checked up front', () => {
  const bad = (options: unknown) => () => claimProtection(options as never);

  it('SEC-25 a claim both hashed and encrypted is refused at configuration', () => {
    expect(bad({ encrypt: ['email'], hash: ['email'], encryptionKey, hashKey })).toThrow(
      ConfigInvalid,
    );
  });

  it('SEC-25 registered claims and enc cannot be protected', () => {
    for (const name of ['iss', 'aud', 'sub', 'exp', 'iat', 'nbf', 'jti', 'enc']) {
      expect(bad({ encrypt: [name], encryptionKey })).toThrow(ConfigInvalid);
      expect(bad({ hash: [name], hashKey })).toThrow(ConfigInvalid);
    }
  });

  it('SEC-25 nothing to protect, bad names and duplicate names are refused', () => {
    expect(bad({ encryptionKey, hashKey })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: [], hash: [], encryptionKey, hashKey })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: [''], encryptionKey })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: [42], encryptionKey })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: 'email', encryptionKey })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: ['a', 'a'], encryptionKey })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: ['__proto__'], encryptionKey })).toThrow(ConfigInvalid);
    expect(bad(undefined)).toThrow(ConfigInvalid);
  });

  it('SEC-12 keys are required, exactly 32 strong bytes, and different per purpose', () => {
    expect(bad({ encrypt: ['email'] })).toThrow(ConfigInvalid);
    expect(bad({ hash: ['id'] })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: ['email'], encryptionKey: generateSecret(64) })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: ['email'], encryptionKey: encryptionKey.subarray(0, 31) })).toThrow(
      ConfigInvalid,
    );
    expect(bad({ encrypt: ['email'], encryptionKey: new Uint8Array(32) })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: ['email'], encryptionKey: new Uint8Array(32).fill(7) })).toThrow(
      ConfigInvalid,
    );
    expect(bad({ encrypt: ['email'], encryptionKey: 'not base64url!' })).toThrow(ConfigInvalid);
    expect(bad({ hash: ['id'], hashKey: new Uint8Array(32).fill(0xff) })).toThrow(ConfigInvalid);
    expect(
      bad({
        encrypt: ['email'],
        hash: ['id'],
        encryptionKey,
        hashKey: new Uint8Array(encryptionKey),
      }),
    ).toThrow(ConfigInvalid);
    const text = Buffer.from(encryptionKey).toString('base64url');
    expect(
      bad({ encrypt: ['email'], hash: ['id'], encryptionKey: text, hashKey: encryptionKey }),
    ).toThrow(ConfigInvalid);
    // base64url text is accepted and means the same key.
    expect(() => claimProtection({ encrypt: ['email'], encryptionKey: text })).not.toThrow();
  });

  it('SEC-12 alg and keyId are validated; error messages carry no key material', () => {
    expect(bad({ encrypt: ['email'], encryptionKey, alg: 'A128KW' })).toThrow(ConfigInvalid);
    expect(bad({ encrypt: ['email'], encryptionKey, alg: 'PBES2-HS256+A128KW' })).toThrow(
      ConfigInvalid,
    );
    expect(bad({ encrypt: ['email'], encryptionKey, keyId: '' })).toThrow(ConfigInvalid);
    const text = Buffer.from(encryptionKey).toString('base64url');
    try {
      claimProtection({ encrypt: ['email'], hash: ['id'], encryptionKey: text, hashKey: text });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(text);
    }
  });

  it('SEC-25 keyId is written as the JWE kid', async () => {
    const p = claimProtection({ encrypt: ['email'], encryptionKey, keyId: 'claims-2026' });
    const { enc } = await p.protect({ email: 'k@example.com' });
    const header = JSON.parse(Buffer.from(String(enc).split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', cty: 'json', kid: 'claims-2026' });
    await expect(openProtectedClaims({ enc }, { encryptionKey })).resolves.toEqual({
      email: 'k@example.com',
    });
  });

  it('SEC-12 the protector exposes its keys only to the internal reuse check', () => {
    const p = protector();
    expect(JSON.stringify(p)).not.toContain(Buffer.from(encryptionKey).toString('base64url'));
    expect(Object.values(p).some((v) => v instanceof Uint8Array)).toBe(false);
    expect(claimProtectionKeys(p).map((k) => Buffer.from(k).toString('hex'))).toEqual([
      Buffer.from(encryptionKey).toString('hex'),
      Buffer.from(hashKey).toString('hex'),
    ]);
    expect(() => protector().hashValue('x', 'customer_id')).not.toThrow();
    const encryptOnly = claimProtection({ encrypt: ['email'], encryptionKey });
    expect(() => encryptOnly.hashValue('x', 'email')).toThrow(ConfigInvalid);
  });

  it('SEC-12 the caller cannot change a configured key by mutating its array', async () => {
    const mine = generateSecret();
    const p = claimProtection({ encrypt: ['email'], encryptionKey: mine });
    const copy = new Uint8Array(mine);
    mine.fill(1);
    const out = await p.protect({ email: 'm@example.com' });
    await expect(openProtectedClaims(out, { encryptionKey: copy })).resolves.toEqual({
      email: 'm@example.com',
    });
  });
});
