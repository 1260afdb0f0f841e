// One set of post-signature claim checks for our own tokens (verifyToken)
// and a provider's (trustedIssuer): each case is run through both real
// verifiers, so the two paths cannot drift apart again.
import { generateKeyPairSync } from 'node:crypto';
import {
  TokenRejected,
  generateSecret,
  signToken,
  staticKeys,
  trustedIssuer,
  verifyToken,
} from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClaimCheckRules, checkVerifiedClaims } from '../../src/jwt/claim-checks';
import { reasonOf } from '../support/jwt';
import {
  type JwksServer,
  providerKey,
  signExternal,
  startJwksServer,
} from '../support/jwks-server';

const NOW = 1_800_000_000; // seconds
const TOL = 5;
const ISS = 'https://issuer.test/';
const AUD = 'api';
const base = { iss: ISS, aud: AUD, sub: 'user-42', iat: NOW, exp: NOW + 300, jti: 'jti-1' };

const ours = staticKeys({
  signing: [{ alg: 'EdDSA', privateKey: generateKeyPairSync('ed25519').privateKey }],
  storage: [{ key: generateSecret() }],
  index: generateSecret(),
});
const theirs = providerKey('ES256', 'es-1');
let server: JwksServer;
beforeAll(async () => {
  server = await startJwksServer([theirs.jwk]);
});
afterAll(() => server.close());

async function viaVerifyToken(claims: Record<string, unknown>) {
  const token = await signToken(await ours.signingKey(), claims, { typ: 'at+jwt' });
  return verifyToken(token, {
    keys: ours,
    issuer: ISS,
    audience: AUD,
    typ: 'at+jwt',
    clockToleranceSec: TOL,
    now: () => NOW * 1000,
  });
}

async function viaTrustedIssuer(claims: Record<string, unknown>) {
  const issuer = trustedIssuer({
    issuer: ISS,
    jwksUri: server.url,
    audience: AUD,
    clockToleranceSec: TOL,
    allowInsecureLoopback: true,
    now: () => NOW * 1000,
  });
  return issuer.verify(await signExternal(theirs, claims));
}

describe('SEC-18 the same claim checks on both verification paths', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['an empty sub', { sub: '' }, 'claims'],
    ['a numeric sub', { sub: 42 }, 'claims'],
    ['a missing sub', { sub: undefined }, 'claims'],
    ['an iat beyond the tolerance in the future', { iat: NOW + TOL + 1 }, 'claims'],
    ['a string iat', { iat: String(NOW) }, 'claims'],
    ['an nbf beyond the tolerance in the future', { nbf: NOW + TOL + 1 }, 'claims'],
    ['an exp beyond the tolerance in the past', { exp: NOW - TOL - 1 }, 'expired'],
    ['a string exp', { exp: String(NOW + 300) }, 'claims'],
  ])('SEC-18 %s is rejected by verifyToken and by trustedIssuer alike', async (_, over, reason) => {
    const claims = { ...base, ...over };
    expect(await reasonOf(viaVerifyToken(claims))).toBe(reason);
    expect(await reasonOf(viaTrustedIssuer(claims))).toBe(reason);
  });

  it.each<[string, Record<string, unknown>]>([
    ['iat at the edge of the tolerance', { iat: NOW + TOL }],
    ['nbf at the edge of the tolerance', { nbf: NOW + TOL }],
    ['exp just inside the tolerance', { exp: NOW - TOL + 1 }],
  ])('SEC-18 %s is accepted by both, claims intact', async (_, over) => {
    const claims = { ...base, ...over };
    const a = await viaVerifyToken(claims);
    const b = await viaTrustedIssuer(claims);
    expect(a.payload).toStrictEqual(claims);
    expect(b.payload).toStrictEqual(claims);
  });

  it('SEC-18 iat and jti are required of our own tokens only; a provider may omit them', async () => {
    const { iat: _iat, jti: _jti, ...bare } = base;
    expect(await reasonOf(viaVerifyToken({ ...base, jti: '' }))).toBe('claims');
    expect(await reasonOf(viaVerifyToken({ ...bare, jti: 'j' }))).toBe('claims');
    expect(await reasonOf(viaVerifyToken({ ...bare, iat: NOW }))).toBe('claims');
    expect((await viaTrustedIssuer(bare)).payload).toStrictEqual(bare);
  });
});

describe('checkVerifiedClaims', () => {
  const rules = { nowMs: NOW * 1000 + 999, toleranceSec: 0 };
  const reason = (payload: Record<string, unknown>, more: Partial<ClaimCheckRules> = {}) => {
    try {
      checkVerifiedClaims(payload, { ...rules, ...more });
      return 'accepted';
    } catch (error) {
      expect(error).toBeInstanceOf(TokenRejected);
      return (error as { reason: string }).reason;
    }
  };

  it('SEC-18 compares exp and nbf with whole seconds of now, as jose does, and iat with the instant', () => {
    // now = NOW.999 s: exp NOW is past, exp NOW + 1 is not.
    expect(reason({ ...base, exp: NOW })).toBe('expired');
    expect(reason({ ...base, exp: NOW + 1 })).toBe('accepted');
    expect(reason({ ...base, nbf: NOW })).toBe('accepted');
    expect(reason({ ...base, nbf: NOW + 1 })).toBe('claims');
    expect(reason({ ...base, iat: NOW + 0.999 })).toBe('accepted');
    expect(reason({ ...base, iat: NOW + 1 })).toBe('claims');
  });

  it('SEC-18 an empty iss, a non-finite time or a missing required claim is rejected; the error carries no claim value', () => {
    expect(reason({ ...base, iss: '' })).toBe('claims');
    expect(reason({ ...base, exp: Number.POSITIVE_INFINITY })).toBe('claims');
    expect(reason({ ...base, nbf: Number.NaN })).toBe('claims');
    expect(reason({ ...base, iat: undefined }, { requireIat: true })).toBe('claims');
    expect(reason({ ...base, jti: undefined }, { requireJti: true })).toBe('claims');
    expect(reason({ ...base, iat: undefined, jti: undefined })).toBe('accepted');
    try {
      checkVerifiedClaims({ ...base, sub: '' }, rules);
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(ISS);
      expect((error as Error).cause).toBeUndefined();
    }
  });
});
