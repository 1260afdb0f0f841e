// A stand-in identity provider for deposit tests: its own ES256 key, tokens
// signed with core's signToken and checked by core's real verifyToken, so a
// test that deposits its tokens exercises the same path as production.
import { randomBytes } from 'node:crypto';
import {
  type GeneratedSigningKey,
  type KeyProvider,
  type TokenIssuer,
  generateSecret,
  generateSigningKey,
  signToken,
  staticKeys,
  verifyToken,
} from '@cloakroom/core';

/** Audience the provider's tokens are minted for (the backend-for-frontend). */
export const IDP_AUDIENCE = 'bff';

export interface IdentityProvider {
  /** The provider's private signing key, for tests that check it leaks nowhere. */
  readonly signing: GeneratedSigningKey;
  /** The provider's key ring (signing key and its verification key). */
  readonly keys: KeyProvider;
  /** What `createCloakroom({ trustedIssuers })` takes: verifies with `verifyToken`. */
  readonly issuer: TokenIssuer;
  /** A signed `at+jwt` from this provider; `iss`, `aud` and a random `jti` are set unless given. */
  issue(claims: {
    sub: string;
    iat: number;
    exp: number;
    [claim: string]: unknown;
  }): Promise<string>;
}

/**
 * A provider named `name` whose verifier reads the clock through `now`
 * (called on every verification, so a test may swap the clock it returns).
 */
export async function identityProvider(
  name: string,
  now: () => number = Date.now,
): Promise<IdentityProvider> {
  const signing = await generateSigningKey('ES256');
  const keys = staticKeys({
    signing: [{ alg: 'ES256', privateKey: signing.privateJwk }],
    storage: [{ key: generateSecret() }],
    index: generateSecret(),
  });
  const issuer: TokenIssuer = {
    issuer: name,
    verify: (token) =>
      verifyToken(token, {
        keys,
        issuer: name,
        audience: IDP_AUDIENCE,
        typ: 'at+jwt',
        now: () => now(),
      }),
  };
  const issue: IdentityProvider['issue'] = async (claims) =>
    signToken(
      await keys.signingKey(),
      { iss: name, aud: IDP_AUDIENCE, jti: randomBytes(8).toString('hex'), ...claims },
      { typ: 'at+jwt' },
    );
  return { signing, keys, issuer, issue };
}
